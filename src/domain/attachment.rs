//! Files on a ticket: the limits on what one report, reply, comment or email may carry,
//! and which stored content types a page may show inline.

/// How many and how large the files on one report, reply, comment or email may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
    pub max_files: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 10 * 1000 * 1000,
            max_total_bytes: 25 * 1000 * 1000,
            max_files: 10,
        }
    }
}

/// Image types the ticket and tracking pages show inline as thumbnails. Everything else
/// (SVG and HTML above all) is only ever downloaded.
pub fn shows_inline(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// A size as people read it, in the decimal units the limits are given in:
/// "512 bytes", "340 KB", "12.4 MB".
pub fn size_label(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{} KB", bytes / 1_000),
        _ => {
            let tenths = bytes / 100_000;
            if tenths.is_multiple_of(10) {
                format!("{} MB", tenths / 10)
            } else {
                format!("{}.{} MB", tenths / 10, tenths % 10)
            }
        }
    }
}

/// A file name as given by a browser, mail client or program, made safe to store and to
/// offer back: no folders, no control characters, at most 200 characters.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_string();
    if cleaned.is_empty() {
        "file".to_string()
    } else {
        cleaned
    }
}

/// What the bytes are, whatever the sender claimed: a known signature, else text when it
/// is UTF-8, else opaque bytes.
pub fn sniff(bytes: &[u8]) -> &'static str {
    match infer::get(bytes) {
        Some(kind) => kind.mime_type(),
        None if std::str::from_utf8(bytes).is_ok() => "text/plain",
        None => "application/octet-stream",
    }
}

/// A file on its way in.
#[derive(Debug, Clone)]
pub struct Upload {
    pub filename: String,
    pub bytes: Vec<u8>,
}

impl Limits {
    /// The limits as a form states them beside its file field: "Up to 10 files, 10 MB
    /// each, 25 MB together."
    pub fn in_words(&self) -> String {
        let files = if self.max_files == 1 {
            "1 file".to_string()
        } else {
            format!("{} files", self.max_files)
        };
        format!(
            "Up to {files}, {} each, {} together.",
            size_label(self.max_file_bytes),
            size_label(self.max_total_bytes)
        )
    }

    /// Why a body whose files outgrew the total limit was not read to its end.
    pub fn too_much(&self) -> String {
        format!(
            "The files come to more than {} together; at most {} can be attached at a time.",
            size_label(self.max_total_bytes),
            size_label(self.max_total_bytes)
        )
    }

    /// Whether `files` may be stored together; the message says what to change.
    pub fn check(&self, files: &[Upload]) -> Result<(), String> {
        if files.len() > self.max_files as usize {
            return Err(format!(
                "At most {} files at a time; {} were attached.",
                self.max_files,
                files.len()
            ));
        }
        for file in files {
            let size = file.bytes.len() as u64;
            if size == 0 {
                return Err(format!("“{}” is empty.", file.filename));
            }
            if size > self.max_file_bytes {
                return Err(format!(
                    "“{}” is {}; a file can be at most {}.",
                    file.filename,
                    size_label(size),
                    size_label(self.max_file_bytes)
                ));
            }
        }
        let total: u64 = files.iter().map(|f| f.bytes.len() as u64).sum();
        if total > self.max_total_bytes {
            return Err(format!(
                "The files come to {} together; at most {} can be attached at a time.",
                size_label(total),
                size_label(self.max_total_bytes)
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(name: &str, size: usize) -> Upload {
        Upload {
            filename: name.into(),
            bytes: vec![b'a'; size],
        }
    }

    #[test]
    fn limits_name_the_file_and_the_limit() {
        let limits = Limits {
            max_file_bytes: 1_000,
            max_total_bytes: 1_500,
            max_files: 2,
        };
        assert!(limits.check(&[upload("a.txt", 1_000)]).is_ok());
        assert_eq!(
            limits.check(&[upload("big.csv", 1_001)]).unwrap_err(),
            "“big.csv” is 1 KB; a file can be at most 1 KB."
        );
        assert!(
            limits
                .check(&[upload("a", 800), upload("b", 800)])
                .unwrap_err()
                .contains("at most 1 KB can be attached")
        );
        assert!(
            limits
                .check(&vec![upload("a", 1); 3])
                .unwrap_err()
                .starts_with("At most 2 files")
        );
        assert_eq!(
            limits.check(&[upload("e", 0)]).unwrap_err(),
            "“e” is empty."
        );
    }

    #[test]
    fn limits_read_as_words() {
        let limits = Limits::default();
        assert_eq!(
            limits.in_words(),
            "Up to 10 files, 10 MB each, 25 MB together."
        );
        assert!(limits.too_much().contains("more than 25 MB together"));
    }

    #[test]
    fn sizes_read_in_decimal_units() {
        assert_eq!(size_label(512), "512 bytes");
        assert_eq!(size_label(340_123), "340 KB");
        assert_eq!(size_label(12_400_000), "12.4 MB");
        assert_eq!(size_label(10_000_000), "10 MB");
    }

    #[test]
    fn filenames_lose_folders_and_control_characters() {
        assert_eq!(clean_filename("C:\\Users\\ana\\shot.png"), "shot.png");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("a\u{0}b\r\n.txt"), "ab.txt");
        assert_eq!(clean_filename(".htaccess"), "htaccess");
        assert_eq!(clean_filename("  "), "file");
    }

    #[test]
    fn content_type_comes_from_the_bytes() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff(png), "image/png");
        assert_eq!(sniff(b"select 1;\n"), "text/plain");
        assert_eq!(sniff(&[0xff, 0x00, 0xfe, 0x01]), "application/octet-stream");
        assert!(shows_inline("image/webp"));
        assert!(!shows_inline("image/svg+xml"));
        assert!(!shows_inline("text/html"));
    }
}
