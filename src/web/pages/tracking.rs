//! The analyst's tracking page at `/t/{token}`: the conversation about their report. What
//! they reported, the messages between them and the desk in order (the newest word from
//! the team at the top), the status in their words, who owns it and what happens next.
//! Nothing of the desk's bookkeeping: no classifier scores or reasons, rule names, event
//! kinds or internal due dates.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;

use super::report::KnownIssueView;
use super::{Layout, PageContext, PageError, html};
use crate::db::DbConnection;
use crate::db::models::attachment::Attachment;
use crate::db::models::event::Event;
use crate::db::models::ticket::Ticket;
use crate::domain::event::EventKind;
use crate::domain::status::Status;
use crate::domain::text::first_line;
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::{incidents, ticket_actions};
use crate::state::Desk;
use crate::web::attachments::{FileView, FilesForm};
use crate::web::auth::client::client_ip;
use crate::web::auth::limits::Limits;

#[derive(Template)]
#[template(path = "tracking/show.html")]
struct TrackingPage {
    layout: Layout,
    ticket: Ticket,
    number: String,
    /// The report's first line, as its title.
    summary: String,
    /// The status the reporter follows (a merged report: the surviving ticket's).
    status: Status,
    status_label: &'static str,
    /// What happens next, in a sentence or two.
    next: String,
    team_name: String,
    category_label: &'static str,
    warehouse_label: Option<&'static str>,
    impact_label: Option<&'static str>,
    merged_into: Option<String>,
    /// The open known issue this report is part of.
    incident: Option<KnownIssueView>,
    /// The newest word from the team, highlighted at the top.
    latest: Option<Entry>,
    conversation: Vec<Entry>,
    reply: ReplyBox,
    /// The attachment limits in words, beside the file field.
    file_limits: String,
}

/// The reply box: what the reporter typed and, when it was not sent, why.
#[derive(Default)]
struct ReplyBox {
    body: String,
    error: Option<String>,
    /// Why the files were not taken.
    files_error: Option<String>,
    /// Files came with a reply shown again: a browser cannot keep them.
    files_dropped: bool,
}

/// One entry of the conversation.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// Who speaks: "You", "Support team", "Known issue update".
    author: String,
    /// `you`, `team`, `update` or `status`, for the page's styling.
    class: &'static str,
    text: String,
    at: NaiveDateTime,
    /// The files that came with it.
    files: Vec<FileView>,
}

impl Entry {
    fn is_from_desk(&self) -> bool {
        self.class != "you"
    }
}

impl TrackingPage {
    fn can_reply(&self) -> bool {
        self.ticket.status != Status::Closed
    }

    fn is_resolved(&self) -> bool {
        self.ticket.status == Status::Resolved
    }
}

pub async fn show(
    ctx: PageContext,
    desk: web::Data<Desk>,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    // Tokens are 40 hex characters; anything else cannot match, so skip the query.
    if !valid_token(&token) {
        return Err(AppError::NotFound.into());
    }
    render(&ctx, &desk, token, StatusCode::OK, ReplyBox::default()).await
}

/// What the page reads: the ticket, its conversation, its open known issue.
struct Found {
    ticket: Ticket,
    /// The status the reporter follows: their ticket's, or the one it was merged into.
    status: Status,
    /// The team that owns what the reporter follows (its key).
    team: String,
    conversation: Vec<Entry>,
    incident: Option<KnownIssueView>,
}

fn load(conn: &mut DbConnection, desk: &Desk, token: &str) -> Result<Found, AppError> {
    let ticket = Ticket::find_by_token(conn, token)?;
    let own = Event::for_ticket(conn, ticket.id, true)?;
    let mut files = Files::new(token);
    files.add(Attachment::for_ticket(conn, ticket.id, true)?);
    let report = own
        .iter()
        .find(|e| e.kind == EventKind::Created)
        .map(|e| e.id);
    let mut conversation = vec![Entry {
        author: "You".into(),
        class: "you",
        text: ticket.description.clone(),
        at: ticket.created_at,
        files: report.map(|id| files.of(id)).unwrap_or_default(),
    }];
    conversation.extend(own.iter().filter_map(|e| entry(e, None, &mut files)));
    let (mut status, mut team) = (ticket.status, ticket.team.clone());
    // A merged report follows the ticket it went to, from the merge on.
    if let Some(target) = ticket.merged_into {
        let followed = Ticket::find(conn, target)?;
        (status, team) = (followed.status, followed.team);
        let since = own
            .iter()
            .rev()
            .find(|e| e.kind == EventKind::Merged)
            .map_or(ticket.updated_at, |e| e.created_at);
        let on = TicketNumber::of(target).to_string();
        let theirs = Event::for_ticket(conn, target, true)?;
        let mut their_files = Files::new(token);
        their_files.add(
            Attachment::for_ticket(conn, target, true)?
                .into_iter()
                .filter(|f| f.created_at >= since)
                .collect(),
        );
        conversation.extend(
            theirs
                .iter()
                .filter(|e| e.created_at >= since)
                .filter_map(|e| entry(e, Some(&on), &mut their_files)),
        );
    }
    // A report that joined a known issue late sees the updates posted before it joined.
    let mut incident = None;
    if let Some(parent) = ticket.parent_id {
        let updates = Event::for_ticket(conn, parent, true)?;
        conversation.extend(
            updates
                .iter()
                .filter(|e| e.kind == EventKind::IncidentUpdate)
                .filter_map(|e| entry(e, None, &mut Files::new(token))),
        );
        let number = TicketNumber::of(parent);
        incident = incidents::known_issues(conn, desk)?
            .into_iter()
            .find(|k| k.number == number)
            .map(KnownIssueView::from);
    }
    // Files whose entry the page does not show (none should be) go with the report
    // rather than nowhere.
    conversation[0].files.extend(files.rest());
    conversation.sort_by_key(|e| e.at);
    // An incident's update is on the report's own timeline and on the incident's.
    let mut seen = std::collections::HashSet::new();
    conversation.retain(|e| seen.insert((e.class, e.text.clone(), e.at)));
    Ok(Found {
        ticket,
        status,
        team,
        conversation,
        incident,
    })
}

/// A ticket's public files by the timeline entry they came with, as the holder of a
/// tracking link opens them.
struct Files {
    prefix: String,
    by_event: Vec<(Option<i64>, FileView)>,
}

impl Files {
    fn new(token: &str) -> Files {
        Files {
            prefix: format!("/t/{token}"),
            by_event: Vec::new(),
        }
    }

    fn add(&mut self, files: Vec<Attachment>) {
        let prefix = &self.prefix;
        self.by_event
            .extend(files.iter().map(|f| (f.event_id, FileView::new(prefix, f))));
    }

    /// The files of entry `event`, taken out.
    fn of(&mut self, event: i64) -> Vec<FileView> {
        let (mine, rest) = std::mem::take(&mut self.by_event)
            .into_iter()
            .partition(|(id, _)| *id == Some(event));
        self.by_event = rest;
        mine.into_iter().map(|(_, view)| view).collect()
    }

    /// The files no entry took.
    fn rest(self) -> Vec<FileView> {
        self.by_event.into_iter().map(|(_, view)| view).collect()
    }
}

/// A timeline event as the reporter reads it, with its files; `None` for the desk's
/// bookkeeping. `on`: the ticket it happened on, when not the reporter's own.
fn entry(event: &Event, on: Option<&str>, files: &mut Files) -> Option<Entry> {
    let team = match on {
        Some(number) => format!("Support team, on {number}"),
        None => "Support team".into(),
    };
    let (author, class, text) = match event.kind {
        EventKind::ReporterReply if on.is_none() => ("You".into(), "you", event.detail.clone()),
        EventKind::Comment => (team, "team", event.detail.clone()),
        EventKind::IncidentUpdate => ("Known issue update".into(), "update", event.detail.clone()),
        EventKind::StatusChanged => (team, "status", status_news(&event.detail)?.into()),
        EventKind::FilesAttached => (team, "team", "Files from the team.".into()),
        _ => return None,
    };
    Some(Entry {
        author,
        class,
        text,
        at: event.created_at,
        files: files.of(event.id),
    })
}

/// A status change as news for the reporter, read from its timeline note ("status
/// triaged → resolved by dana", "reopened by …"); `None` for changes that are not news
/// (triage) or notes it cannot read.
fn status_news(detail: &str) -> Option<&'static str> {
    if detail.starts_with("reopened") {
        return Some("Reopened: the team will look at it again.");
    }
    let after = detail.rsplit_once('→')?.1.trim_start();
    let slug: String = after
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
        .collect();
    match Status::parse(&slug).ok()? {
        Status::InProgress => Some("Someone is working on it now."),
        Status::WaitingOnReporter => Some("The team needs more information from you."),
        Status::Resolved => Some("Marked resolved."),
        Status::Closed => Some("Closed."),
        Status::New | Status::Triaged => None,
    }
}

/// What happens next, for the reporter, as of the ticket's status (for a merged report,
/// the status of the ticket it follows).
fn next_step(ticket: &Ticket, status: Status, team: &str, in_incident: bool) -> String {
    if let Some(target) = ticket.merged_into {
        return format!(
            "Updates on {} appear here and reach you by email; you hear when it is fixed.",
            TicketNumber::of(target)
        );
    }
    if in_incident && Status::OPEN.contains(&status) {
        return "Updates on the known issue appear here and reach you by email; you hear when \
                it is fixed."
            .into();
    }
    match status {
        Status::New | Status::Triaged => format!(
            "{team} will look at your report and answer here. You get an email when they do, \
             and when it is fixed."
        ),
        Status::InProgress => format!(
            "{team} is working on it. You get an email when there is news, and when it is \
             fixed."
        ),
        Status::WaitingOnReporter => "The team needs something from you to go on: answer \
             below. Your report waits for you meanwhile."
            .into(),
        Status::Resolved => "The team has marked this resolved. If the problem is still \
             there, reply below and your report opens again."
            .into(),
        Status::Closed => "This report is closed. If you see the problem again, report it \
             again."
            .into(),
    }
}

/// The tracking page of the ticket with tracking link `token`.
async fn render(
    ctx: &PageContext,
    desk: &web::Data<Desk>,
    token: String,
    status: StatusCode,
    reply: ReplyBox,
) -> Result<HttpResponse, PageError> {
    let found = desk.db(move |conn, desk| load(conn, desk, &token)).await?;
    let ticket = found.ticket;
    let team_name = desk
        .model
        .team(&found.team)
        .map_or_else(|| "The support team".into(), |t| t.name.clone());
    let latest = found
        .conversation
        .iter()
        .rev()
        .find(|e| e.is_from_desk())
        .cloned();
    let page = TrackingPage {
        layout: Layout::new(
            format!("{} — {}", ticket.number(), found.status.reporter_label()),
            ctx,
        ),
        number: ticket.number().to_string(),
        summary: first_line(&ticket.description, 120),
        status: found.status,
        status_label: found.status.reporter_label(),
        next: next_step(&ticket, found.status, &team_name, found.incident.is_some()),
        team_name,
        category_label: ticket.category.label(),
        warehouse_label: ticket.warehouse_type.map(|w| w.label()),
        impact_label: ticket.impact.map(|i| i.label()),
        merged_into: ticket
            .merged_into
            .map(|id| TicketNumber::of(id).to_string()),
        incident: found.incident,
        latest,
        conversation: found.conversation,
        ticket,
        reply,
        file_limits: desk.attachment_limits.in_words(),
    };
    html(status, &page)
}

#[derive(serde::Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    body: String,
}

fn valid_token(token: &str) -> bool {
    token.len() == 40 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The reporter answers: a resolved ticket reopens, a waiting one resumes. Replies are
/// limited per tracking link and per address (`DESK_REPLY_RATE_PER_MINUTE`); a reply over
/// the limit, or one the desk refuses, stays in the box with the reason beside it.
pub async fn reply(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    limits: web::Data<Limits>,
    token: web::Path<String>,
    form: FilesForm,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    if !valid_token(&token) {
        return Err(AppError::NotFound.into());
    }
    let body = form.decode::<ReplyForm>()?.body;
    let files_dropped = form.had_files();
    if !limits.replies.allow_reply(&token, client_ip(&req)) {
        let reply = ReplyBox {
            body,
            error: Some(
                "You have sent several replies in the last minute. Wait a minute, then send \
                 this one again; it is kept here."
                    .into(),
            ),
            files_dropped,
            ..ReplyBox::default()
        };
        let mut page = render(&ctx, &desk, token, StatusCode::TOO_MANY_REQUESTS, reply).await?;
        page.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from_static("60"),
        );
        return Ok(page);
    }
    // Over the total limit the files were not read to the end: none reach the service.
    if let Some(message) = form.too_much {
        let reply = ReplyBox {
            body,
            files_error: Some(message),
            files_dropped,
            ..ReplyBox::default()
        };
        return render(&ctx, &desk, token, StatusCode::UNPROCESSABLE_ENTITY, reply).await;
    }
    let back = format!("/t/{token}");
    let (sent_token, sent_body, files) = (token.clone(), body.clone(), form.files);
    let sent = desk
        .db(move |conn, desk| {
            let before = Ticket::find_by_token(conn, &sent_token)?.status;
            ticket_actions::reporter_reply_with_files(conn, desk, &sent_token, &sent_body, &files)?;
            Ok(before)
        })
        .await;
    match sent {
        Ok(before) => {
            let message = if matches!(before, Status::Resolved) {
                "Your reply is sent, and your report is open again: the team sees it with \
                 your report."
            } else {
                "Your reply is sent: the team sees it with your report."
            };
            Ok(crate::web::flash::see_other_with(&back, message))
        }
        Err(AppError::Invalid(mut errors)) => {
            let files_error = errors.remove("attachments");
            let error = errors.into_values().next();
            let reply = ReplyBox {
                body,
                error,
                files_error,
                files_dropped,
            };
            render(&ctx, &desk, token, StatusCode::UNPROCESSABLE_ENTITY, reply).await
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_changes_read_as_news() {
        assert_eq!(
            status_news("status in_progress → resolved by dana@example.com"),
            Some("Marked resolved.")
        );
        assert_eq!(
            status_news("resumed by the reporter's reply (waiting_on_reporter → in_progress)"),
            Some("Someone is working on it now.")
        );
        assert_eq!(status_news("status new → triaged by dana"), None);
        assert!(status_news("reopened by dana").is_some());
        assert_eq!(status_news("something else"), None);
    }
}
