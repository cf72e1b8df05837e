//! From the bytes of a received message to what the desk acts on: who sent it, to whom,
//! which thread it answers, whether a machine sent it, its new text and its files.
//! MIME, charsets and transfer encodings are mail-parser's; HTML becomes text by html2text.

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use crate::domain::attachment::Upload;
use crate::domain::mail_text;

/// A received message, read.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The Message-ID (without angle brackets), or a digest of the whole message when it
    /// has none: the same message received twice has the same key.
    pub key: String,
    /// The From address, lower-case.
    pub sender: String,
    pub sender_name: Option<String>,
    pub subject: String,
    /// Every address it was sent to: To, Cc, and what the delivering MTA recorded
    /// (Delivered-To, X-Original-To, Envelope-To), lower-case.
    pub recipients: Vec<String>,
    /// Message-IDs it answers (In-Reply-To, then References), without angle brackets.
    pub answers: Vec<String>,
    /// Sent by a machine: an auto-reply, a vacation notice, list or bulk mail.
    pub automatic: bool,
    /// The receiving MTA found the sender's domain failed DMARC.
    pub dmarc_failed: bool,
    /// What the sender wrote, without quoted history or signature.
    pub text: String,
    pub files: Vec<Upload>,
    /// A delivery status notification (RFC 3464), when it is one.
    pub delivery: Option<DeliveryStatus>,
}

/// What a delivery report says about a message the desk sent.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryStatus {
    /// The address that could not be reached.
    pub recipient: Option<String>,
    /// "failed", "delayed", "delivered", …
    pub action: String,
    /// The enhanced status code, "5.1.1".
    pub status: String,
    /// The remote server's words: "550 5.1.1 <x@example.com>: Recipient address rejected".
    pub diagnostic: String,
    /// The Message-ID of the message it is about, from the returned headers.
    pub original_id: Option<String>,
}

impl DeliveryStatus {
    /// A permanent failure: the address should get no more mail.
    pub fn is_hard_bounce(&self) -> bool {
        self.action.eq_ignore_ascii_case("failed") && self.status.starts_with('5')
    }

    pub fn is_failure(&self) -> bool {
        self.action.eq_ignore_ascii_case("failed")
    }
}

/// Why bytes could not be read as a message.
#[derive(Debug, PartialEq)]
pub struct NotAMessage(pub &'static str);

/// Read `raw`. Only input that is not a message at all (no header, no sender) is refused.
pub fn read(raw: &[u8]) -> Result<Incoming, NotAMessage> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(NotAMessage("the input is empty"));
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(NotAMessage("the input has no message headers"))?;
    if message.headers().is_empty() {
        return Err(NotAMessage("the input has no message headers"));
    }
    let from = message
        .from()
        .and_then(|a| a.first())
        .ok_or(NotAMessage("the message has no From address"))?;
    let sender = from
        .address()
        .map(|a| a.trim().to_lowercase())
        .filter(|a| a.contains('@'))
        .ok_or(NotAMessage("the message's From has no address"))?;
    let key = match message.message_id() {
        Some(id) if !id.trim().is_empty() => strip_brackets(id).to_string(),
        _ => format!(
            "sha256:{}",
            Sha256::digest(raw)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
    };
    let delivery = delivery_status(&message);
    let text = if delivery.is_some() {
        String::new()
    } else {
        mail_text::new_text(&body_text(&message))
    };
    Ok(Incoming {
        key,
        sender,
        sender_name: from
            .name()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        subject: message.subject().unwrap_or("").trim().to_string(),
        recipients: recipients(&message),
        answers: answers(&message),
        automatic: is_automatic(&message),
        dmarc_failed: dmarc_failed(&message),
        text,
        files: if delivery.is_some() {
            Vec::new()
        } else {
            files(&message)
        },
        delivery,
    })
}

fn strip_brackets(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

/// A header's values, every occurrence, as raw text.
fn raw_headers<'a>(message: &'a Message<'_>, name: &'a str) -> impl Iterator<Item = &'a str> {
    message
        .headers_raw()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

fn recipients(message: &Message<'_>) -> Vec<String> {
    let mut all: Vec<String> = message
        .all_to()
        .chain(message.all_cc())
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address())
        .map(|a| a.trim().to_lowercase())
        .collect();
    for name in ["Delivered-To", "X-Original-To", "Envelope-To"] {
        all.extend(raw_headers(message, name).map(|v| strip_brackets(v).to_lowercase()));
    }
    all.dedup();
    all
}

fn answers(message: &Message<'_>) -> Vec<String> {
    let mut ids = Vec::new();
    for value in [message.in_reply_to(), message.references()] {
        if let Some(list) = value.as_text_list() {
            ids.extend(list.iter().map(|id| strip_brackets(id).to_string()));
        } else if let Some(id) = value.as_text() {
            ids.push(strip_brackets(id).to_string());
        }
    }
    ids.retain(|id| !id.is_empty());
    ids
}

/// RFC 3834's `Auto-Submitted` (anything but `no`), the older `X-Autoreply` and
/// `X-Autorespond`, and `Precedence: bulk | junk | list`.
fn is_automatic(message: &Message<'_>) -> bool {
    let auto_submitted =
        raw_headers(message, "Auto-Submitted").any(|v| !v.eq_ignore_ascii_case("no"));
    let marked = ["X-Autoreply", "X-Autorespond", "X-Autoresponse"]
        .iter()
        .any(|name| raw_headers(message, name).next().is_some());
    let bulk = raw_headers(message, "Precedence").any(|v| {
        ["bulk", "junk", "list"]
            .iter()
            .any(|p| v.eq_ignore_ascii_case(p))
    });
    auto_submitted || marked || bulk
}

/// `Authentication-Results` (RFC 8601, added by the receiving MTA) with `dmarc=fail`.
/// Any such header counts: a forged one can only make the sender less trusted.
fn dmarc_failed(message: &Message<'_>) -> bool {
    raw_headers(message, "Authentication-Results").any(|v| {
        v.to_ascii_lowercase()
            .split(';')
            .any(|clause| clause.trim().starts_with("dmarc=fail"))
    })
}

/// The message's body as text: its text parts, or its HTML turned into text.
fn body_text(message: &Message<'_>) -> String {
    let mut out: Vec<String> = Vec::new();
    for id in &message.text_body {
        let Some(part) = message.parts.get(*id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Text(text) if is_flowed(part) => out.push(unflow(text)),
            PartType::Text(text) => out.push(text.to_string()),
            PartType::Html(html) => out.push(html_to_text(html)),
            _ => {}
        }
    }
    out.join("\n")
}

fn html_to_text(html: &str) -> String {
    // A wide page: the text is stored as written, not wrapped to a terminal's width.
    html2text::config::plain_no_decorate()
        .string_from_read(html.as_bytes(), 1_000)
        .unwrap_or_default()
}

fn is_flowed(part: &MessagePart<'_>) -> bool {
    part.content_type()
        .and_then(|ct| ct.attribute("format"))
        .is_some_and(|f| f.eq_ignore_ascii_case("flowed"))
}

/// RFC 3676 `format=flowed` (Thunderbird and Apple Mail send it): a line ending in a space
/// continues on the next. mail-parser decodes the part but leaves the flowing to us; the
/// rule is three lines, so no crate is pulled in for it.
fn unflow(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.strip_prefix(' ').unwrap_or(line); // space-stuffing
        out.push_str(line);
        if !(line.ends_with(' ') && line != "-- ") {
            out.push('\n');
        }
    }
    out
}

/// Files: attachments, inline images, forwarded messages (kept as `.eml`).
fn files(message: &Message<'_>) -> Vec<Upload> {
    message
        .attachments()
        .filter(|part| !part.is_empty())
        .enumerate()
        .map(|(i, part)| {
            let filename = match (part.attachment_name(), part.message()) {
                (Some(name), _) => name.to_string(),
                (None, Some(nested)) => {
                    format!("{}.eml", nested.subject().unwrap_or("forwarded message"))
                }
                (None, None) => {
                    let ext = part
                        .content_type()
                        .and_then(|ct| ct.subtype())
                        .unwrap_or("bin");
                    format!("attachment-{}.{ext}", i + 1)
                }
            };
            Upload {
                filename,
                bytes: part.contents().to_vec(),
            }
        })
        .collect()
}

/// The delivery report in a `multipart/report; report-type=delivery-status` message.
fn delivery_status(message: &Message<'_>) -> Option<DeliveryStatus> {
    let status_part = message.parts.iter().find(|part| {
        part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("delivery-status"))
        })
    })?;
    let fields = String::from_utf8_lossy(status_part.contents()).to_string();
    // The per-recipient fields follow the per-message ones; both are header-shaped, so
    // mail-parser reads them (unfolding continuation lines) a block at a time.
    let mut recipient = None;
    let mut action = String::new();
    let mut status = String::new();
    let mut diagnostic = String::new();
    for block in fields.replace("\r\n", "\n").split("\n\n") {
        let Some(parsed) = MessageParser::default().parse_headers(block.as_bytes()) else {
            continue;
        };
        for (name, value) in parsed.headers_raw() {
            let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
            let typed = || {
                value
                    .split_once(';')
                    .map_or(value.as_str(), |(_, v)| v)
                    .trim()
                    .to_string()
            };
            match name.to_ascii_lowercase().as_str() {
                "final-recipient" => recipient = Some(typed().to_lowercase()),
                "original-recipient" if recipient.is_none() => {
                    recipient = Some(typed().to_lowercase())
                }
                "action" => action = value.trim().to_string(),
                "status" => status = value.trim().to_string(),
                "diagnostic-code" => diagnostic = typed(),
                _ => {}
            }
        }
    }
    let original_id = message.parts.iter().find_map(|part| {
        let ct = part.content_type()?;
        let subtype = ct.subtype()?.to_ascii_lowercase();
        if !ct.ctype().eq_ignore_ascii_case("message") && !ct.ctype().eq_ignore_ascii_case("text") {
            return None;
        }
        if subtype != "rfc822" && subtype != "rfc822-headers" {
            return None;
        }
        let headers = MessageParser::default().parse_headers(part.contents())?;
        headers
            .message_id()
            .map(|id| strip_brackets(id).to_string())
    });
    Some(DeliveryStatus {
        recipient,
        action,
        status,
        diagnostic,
        original_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            read(include_bytes!(concat!(
                "../../../tests/fixtures/mail/",
                $name
            )))
            .expect("a message")
        };
    }

    #[test]
    fn gmail_reply_keeps_the_new_text_of_its_plain_part() {
        let m = fixture!("gmail-reply.eml");
        assert_eq!(
            m.text,
            "The profile is still stale after the 09:00 run. The row count says 1\u{a0}204 but the warehouse has 1\u{a0}391 rows — see the query below.\n\nselect count(*) from sales.orders;"
        );
        assert_eq!(m.sender, "ana@example.com");
        assert_eq!(m.sender_name.as_deref(), Some("Ana Lima"));
        assert_eq!(m.key, "CAJx1n2gmail0001@mail.gmail.com");
        assert_eq!(m.answers[0], "ins-1.abcdef01@inspect.example");
        assert!(
            m.recipients
                .contains(&"desk+1.abcdef012345@inspect.example".to_string())
        );
        assert_eq!(
            m.subject,
            "Re: [INS-1] Report received — sales.orders is stale"
        );
        assert!(!m.automatic && !m.dmarc_failed && m.delivery.is_none());
        assert!(m.files.is_empty());
    }

    #[test]
    fn outlook_html_only_becomes_text_without_its_quoted_header() {
        let m = fixture!("outlook-html-only.eml");
        assert_eq!(
            m.text,
            "We re-ran the profile and the email column is still typed as free_text.\nCould you look at it today?"
        );
    }

    #[test]
    fn apple_mail_flowed_text_joins_and_keeps_the_inline_image() {
        let m = fixture!("apple-mail-flowed-inline-image.eml");
        assert_eq!(
            m.text,
            "Here is the inspector page showing the wrong type for the column  customer_email; it says free_text since the run on Friday.\n\nThanks,\nCleo"
        );
        assert_eq!(m.files.len(), 1);
        assert_eq!(m.files[0].filename, "inspector.png");
        assert_eq!(
            crate::domain::attachment::sniff(&m.files[0].bytes),
            "image/png"
        );
    }

    #[test]
    fn thunderbird_latin1_base64_decodes_and_loses_quote_and_signature() {
        let m = fixture!("thunderbird-latin1-base64.eml");
        assert_eq!(
            m.text,
            "Grüße aus Köln: the report for finance.ledger failed again at 10:05."
        );
        assert_eq!(m.sender_name.as_deref(), Some("Dörte Schmidt"));
    }

    #[test]
    fn a_forwarded_message_is_kept_as_a_file() {
        let m = fixture!("forwarded-as-attachment.eml");
        assert_eq!(
            m.text,
            "The scheduler sent this; the profile of warehouse.events has failed since Saturday."
        );
        assert_eq!(m.files.len(), 1);
        assert_eq!(
            m.files[0].filename,
            "nightly profile of warehouse.events failed.eml"
        );
        assert!(String::from_utf8_lossy(&m.files[0].bytes).contains("timeout after 3600 s"));
    }

    #[test]
    fn interleaved_answers_are_kept_and_the_thread_is_not() {
        let m = fixture!("interleaved-thread.eml");
        assert_eq!(
            m.text,
            "Snowflake, account EU-1.\n\nsales.orders (and sales.order_lines too).\n\nAfter Friday's migration."
        );
    }

    #[test]
    fn machines_and_failed_dmarc_are_recognised() {
        let auto = b"From: a@example.com\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nAway.\r\n";
        assert!(read(auto).unwrap().automatic);
        let no = b"From: a@example.com\r\nAuto-Submitted: no\r\nSubject: x\r\n\r\nHi.\r\n";
        assert!(!read(no).unwrap().automatic);
        let bulk = b"From: a@example.com\r\nPrecedence: bulk\r\n\r\nNews.\r\n";
        assert!(read(bulk).unwrap().automatic);
        let dmarc = b"Authentication-Results: mx.inspect.example; spf=pass smtp.mailfrom=example.com;\r\n dkim=none; dmarc=fail (p=none) header.from=example.com\r\nFrom: a@example.com\r\n\r\nHi.\r\n";
        assert!(read(dmarc).unwrap().dmarc_failed);
    }

    #[test]
    fn what_is_not_a_message_says_why() {
        assert_eq!(read(b"").unwrap_err(), NotAMessage("the input is empty"));
        assert!(read(b"just some words\nand more").is_err());
        assert!(read(b"Subject: no sender\r\n\r\nbody").is_err());
    }

    #[test]
    fn a_delivery_report_names_the_address_status_and_message() {
        let dsn = concat!(
            "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n",
            "To: desk+bounce.7.0123456789ab@inspect.example\r\n",
            "Subject: Undelivered Mail Returned to Sender\r\n",
            "Auto-Submitted: auto-replied\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n",
            "\r\n",
            "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n",
            "--B\r\nContent-Type: message/delivery-status\r\n\r\n",
            "Reporting-MTA: dns; mx.example.com\r\n\r\n",
            "Final-Recipient: rfc822; Ana@example.com\r\n",
            "Action: failed\r\n",
            "Status: 5.1.1\r\n",
            "Diagnostic-Code: smtp; 550 5.1.1 <ana@example.com>: Recipient address\r\n",
            "    rejected: User unknown\r\n\r\n",
            "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n",
            "From: desk@inspect.example\r\nMessage-ID: <ins-1.abcdef01@inspect.example>\r\n\r\n",
            "--B--\r\n"
        );
        let m = read(dsn.as_bytes()).unwrap();
        let status = m.delivery.expect("a delivery report");
        assert_eq!(status.recipient.as_deref(), Some("ana@example.com"));
        assert_eq!(status.status, "5.1.1");
        assert!(status.is_hard_bounce());
        assert_eq!(
            status.diagnostic,
            "550 5.1.1 <ana@example.com>: Recipient address rejected: User unknown"
        );
        assert_eq!(
            status.original_id.as_deref(),
            Some("ins-1.abcdef01@inspect.example")
        );
    }
}
