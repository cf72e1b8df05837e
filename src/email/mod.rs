//! Email rendering. Every message has a subject, a text and an HTML body from askama
//! templates; delivery from the outbox arrives with the SLA and escalation work.

pub mod imap;
pub mod transport;

use askama::Template;

use crate::db::models::attachment::Attachment;
use crate::db::models::ticket::Ticket;
use crate::domain::text::{cut, first_line};

/// What every email needs to know about the desk.
#[derive(Debug, Clone)]
pub struct MailContext {
    /// Public URL of the desk, no trailing slash.
    pub base_url: String,
    pub from: String,
    /// Right-hand side of Message-IDs.
    pub message_id_domain: String,
    /// The address analysts write to, bare (`desk@inspect.example`): its plus addresses
    /// are the tickets' reply addresses.
    pub support_address: String,
}

impl MailContext {
    /// `support`: the support address; `None` takes the address of `from`.
    pub fn new(base_url: &str, from: &str, support: Option<&str>) -> Self {
        let host = base_url
            .split("://")
            .nth(1)
            .unwrap_or(base_url)
            .split(['/', ':'])
            .next()
            .filter(|h| !h.is_empty())
            .unwrap_or("inspect-desk.local");
        MailContext {
            base_url: base_url.trim_end_matches('/').to_string(),
            from: from.to_string(),
            message_id_domain: host.to_string(),
            support_address: support
                .map(str::to_string)
                .unwrap_or_else(|| bare_address(from))
                .to_lowercase(),
        }
    }

    pub fn tracking_url(&self, token: &str) -> String {
        format!("{}/t/{token}", self.base_url)
    }
}

/// The address in `Name <address>` (or the text itself when it has no angle brackets).
pub fn bare_address(mailbox: &str) -> String {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(open), Some(close)) if open < close => mailbox[open + 1..close].trim().to_string(),
        _ => mailbox.trim().to_string(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The Message-ID every later email about a ticket replies to.
pub fn thread_root_id(mail: &MailContext, ticket: &Ticket) -> String {
    format!(
        "<{}.{}@{}>",
        ticket.number().to_string().to_lowercase(),
        ticket.tracking_token.get(..8).unwrap_or(""),
        mail.message_id_domain
    )
}

/// Fields of the confirmation email.
struct Confirmation {
    number: String,
    summary: String,
    category: String,
    table: Option<String>,
    team: String,
    received: String,
    tracking_url: String,
    description_excerpt: String,
}

#[derive(Template)]
#[template(path = "email/confirmation/subject.txt")]
struct ConfirmationSubject<'a> {
    e: &'a Confirmation,
}

#[derive(Template)]
#[template(path = "email/confirmation/body.txt")]
struct ConfirmationText<'a> {
    e: &'a Confirmation,
}

#[derive(Template)]
#[template(path = "email/confirmation/body.html")]
struct ConfirmationHtml<'a> {
    e: &'a Confirmation,
}

/// The reporter's confirmation: the report's number and first line, who owns it (the
/// team's display name), when it was received (read in `zone`), and the tracking link.
pub fn confirmation(
    mail: &MailContext,
    ticket: &Ticket,
    team_name: Option<&str>,
    zone: chrono_tz::Tz,
) -> Result<RenderedEmail, askama::Error> {
    let e = Confirmation {
        number: ticket.number().to_string(),
        summary: first_line(&ticket.description, 100),
        category: ticket.category.label().to_string(),
        table: ticket.table_name.clone(),
        team: team_name.unwrap_or("the support team").to_string(),
        received: readable_time(ticket.created_at, zone),
        tracking_url: mail.tracking_url(&ticket.tracking_token),
        description_excerpt: cut(&ticket.description, 400),
    };
    Ok(RenderedEmail {
        subject: one_line(&ConfirmationSubject { e: &e }.render()?),
        text: ConfirmationText { e: &e }.render()?,
        html: ConfirmationHtml { e: &e }.render()?,
    })
}

/// An instant as an email states it, in `zone`: "Tue 8 Dec 2026, 09:28 CET".
pub fn readable_time(at: chrono::NaiveDateTime, zone: chrono_tz::Tz) -> String {
    use chrono::TimeZone;
    zone.from_utc_datetime(&at)
        .format("%a %-d %b %Y, %H:%M %Z")
        .to_string()
}

/// A file an email links to rather than carries: its name, its size in words and the
/// address its reader opens it at (the tracking link's for a reporter, the ticket's for
/// agents).
#[derive(Debug, Clone, PartialEq)]
pub struct FileLink {
    pub name: String,
    pub size: String,
    pub url: String,
}

impl FileLink {
    /// `file` as the holder of tracking link `token` opens it.
    pub fn for_reporter(mail: &MailContext, token: &str, file: &Attachment) -> FileLink {
        FileLink::at(
            format!("{}/attachments/{}", mail.tracking_url(token), file.id),
            file,
        )
    }

    /// `file` as an agent opens it, signed in.
    pub fn for_agents(mail: &MailContext, ticket: &Ticket, file: &Attachment) -> FileLink {
        FileLink::at(
            format!(
                "{}/tickets/{}/attachments/{}",
                mail.base_url,
                ticket.number(),
                file.id
            ),
            file,
        )
    }

    fn at(url: String, file: &Attachment) -> FileLink {
        FileLink {
            name: file.filename.clone(),
            size: crate::domain::attachment::size_label(file.size.max(0) as u64),
            url,
        }
    }
}

/// Fields of a message about a ticket: a reply, a merge, an incident update, a resolution.
struct TicketMessage {
    number: String,
    summary: String,
    headline: String,
    body: String,
    tracking_url: String,
    /// The files that came with the message, as links.
    files: Vec<FileLink>,
}

#[derive(Template)]
#[template(path = "email/ticket_message/subject.txt")]
struct TicketMessageSubject<'a> {
    e: &'a TicketMessage,
}

#[derive(Template)]
#[template(path = "email/ticket_message/body.txt")]
struct TicketMessageText<'a> {
    e: &'a TicketMessage,
}

#[derive(Template)]
#[template(path = "email/ticket_message/body.html")]
struct TicketMessageHtml<'a> {
    e: &'a TicketMessage,
}

/// A message to a ticket's reporter.
pub fn ticket_message(
    mail: &MailContext,
    ticket: &Ticket,
    headline: &str,
    body: &str,
) -> Result<RenderedEmail, askama::Error> {
    ticket_message_with_files(mail, ticket, headline, body, Vec::new())
}

/// A message to a ticket's reporter with the files that came with it, as links.
pub fn ticket_message_with_files(
    mail: &MailContext,
    ticket: &Ticket,
    headline: &str,
    body: &str,
    files: Vec<FileLink>,
) -> Result<RenderedEmail, askama::Error> {
    let e = TicketMessage {
        number: ticket.number().to_string(),
        summary: first_line(&ticket.description, 100),
        headline: headline.to_string(),
        body: body.to_string(),
        tracking_url: mail.tracking_url(&ticket.tracking_token),
        files,
    };
    Ok(RenderedEmail {
        subject: one_line(&TicketMessageSubject { e: &e }.render()?),
        text: TicketMessageText { e: &e }.render()?,
        html: TicketMessageHtml { e: &e }.render()?,
    })
}

/// A subject is one line, whatever went into it.
fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_string()
}

/// A fresh Message-ID for a later message in a ticket's thread.
pub fn message_id(mail: &MailContext, ticket: &Ticket, kind: &str) -> String {
    format!(
        "<{}.{kind}.{}@{}>",
        ticket.number().to_string().to_lowercase(),
        crate::domain::secret::random_hex(8),
        mail.message_id_domain
    )
}

/// Fields of an escalation email: everything in words and in the recipient's zone.
pub struct Escalation {
    pub number: String,
    /// What the ticket is about: the first line of the report.
    pub summary: String,
    /// "first response is overdue by 3 h 18 min", as of sending.
    pub headline: String,
    /// Why this recipient gets it: "You lead Semantic Types; first response is …".
    pub why: String,
    /// The step that fired: "First response manager (2 of 3)".
    pub step: String,
    /// The rule behind the step: "1 h after first response is overdue, …".
    pub rule: String,
    pub severity: String,
    pub severity_meaning: String,
    pub category: String,
    pub team: String,
    pub status: String,
    pub assignee: String,
    pub first_response_due: String,
    pub resolution_due: String,
    pub table: String,
    pub excerpt: String,
    pub ticket_url: String,
    pub runbook_url: String,
    pub ack_url: String,
}

#[derive(Template)]
#[template(path = "email/escalation/subject.txt")]
struct EscalationSubject<'a> {
    e: &'a Escalation,
}

#[derive(Template)]
#[template(path = "email/escalation/body.txt")]
struct EscalationText<'a> {
    e: &'a Escalation,
}

#[derive(Template)]
#[template(path = "email/escalation/body.html")]
struct EscalationHtml<'a> {
    e: &'a Escalation,
}

pub fn escalation(e: &Escalation) -> Result<RenderedEmail, askama::Error> {
    Ok(RenderedEmail {
        subject: one_line(&EscalationSubject { e }.render()?),
        text: EscalationText { e }.render()?,
        html: EscalationHtml { e }.render()?,
    })
}

/// Fields of a notice to agents (new ticket for the team queue, an assignment).
struct AgentNotice {
    number: String,
    headline: String,
    severity: String,
    category: String,
    team: String,
    first_response_due: String,
    table: String,
    excerpt: String,
    ticket_url: String,
    /// The files that came with the report, as links.
    files: Vec<FileLink>,
}

#[derive(Template)]
#[template(path = "email/agent_notice/subject.txt")]
struct AgentNoticeSubject<'a> {
    e: &'a AgentNotice,
}

#[derive(Template)]
#[template(path = "email/agent_notice/body.txt")]
struct AgentNoticeText<'a> {
    e: &'a AgentNotice,
}

#[derive(Template)]
#[template(path = "email/agent_notice/body.html")]
struct AgentNoticeHtml<'a> {
    e: &'a AgentNotice,
}

/// A notice about a ticket for agents, in words: severity, category and team by their
/// labels, the first-response deadline in `zone` and how far off it is at `now`, and the
/// link to the agent's ticket page.
pub fn agent_notice(
    mail: &MailContext,
    ticket: &Ticket,
    team_name: &str,
    zone: chrono_tz::Tz,
    now: chrono::NaiveDateTime,
    headline: &str,
) -> Result<RenderedEmail, askama::Error> {
    agent_notice_with_files(mail, ticket, team_name, zone, now, headline, Vec::new())
}

/// `agent_notice` with the files that came with the report, as links to them.
pub fn agent_notice_with_files(
    mail: &MailContext,
    ticket: &Ticket,
    team_name: &str,
    zone: chrono_tz::Tz,
    now: chrono::NaiveDateTime,
    headline: &str,
    files: Vec<FileLink>,
) -> Result<RenderedEmail, askama::Error> {
    let e = AgentNotice {
        number: ticket.number().to_string(),
        headline: headline.to_string(),
        severity: ticket.severity.label().to_string(),
        category: ticket.category.label().to_string(),
        team: team_name.to_string(),
        first_response_due: format!(
            "{} ({})",
            readable_time(ticket.first_response_due, zone),
            crate::domain::humanize::due(ticket.first_response_due, now)
        ),
        table: ticket.table_name.clone().unwrap_or_else(|| "-".into()),
        excerpt: cut(&ticket.description, 300),
        ticket_url: format!("{}/tickets/{}", mail.base_url, ticket.number()),
        files,
    };
    Ok(RenderedEmail {
        subject: one_line(&AgentNoticeSubject { e: &e }.render()?),
        text: AgentNoticeText { e: &e }.render()?,
        html: AgentNoticeHtml { e: &e }.render()?,
    })
}
