//! A real SMTP server a test can read back: aiosmtpd (Debian python3-aiosmtpd) storing
//! every message in a maildir.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct SmtpSink {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One received message: raw headers and body.
#[derive(Debug, Clone)]
pub struct Received {
    pub raw: String,
}

impl Received {
    /// A header's value (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self
            .raw
            .split("\r\n\r\n")
            .next()
            .unwrap_or(&self.raw)
            .replace("\r\n ", " ")
            .replace("\r\n\t", " ");
        let head = head.replace("\n ", " ");
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    /// The message as text with quoted-printable soft breaks undone.
    pub fn text(&self) -> String {
        self.raw
            .replace("=\r\n", "")
            .replace("=\n", "")
            .replace("=3D", "=")
    }
}

/// A free port on loopback (nobody listening).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn aiosmtpd_available() -> bool {
    Command::new("/usr/bin/python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success())
}

/// The app mailing through a real SMTP server on a free port (`None`: no server here).
pub async fn app_with_smtp(
    backend: crate::helpers::Backend,
) -> Option<(crate::helpers::TestApp, SmtpSink)> {
    let port = free_port();
    let sink = SmtpSink::start(port)?;
    let app = crate::helpers::TestApp::spawn_with(backend, |s| {
        s.smtp_url = Some(inspect_desk::config::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )))
    })
    .await;
    Some((app, sink))
}

impl SmtpSink {
    /// Start on `port`, or say loudly why not (CI must not skip).
    pub fn start(port: u16) -> Option<SmtpSink> {
        Self::spawn(port, None)
    }

    /// Like `start`, but each message takes `delay` to be accepted (`slow_smtp.py`).
    pub fn start_slow(port: u16, delay: Duration) -> Option<SmtpSink> {
        Self::spawn(port, Some(delay))
    }

    fn spawn(port: u16, delay: Option<Duration>) -> Option<SmtpSink> {
        if !aiosmtpd_available() {
            if std::env::var_os("CI").is_some() {
                panic!("CI is set but aiosmtpd is missing: .ci/run installs python3-aiosmtpd");
            }
            eprintln!(
                "SKIPPED (smtp): /usr/bin/python3 cannot import aiosmtpd; apt-get install python3-aiosmtpd"
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let mut command = Command::new("/usr/bin/python3");
        command.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")]);
        match delay {
            None => command
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(&maildir),
            Some(delay) => command
                .env(
                    "PYTHONPATH",
                    crate::helpers::manifest_dir().join("tests/it"),
                )
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .args(["-c", "slow_smtp.SlowMailbox"])
                .arg(&maildir)
                .arg(delay.as_secs_f64().to_string()),
        };
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let sink = SmtpSink { child, port, dir };
        debug_assert_eq!(sink.port, port);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(sink);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not start on port {port}");
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    /// Every message received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = ["new", "cur"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(self.maildir().join(sub)).ok())
            .flatten()
            .filter_map(|e| e.ok())
            .map(|e| {
                (
                    e.metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH),
                    e.path(),
                )
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, p)| Received {
                raw: std::fs::read_to_string(p).unwrap_or_default(),
            })
            .collect()
    }

    /// Wait until at least `n` messages arrived.
    pub fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..100 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.received()
    }
}
