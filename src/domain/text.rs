//! The rules for text people and programs send, one set for every entry point: names,
//! single-line fields (reasons, column names, token names) and free text (descriptions,
//! comments, replies, run errors). A field refuses the same characters whether it came by
//! form, JSON, NDJSON, CSV or OpenLineage, and before either database sees it: PostgreSQL
//! cannot store NUL in text and SQLite can, so leaving it to the database answered
//! differently on each.

/// How many lines a field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line: line breaks, tabs and other control characters are refused.
    One,
    /// Free text: line breaks and tabs are kept; other control characters are refused.
    Many,
}

/// The longest name accepted (a reporter's, an account's).
pub const MAX_NAME_CHARS: usize = 200;

/// Refuse the characters a field of `lines` may not hold: NUL anywhere (PostgreSQL
/// cannot store it), line breaks in one-line fields (a name with a line break can forge a
/// header line in an email or a log), other control characters anywhere.
pub fn check_characters(value: &str, lines: Lines) -> Result<(), String> {
    if value.contains('\0') {
        return Err("Contains a NUL character (\\u0000); please remove it.".into());
    }
    if lines == Lines::One && value.contains(['\n', '\r']) {
        return Err("Must be a single line; please remove the line breaks.".into());
    }
    let allowed = |c: char| lines == Lines::Many && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err("Contains control characters; please remove them.".into());
    }
    Ok(())
}

/// The value trimmed, `None` when blank; refused when longer than `max_chars` or holding a
/// character `check_characters` refuses.
pub fn optional(value: &str, max_chars: usize, lines: Lines) -> Result<Option<String>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let count = value.chars().count();
    if count > max_chars {
        return Err(format!(
            "Too long: {count} characters; at most {max_chars} are accepted."
        ));
    }
    check_characters(value, lines)?;
    Ok(Some(value.to_string()))
}

/// A person's name: one line of at most `MAX_NAME_CHARS`, `None` when blank.
pub fn name(value: &str) -> Result<Option<String>, String> {
    optional(value, MAX_NAME_CHARS, Lines::One)
}

/// What a report is about in one line, wherever one is shown (queue rows, pickers, emails,
/// the tracking page's title): the first non-blank line of `text`, trimmed and cut by
/// [`cut`].
pub fn first_line(text: &str, max_chars: usize) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    cut(line, max_chars)
}

/// `text` with at most `max_chars` characters kept, an ellipsis marking a cut.
pub fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", text[..at].trim_end()),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_is_the_first_line_cut_with_an_ellipsis() {
        assert_eq!(
            first_line("\n  Stale since Monday\nmore", 80),
            "Stale since Monday"
        );
        assert_eq!(first_line("abcdefghij", 5), "abcde…");
        assert_eq!(first_line("abcd efgh", 5), "abcd…");
        assert_eq!(first_line("", 5), "");
        assert_eq!(first_line(&"é".repeat(150), 100).chars().count(), 101);
    }

    #[test]
    fn names_are_one_line_without_control_characters() {
        assert_eq!(name("  Ana Lyst ").unwrap().as_deref(), Some("Ana Lyst"));
        assert_eq!(name("   ").unwrap(), None);
        // Markup is text like any other; pages escape it.
        assert!(name("<b>Ana</b>").is_ok());
        for bad in [
            "Ana\r\nBcc: x@example.com",
            "Ana\nLyst",
            "Ana\u{0}",
            "Ana\tLyst",
            "A\u{7}",
        ] {
            assert!(name(bad).is_err(), "{bad:?}");
        }
        assert!(name(&"a".repeat(MAX_NAME_CHARS)).is_ok());
        let too_long = name(&"a".repeat(MAX_NAME_CHARS + 1)).unwrap_err();
        assert!(too_long.contains("at most 200"), "{too_long}");
    }

    #[test]
    fn free_text_keeps_lines_and_tabs_but_not_nul() {
        let text = "line one\r\nline two\n\tindented";
        assert_eq!(
            optional(text, 100, Lines::Many).unwrap().as_deref(),
            Some(text)
        );
        let nul = optional("a\u{0}b", 100, Lines::Many).unwrap_err();
        assert!(nul.contains("NUL"), "{nul}");
        assert!(optional("bell\u{7}", 100, Lines::Many).is_err());
        assert!(optional("escape\u{1b}[31m", 100, Lines::Many).is_err());
        assert!(optional("del\u{7f}", 100, Lines::Many).is_err());
    }

    #[test]
    fn each_refusal_says_what_to_fix() {
        let message = |v: &str, lines| check_characters(v, lines).unwrap_err();
        assert!(message("a\u{0}", Lines::One).contains("NUL"));
        assert!(message("a\nb", Lines::One).contains("single line"));
        assert!(message("a\u{1b}", Lines::Many).contains("control characters"));
        assert!(check_characters("café ✓ 日本", Lines::One).is_ok());
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert!(optional(&"é".repeat(10), 10, Lines::One).is_ok());
        assert!(optional(&"é".repeat(11), 10, Lines::One).is_err());
    }
}
