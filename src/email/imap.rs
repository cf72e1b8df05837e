//! Reading a mailbox over IMAP (`DESK_IMAP_URL`): connect (imaps with rustls and the
//! Mozilla roots, as outgoing SMTP does; or plain imap on a trusted network), sign in,
//! select the folder, list what is waiting, fetch a message, move it to the done folder.
//! The protocol is `async-imap`'s; this module only adds the URL, TLS, timeouts and
//! the MOVE fallback. The password is never shown: not in `Debug`, not in an error.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::Session;
use futures_util::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

use crate::config::{Secret, Settings};

/// Connecting, including the TLS handshake and the greeting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Any one command and its answer (a fetch of a large message included).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// A failure talking to the mailbox. Its text names the server and folder, never the
/// password.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct MailboxError {
    message: String,
    /// The connection is no longer usable (it closed, timed out or spoke nonsense), as
    /// opposed to the server refusing one command.
    pub broken: bool,
}

/// An error from below, and whether it leaves the connection unusable.
trait Failure: std::fmt::Display {
    fn breaks_connection(&self) -> bool;
}

impl Failure for async_imap::error::Error {
    fn breaks_connection(&self) -> bool {
        use async_imap::error::Error;
        !matches!(
            self,
            Error::No(_) | Error::Bad(_) | Error::Validate(_) | Error::Append
        )
    }
}

impl Failure for std::io::Error {
    fn breaks_connection(&self) -> bool {
        true
    }
}

/// Where the desk reads mail, parsed from `DESK_IMAP_URL`: `imaps://user:pass@host[:port]
/// [/folder]` (port 993) or `imap://…` (port 143, no TLS: a trusted network only). The
/// user and password are percent-decoded (`%40` for an `@` in a user name); the folder
/// defaults to `INBOX`.
#[derive(Clone)]
pub struct MailboxUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub user: String,
    password: Secret,
    pub folder: String,
}

impl std::fmt::Debug for MailboxUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl MailboxUrl {
    /// Parse the URL; the error names what is wrong without repeating the URL.
    pub fn parse(text: &str) -> Result<MailboxUrl, String> {
        const WHAT: &str = "DESK_IMAP_URL";
        let url = url::Url::parse(text.trim()).map_err(|e| {
            format!("{WHAT} is not a URL ({e}); expected imaps://user:pass@host/INBOX")
        })?;
        let tls = match url.scheme() {
            "imaps" => true,
            "imap" => false,
            other => {
                return Err(format!(
                    "{WHAT} must start with imaps:// (or imap:// on a trusted network), not {other}://"
                ));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("{WHAT} names no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let decode = |part: &str, name: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| format!("{WHAT}: the {name} is not UTF-8 once decoded"))
        };
        let user = decode(url.username(), "user name")?;
        if user.is_empty() {
            return Err(format!(
                "{WHAT} names no user (imaps://user:pass@host/INBOX)"
            ));
        }
        let password = decode(url.password().unwrap_or_default(), "password")?;
        if password.is_empty() {
            return Err(format!(
                "{WHAT} has no password (imaps://user:pass@host/INBOX)"
            ));
        }
        let folder = decode(url.path().trim_start_matches('/'), "folder")?;
        let folder = if folder.is_empty() {
            "INBOX".to_string()
        } else {
            folder
        };
        check_folder_name(&folder).map_err(|e| format!("{WHAT}: {e}"))?;
        Ok(MailboxUrl {
            tls,
            port: url.port().unwrap_or(if tls { 993 } else { 143 }),
            host,
            user,
            password: Secret::new(password),
            folder,
        })
    }

    /// The mailbox as logs and the command line show it: no user, no password.
    pub fn describe(&self) -> String {
        let scheme = if self.tls { "imaps" } else { "imap" };
        format!("{scheme}://{}:{}/{}", self.host, self.port, self.folder)
    }
}

/// The mailbox and where taken messages go, from the settings; `None` when
/// `DESK_IMAP_URL` is unset.
#[derive(Debug, Clone)]
pub struct Mailbox {
    pub url: MailboxUrl,
    pub done_folder: String,
}

impl Mailbox {
    pub fn from_settings(settings: &Settings) -> Result<Option<Mailbox>, String> {
        let Some(url) = &settings.imap_url else {
            return Ok(None);
        };
        let url = MailboxUrl::parse(url.expose())?;
        let done_folder = settings.imap_done_folder.trim().to_string();
        check_folder_name(&done_folder).map_err(|e| format!("DESK_IMAP_DONE_FOLDER: {e}"))?;
        if done_folder == url.folder {
            return Err(format!(
                "DESK_IMAP_DONE_FOLDER must differ from the folder read ({})",
                url.folder
            ));
        }
        Ok(Some(Mailbox { url, done_folder }))
    }
}

/// Folder names go into commands as quoted strings: no line breaks, and plain ASCII
/// (other names need IMAP's modified UTF-7, which the desk does not write).
fn check_folder_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the folder name is empty".into());
    }
    if !name.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        return Err(format!(
            "folder '{}' must be printable ASCII",
            name.escape_debug()
        ));
    }
    Ok(())
}

/// `name` as an IMAP quoted string.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The connection: plain TCP or TLS over it.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stream::Plain(_) => "Stream::Plain",
            Stream::Tls(_) => "Stream::Tls",
        })
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// `work` within `limit`, its error (or the timeout) as a `MailboxError` saying `what`.
async fn within<T, E: Failure>(
    limit: Duration,
    what: impl std::fmt::Display,
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, MailboxError> {
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(MailboxError {
            message: format!("{what}: {e}"),
            broken: e.breaks_connection(),
        }),
        Err(_) => Err(MailboxError {
            message: format!("{what}: no answer within {} s", limit.as_secs()),
            broken: true,
        }),
    }
}

fn tls_connector() -> TlsConnector {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// A signed-in session with the folder selected.
pub struct MailboxSession {
    session: Session<Stream>,
    /// RFC 6851 MOVE; without it, COPY + \Deleted + EXPUNGE.
    can_move: bool,
    /// RFC 4315 UID EXPUNGE: expunge only the message moved, not every deleted one.
    uid_expunge: bool,
    place: String,
}

impl MailboxSession {
    /// Connect, sign in and select the URL's folder.
    pub async fn open(url: &MailboxUrl) -> Result<MailboxSession, MailboxError> {
        let place = url.describe();
        let stream = within(
            CONNECT_TIMEOUT,
            format!("cannot connect to {place}"),
            connect(url),
        )
        .await?;
        let mut client = async_imap::Client::new(stream);
        within(
            CONNECT_TIMEOUT,
            format!("{place} sent no greeting"),
            async {
                client
                    .read_response()
                    .await?
                    .ok_or_else(|| std::io::Error::other("the connection closed"))
            },
        )
        .await?;
        let mut session = within(COMMAND_TIMEOUT, format!("signing in to {place}"), async {
            client
                .login(&url.user, url.password.expose())
                .await
                .map_err(|(e, _)| e)
        })
        .await?;
        let capabilities = within(
            COMMAND_TIMEOUT,
            format!("{place}: CAPABILITY"),
            session.capabilities(),
        )
        .await?;
        within(
            COMMAND_TIMEOUT,
            format!("selecting {place}"),
            session.select(&url.folder),
        )
        .await?;
        Ok(MailboxSession {
            can_move: capabilities.has_str("MOVE"),
            uid_expunge: capabilities.has_str("UIDPLUS"),
            session,
            place,
        })
    }

    /// Make sure `folder` exists: create it when a LIST does not show it. Another desk
    /// creating it at the same moment is no failure.
    pub async fn ensure_folder(&mut self, folder: &str) -> Result<(), MailboxError> {
        if self.folder_exists(folder).await? {
            return Ok(());
        }
        let created = within(
            COMMAND_TIMEOUT,
            format!("{}: CREATE {folder}", self.place),
            self.session.create(folder),
        )
        .await;
        if created.is_ok() || self.folder_exists(folder).await? {
            return Ok(());
        }
        created
    }

    async fn folder_exists(&mut self, folder: &str) -> Result<bool, MailboxError> {
        let pattern = quoted(folder);
        let place = &self.place;
        let session = &mut self.session;
        within(COMMAND_TIMEOUT, format!("{place}: LIST {folder}"), async {
            let names: Vec<_> = session
                .list(Some(""), Some(&pattern))
                .await?
                .try_collect()
                .await?;
            Ok::<_, async_imap::error::Error>(names.iter().any(|n| n.name() == folder))
        })
        .await
    }

    /// The UIDs of the messages in the folder not marked deleted, oldest first, at most
    /// `limit`; and how many there are in all.
    pub async fn waiting(&mut self, limit: usize) -> Result<(Vec<u32>, usize), MailboxError> {
        let found = within(
            COMMAND_TIMEOUT,
            format!("{}: UID SEARCH", self.place),
            self.session.uid_search("UNDELETED"),
        )
        .await?;
        let mut uids: Vec<u32> = found.into_iter().collect();
        uids.sort_unstable();
        let total = uids.len();
        uids.truncate(limit);
        Ok((uids, total))
    }

    /// The whole message `uid`, unread flag untouched; `None` when it is no longer there
    /// (another desk took it since the search).
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Vec<u8>>, MailboxError> {
        let place = &self.place;
        let session = &mut self.session;
        within(
            COMMAND_TIMEOUT,
            format!("{place}: fetching message UID {uid}"),
            async {
                let fetched: Vec<_> = session
                    .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
                    .await?
                    .try_collect()
                    .await?;
                Ok::<_, async_imap::error::Error>(
                    fetched
                        .iter()
                        .find(|f| f.uid == Some(uid))
                        .and_then(|f| f.body())
                        .map(<[u8]>::to_vec),
                )
            },
        )
        .await
    }

    /// Move `uid` to `folder`: MOVE where the server has it, else COPY, flag \Deleted and
    /// expunge (just that message where UID EXPUNGE is supported). A message already gone
    /// is no error: the server answers OK for a UID it no longer has.
    pub async fn move_to(&mut self, uid: u32, folder: &str) -> Result<(), MailboxError> {
        let uid_text = uid.to_string();
        let place = &self.place;
        let session = &mut self.session;
        if self.can_move {
            return within(
                COMMAND_TIMEOUT,
                format!("{place}: moving UID {uid} to {folder}"),
                session.uid_mv(&uid_text, folder),
            )
            .await;
        }
        within(
            COMMAND_TIMEOUT,
            format!("{place}: copying UID {uid} to {folder}"),
            session.uid_copy(&uid_text, folder),
        )
        .await?;
        within(
            COMMAND_TIMEOUT,
            format!("{place}: flagging UID {uid} deleted"),
            async {
                session
                    .uid_store(&uid_text, "+FLAGS.SILENT (\\Deleted)")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            },
        )
        .await?;
        let uid_expunge = self.uid_expunge;
        within(
            COMMAND_TIMEOUT,
            format!("{place}: expunging UID {uid}"),
            async {
                if uid_expunge {
                    session
                        .uid_expunge(&uid_text)
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                } else {
                    session.expunge().await?.try_collect::<Vec<_>>().await
                }
            },
        )
        .await?;
        Ok(())
    }

    /// Sign out; a failure here changes nothing the pass did.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(CONNECT_TIMEOUT, self.session.logout()).await;
    }
}

async fn connect(url: &MailboxUrl) -> std::io::Result<Stream> {
    let tcp = TcpStream::connect((url.host.as_str(), url.port)).await?;
    tcp.set_nodelay(true)?;
    if !url.tls {
        return Ok(Stream::Plain(tcp));
    }
    let name = rustls::pki_types::ServerName::try_from(url.host.clone())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let tls = tls_connector().connect(name, tcp).await?;
    Ok(Stream::Tls(Box::new(tls)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_defaults_and_decoded_parts() {
        let url =
            MailboxUrl::parse("imaps://desk%40inspect.example:p%2Fss@mail.example.com/").unwrap();
        assert!(url.tls);
        assert_eq!(url.port, 993);
        assert_eq!(url.host, "mail.example.com");
        assert_eq!(url.user, "desk@inspect.example");
        assert_eq!(url.password.expose(), "p/ss");
        assert_eq!(url.folder, "INBOX");
        let url = MailboxUrl::parse("imap://u:p@127.0.0.1:1143/Support/Inbound").unwrap();
        assert!(!url.tls);
        assert_eq!(url.port, 1143);
        assert_eq!(url.folder, "Support/Inbound");
        assert_eq!(url.describe(), "imap://127.0.0.1:1143/Support/Inbound");
    }

    #[test]
    fn bad_urls_are_named_without_the_password() {
        for (text, expected) in [
            ("pop3://u:hunter2@host/", "must start with imaps://"),
            ("imaps://host/INBOX", "names no user"),
            ("imaps://u@host/INBOX", "has no password"),
            ("imaps://u:hunter2@host/Caf%C3%A9", "printable ASCII"),
            ("not a url hunter2", "is not a URL"),
        ] {
            let err = MailboxUrl::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn debug_never_shows_the_password() {
        let url = MailboxUrl::parse("imaps://u:hunter2@host/INBOX").unwrap();
        let shown = format!("{url:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("u:"),
            "{shown}"
        );
    }

    #[test]
    fn the_done_folder_must_differ_from_the_one_read() {
        let settings = Settings {
            imap_url: Some(Secret::new("imaps://u:p@host/Processed".into())),
            ..Settings::default()
        };
        let err = Mailbox::from_settings(&settings).unwrap_err();
        assert!(err.contains("must differ"), "{err}");
        let settings = Settings {
            imap_url: Some(Secret::new("imaps://u:p@host".into())),
            ..Settings::default()
        };
        let mailbox = Mailbox::from_settings(&settings).unwrap().unwrap();
        assert_eq!(mailbox.done_folder, "Processed");
    }
}
