//! Real mail software of the test's own: a Dovecot IMAP server and a Postfix MTA, each a
//! private instance (its own config, queue and mail folders in a temp dir, listening on a
//! free loopback port), started by the test and stopped when dropped, also when the test
//! fails. The machine's own Postfix and Dovecot (if any) are never touched.
//!
//! Without the software (Debian `dovecot-imapd`, `postfix`) a test says `SKIPPED` loudly;
//! with `CI` set it fails instead. Both need root to start (their master processes
//! switch users), as the tests do in CI.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;

use crate::smtp::free_port;

/// How long a server may take to start answering.
const START: Duration = Duration::from_secs(20);

/// `program` from PATH or the sbin folders (root's PATH has them; others' may not).
fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Why a server cannot run here, loudly; in CI a failure.
fn unavailable(what: &str, why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but {what} cannot run: {why}");
    }
    eprintln!("SKIPPED ({what}): {why}");
}

/// A temp dir every user may enter: the servers' unprivileged processes reach their
/// sockets and files through it.
fn open_dir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temp dir");
    chmod(dir.path(), "755");
    dir
}

fn chmod(path: &Path, mode: &str) {
    let status = Command::new("chmod").arg(mode).arg(path).status().unwrap();
    assert!(status.success(), "chmod {mode} {}", path.display());
}

/// `chown -R owner path`.
pub fn chown(path: &Path, owner: &str) {
    let status = Command::new("chown")
        .args(["-R", owner])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "chown {owner} {}", path.display());
}

/// Wait until `port` on loopback accepts a connection and sends a first line, or the
/// process has exited (then: what it logged).
fn await_greeting(child: &mut Child, port: u16, log: &Path) -> String {
    let until = Instant::now() + START;
    loop {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            stream.set_read_timeout(Some(START)).unwrap();
            let mut line = String::new();
            if BufReader::new(stream).read_line(&mut line).is_ok() && !line.is_empty() {
                return line;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the server exited ({status}) before answering on {port}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < until,
            "nothing answered on 127.0.0.1:{port} within {START:?}:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ask a process to stop (SIGTERM, so a master takes its children with it), then make
/// sure it has.
fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

// ---------------------------------------------------------------------------------------
// Dovecot

/// The mailbox account the desk reads.
pub const IMAP_USER: &str = "desk";
pub const IMAP_PASSWORD: &str = "imap-test-password";

/// Options for a Dovecot instance.
#[derive(Default)]
pub struct DovecotOptions {
    /// Replace the capabilities announced after sign-in (`imap_capability`): to hide
    /// MOVE or UIDPLUS from the client.
    pub capabilities: Option<&'static str>,
    /// Serve imaps only, with this certificate and key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// A Dovecot of the test's own: one user with a maildir, on a free loopback port.
pub struct PrivateDovecot {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Drop for PrivateDovecot {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

impl PrivateDovecot {
    pub fn start() -> Option<PrivateDovecot> {
        Self::start_with(DovecotOptions::default())
    }

    /// Start and wait for its greeting, or say loudly why not (CI must not skip).
    pub fn start_with(options: DovecotOptions) -> Option<PrivateDovecot> {
        let Some(dovecot) = find_program("dovecot") else {
            unavailable(
                "Dovecot",
                "no dovecot program (apt-get install dovecot-imapd; .ci/run does)",
            );
            return None;
        };
        if !is_root() {
            unavailable("Dovecot", "its master process needs root to switch users");
            return None;
        }
        let dir = open_dir("desk-dovecot-");
        let port = free_port();
        let root = dir.path();
        // Mail is read and written as `nobody`: Dovecot never does it as root.
        let (uid, gid) = (65534, 65534);
        std::fs::create_dir_all(root.join("mail")).unwrap();
        std::fs::create_dir_all(root.join("home")).unwrap();
        chown(&root.join("mail"), &format!("{uid}:{gid}"));
        chown(&root.join("home"), &format!("{uid}:{gid}"));
        std::fs::write(
            root.join("users"),
            format!(
                "{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}:{uid}:{gid}::{}\n",
                root.join("home").display()
            ),
        )
        .unwrap();
        let config = dovecot_config(root, port, &options);
        let conf = root.join("dovecot.conf");
        std::fs::write(&conf, config).unwrap();
        let log = root.join("dovecot.log");
        let out = std::fs::File::create(root.join("stderr.log")).unwrap();
        let mut child = Command::new(dovecot)
            .arg("-c")
            .arg(&conf)
            .arg("-F")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start dovecot");
        if options.tls.is_some() {
            // The greeting comes after the handshake: wait for the port only.
            wait_for_port(&mut child, port, &log);
        } else {
            let greeting = await_greeting(&mut child, port, &log);
            assert!(greeting.starts_with("* OK"), "Dovecot said {greeting}");
        }
        Some(PrivateDovecot { child, dir, port })
    }

    /// The desk's `DESK_IMAP_URL` for `folder`.
    pub fn url(&self, folder: &str) -> String {
        format!(
            "imap://{IMAP_USER}:{IMAP_PASSWORD}@127.0.0.1:{}/{folder}",
            self.port
        )
    }

    /// What Dovecot logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// A signed-in session of the test's own (plain IMAP on loopback).
    pub async fn session(&self) -> async_imap::Session<tokio::net::TcpStream> {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect to Dovecot");
        let mut client = async_imap::Client::new(stream);
        client.read_response().await.unwrap().expect("greeting");
        client
            .login(IMAP_USER, IMAP_PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .expect("sign in to Dovecot")
    }

    /// Put messages into `folder` (created when missing), as a mail server delivering
    /// them would.
    pub async fn append(&self, folder: &str, messages: &[Vec<u8>]) {
        let mut session = self.session().await;
        let _ = session.create(folder).await;
        for raw in messages {
            session
                .append(folder, None, None, raw)
                .await
                .expect("APPEND");
        }
        session.logout().await.unwrap();
    }

    /// The messages in `folder` (their raw bytes, in UID order); empty when the folder
    /// does not exist.
    pub async fn messages(&self, folder: &str) -> Vec<Vec<u8>> {
        let mut session = self.session().await;
        if session.examine(folder).await.is_err() {
            return Vec::new();
        }
        let fetched: Vec<_> = session
            .fetch("1:*", "BODY.PEEK[]")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap_or_default();
        let mut bodies: Vec<(u32, Vec<u8>)> = fetched
            .iter()
            .map(|f| (f.message, f.body().unwrap_or_default().to_vec()))
            .collect();
        bodies.sort_by_key(|(seq, _)| *seq);
        session.logout().await.unwrap();
        bodies.into_iter().map(|(_, body)| body).collect()
    }
}

fn dovecot_config(root: &Path, port: u16, options: &DovecotOptions) -> String {
    let root = root.display();
    let mut config = format!(
        "base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = desk-test-{port}
protocols = imap
listen = 127.0.0.1
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
mail_location = maildir:{root}/mail/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
"
    );
    if let Some(capabilities) = options.capabilities {
        config.push_str(&format!("imap_capability = {capabilities}\n"));
    }
    match &options.tls {
        None => config.push_str(&format!(
            "ssl = no
disable_plaintext_auth = no
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"
        )),
        Some((cert, key)) => config.push_str(&format!(
            "ssl = required
ssl_cert = <{}
ssl_key = <{}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
  }}
}}
",
            cert.display(),
            key.display()
        )),
    }
    config
}

/// Wait until `port` accepts connections (no greeting read: TLS comes first).
fn wait_for_port(child: &mut Child, port: u16, log: &Path) {
    let until = Instant::now() + START;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the server exited ({status}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < until, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A self-signed certificate and key for `localhost` (openssl), in `dir`.
pub fn self_signed_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

// ---------------------------------------------------------------------------------------
// Postfix

/// The domain the private Postfix takes mail for.
pub const MAIL_DOMAIN: &str = "desk.test";

/// A Postfix of the test's own: smtpd on a free loopback port taking mail for
/// `MAIL_DOMAIN`, whose aliases pipe it to commands. Nothing leaves the machine: every
/// transport but local delivery is `error`.
pub struct PrivatePostfix {
    master: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Drop for PrivatePostfix {
    fn drop(&mut self) {
        let _ = self.postfix(&["stop"]);
        terminate(&mut self.master);
    }
}

impl PrivatePostfix {
    /// Start with `aliases` (`name: "|command"` lines, as in /etc/aliases), or say loudly
    /// why not (CI must not skip). Commands run as `nobody`, the owner Postfix gives a
    /// root-owned alias file's commands.
    pub fn start(aliases: &str) -> Option<PrivatePostfix> {
        let Some(postfix) = find_program("postfix") else {
            unavailable(
                "Postfix",
                "no postfix program (apt-get install postfix; .ci/run does)",
            );
            return None;
        };
        if !is_root() {
            unavailable("Postfix", "its master process needs root");
            return None;
        }
        let dir = open_dir("desk-postfix-");
        let root = dir.path();
        let port = free_port();
        for sub in ["conf", "queue", "data"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        chown(&root.join("data"), "postfix");
        let conf = root.join("conf");
        std::fs::write(conf.join("main.cf"), postfix_main_cf(root)).unwrap();
        std::fs::write(conf.join("master.cf"), postfix_master_cf(port)).unwrap();
        std::fs::write(conf.join("aliases"), aliases).unwrap();
        let out = Command::new(find_program("postalias").expect("postalias"))
            .arg("-c")
            .arg(&conf)
            .arg(format!("hash:{}", conf.join("aliases").display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "postalias: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = root.join("maillog");
        // In the foreground: the master is this test's child, stopped with it.
        let mut master = Command::new(postfix)
            .arg("-c")
            .arg(&conf)
            .arg("start-fg")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postfix");
        let greeting = await_greeting(&mut master, port, &log);
        assert!(greeting.starts_with("220"), "Postfix said {greeting}");
        Some(PrivatePostfix { master, dir, port })
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("conf")
    }

    fn postfix(&self, args: &[&str]) -> std::io::Result<std::process::Output> {
        Command::new(find_program("postfix").unwrap_or_else(|| "postfix".into()))
            .arg("-c")
            .arg(self.conf())
            .args(args)
            .stdin(Stdio::null())
            .output()
    }

    /// Hand a message to Postfix over SMTP, as another mail server would.
    pub async fn send(&self, from: &str, to: &str, raw: &[u8]) {
        use lettre::AsyncTransport;
        let smtp =
            lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
                .port(self.port)
                .build();
        let envelope =
            lettre::address::Envelope::new(Some(from.parse().unwrap()), vec![to.parse().unwrap()])
                .unwrap();
        smtp.send_raw(&envelope, raw)
            .await
            .expect("Postfix accepted the message");
    }

    /// The queue (`postqueue -j`): one JSON object a message still queued.
    pub fn queue(&self) -> Vec<serde_json::Value> {
        let out = self.postqueue("-j");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("postqueue -j line"))
            .collect()
    }

    /// Try every queued message again now (`postqueue -f`).
    pub fn flush(&self) {
        let out = self.postqueue("-f");
        assert!(
            out.status.success(),
            "postqueue -f: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn postqueue(&self, flag: &str) -> std::process::Output {
        Command::new(find_program("postqueue").expect("postqueue"))
            .arg("-c")
            .arg(self.conf())
            .arg(flag)
            .stdin(Stdio::null())
            .output()
            .expect("run postqueue")
    }

    /// What Postfix logged (`maillog_file`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }
}

fn postfix_main_cf(root: &Path) -> String {
    let root = root.display();
    format!(
        "compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.{MAIL_DOMAIN}
mydomain = {MAIL_DOMAIN}
myorigin = {MAIL_DOMAIN}
mydestination = {MAIL_DOMAIN}
mynetworks = 127.0.0.0/8
alias_maps = hash:{root}/conf/aliases
alias_database = hash:{root}/conf/aliases
local_recipient_maps = $alias_maps
default_privs = nobody
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
smtpd_peername_lookup = no
biff = no
notify_classes =
# Nothing leaves this machine: no relaying, no bounces out, no local mailboxes.
relayhost =
default_transport = error:outbound mail is off in tests
relay_transport = error:outbound mail is off in tests
mailbox_transport = error:no mailboxes in tests
"
    )
}

fn postfix_master_cf(port: u16) -> String {
    format!(
        "127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
local     unix  - n n -    - local
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
"
    )
}

/// A new report as an analyst writes one: plain text, a unique Message-ID.
pub fn new_report_mail(from: &str, to: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {}\r\n\
         Message-ID: <{}@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Hello,\r\n\r\nThe profile of our orders table on Snowflake (ANALYTICS.SALES.ORDERS)\r\n\
         has not refreshed since yesterday morning; the dashboard shows old null rates.\r\n\r\n\
         Thanks,\r\n{from}\r\n",
        chrono::Utc::now().to_rfc2822(),
        uuid::Uuid::new_v4().simple()
    )
    .into_bytes()
}
