//! Sending: SMTP from `DESK_SMTP_URL`, or `.eml` files under the data folder.

use lettre::address::{Address, Envelope};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

use crate::db::models::outbox::OutboxMessage;
use crate::domain::reply_address::Tag;
use crate::email::MailContext;

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// The transport, and the URL it came from (for `rebuild`; may hold a password, so
    /// never shown).
    Smtp(AsyncSmtpTransport<Tokio1Executor>, std::sync::Arc<str>),
    /// One `.eml` file per message in this folder.
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// A failure, and whether trying again can help.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

impl Mailer {
    /// `smtp://user:pass@host:port` (add `?tls=required` for STARTTLS) or `smtps://…` for
    /// TLS; without a URL, files under `<data_dir>/mail`.
    pub fn new(smtp_url: Option<&str>, data_dir: &std::path::Path) -> Result<Mailer, String> {
        match smtp_url.filter(|u| !u.is_empty()) {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    // The URL may hold a password: never echo it.
                    .map_err(|e| {
                        format!(
                            "DESK_SMTP_URL is not a usable SMTP URL ({})",
                            e.to_string().replace(url, "<url>")
                        )
                    })?
                    .timeout(Some(Duration::from_secs(15)))
                    .build();
                Ok(Mailer::Smtp(transport, url.into()))
            }
            None => {
                let dir = data_dir.join("mail");
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot create mail folder {}: {e}", dir.display()))?;
                Ok(Mailer::Files(AsyncFileTransport::new(&dir), dir))
            }
        }
    }

    /// A transport to the same place with connections of its own. The SMTP pool lives
    /// on the tokio runtime it was built on (it must also be dropped there): a thread with
    /// a runtime of its own (a drill) rebuilds the mailer inside it.
    pub fn rebuild(&self) -> Result<Mailer, String> {
        match self {
            Mailer::Smtp(_, url) => Mailer::new(Some(url), std::path::Path::new(".")),
            Mailer::Files(..) => Ok(self.clone()),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp(..) => "SMTP (DESK_SMTP_URL)".into(),
            Mailer::Files(_, dir) => format!(".eml files in {}", dir.display()),
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self {
            Mailer::Smtp(smtp, _) => smtp.send(message).await.map(|_| ()).map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
            Mailer::Files(files, _) => {
                files
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| SendError {
                        permanent: false,
                        message: e.to_string(),
                    })
            }
        }
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): auto-responders must not answer.
#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".into())
    }
}

/// The message for an outbox row, with its stable Message-ID and thread headers. Mail
/// about a ticket carries the ticket's signed reply address in `Reply-To`, so answers
/// land on it; every message's return path names it, so a bounce finds it.
pub fn build(mail: &MailContext, key: &[u8], row: &OutboxMessage) -> Result<Message, SendError> {
    let permanent = |what: &str| SendError {
        message: what.to_string(),
        permanent: true,
    };
    let from: Mailbox = mail
        .from
        .parse()
        .map_err(|_| permanent("the sender address (DESK_MAIL_FROM) is not valid"))?;
    let to: Mailbox = row
        .recipient
        .parse()
        .map_err(|_| permanent("the recipient address is not valid"))?;
    let support = &mail.support_address;
    let return_path: Address = Tag::Bounce(row.id)
        .address(key, support)
        .parse()
        .map_err(|_| permanent("the support address (DESK_SUPPORT_ADDRESS) is not valid"))?;
    let envelope = Envelope::new(Some(return_path), vec![to.email.clone()])
        .map_err(|e| permanent(&format!("the envelope could not be built: {e}")))?;
    let mut builder = Message::builder()
        .envelope(envelope)
        .from(from.clone())
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(row.message_id.clone()))
        .header(AutoSubmitted);
    if let Some(ticket_id) = row.ticket_id {
        let address: Address = Tag::Ticket(ticket_id)
            .address(key, support)
            .parse()
            .map_err(|_| permanent("the support address (DESK_SUPPORT_ADDRESS) is not valid"))?;
        builder = builder.reply_to(Mailbox::new(from.name.clone(), address));
    }
    if let Some(parent) = &row.in_reply_to {
        builder = builder
            .in_reply_to(parent.clone())
            .references(parent.clone());
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            row.body_text.clone(),
            row.body_html.clone(),
        ))
        .map_err(|e| permanent(&format!("the message could not be built: {e}")))
}
