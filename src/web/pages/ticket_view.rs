//! What the agent's ticket page shows: the conversation first, the desk's own doings
//! folded into a history, and the actions beside them.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;

use super::{Layout, PageContext, PageError, html};
use crate::db::models::attachment::Attachment;
use crate::db::models::event::Event;
use crate::db::models::inbound_mail::InboundMail;
use crate::db::models::mail_suppression::MailSuppression;
use crate::db::models::ticket::Ticket;
use crate::db::models::ticket_run::{LinkedRun, TicketRun};
use crate::db::models::user::User;
use crate::domain::category::Category;
use crate::domain::event::EventKind;
use crate::domain::inbound::Outcome;
use crate::domain::labels;
use crate::domain::report::FieldErrors;
use crate::domain::severity::Severity;
use crate::domain::status::{SlaState, Status};
use crate::domain::ticket_number::TicketNumber;
use crate::services::people::{self, Person};
use crate::services::suggestions::{self, Candidate};
use crate::state::Desk;
use crate::web::attachments::FileView;

/// One line of the conversation or the history, in words.
pub struct Entry {
    /// What happened, as people say it ("Internal note", "Team changed").
    pub label: &'static str,
    /// `message`, `internal`, `reporter`, `update` or `event`: how it is drawn.
    pub class: &'static str,
    pub actor: String,
    pub detail: String,
    pub at: NaiveDateTime,
    /// The received email it came from (downloadable), if it came by email.
    pub mail: Option<i64>,
    /// An unverified sender's email an agent may still publish as a reply.
    pub publishable: bool,
    /// The files that came with it.
    pub files: Vec<FileView>,
}

/// A report attached to an incident.
pub struct Child {
    pub number: String,
    pub status: &'static str,
    pub reporter: String,
}

#[derive(Template)]
#[template(path = "ticket/show.html")]
struct TicketPage {
    layout: Layout,
    ticket: Ticket,
    number: String,
    summary: String,
    status_label: &'static str,
    category_label: &'static str,
    /// Who set the category by hand; `None` while it is the classifier's.
    category_set_by: Option<String>,
    confidence: String,
    reasons: Vec<String>,
    severity_reasons: Vec<String>,
    routing_reason: String,
    team_name: String,
    assignee: Option<String>,
    sla_state: SlaState,
    runs: Vec<LinkedRun>,
    messages: Vec<Entry>,
    history: Vec<Entry>,
    children: Vec<Child>,
    teams: Vec<(String, String)>,
    people: Vec<Person>,
    duplicates: Vec<Candidate>,
    incidents: Vec<Candidate>,
    /// Where a reply may move the status: value and the button's words.
    reply_moves: Vec<(&'static str, String)>,
    conflict: Option<Vec<Entry>>,
    errors: FieldErrors,
    /// The reply being written, kept when the page comes back with an error.
    draft: String,
    runbook: String,
    /// The reporter's address bounced: no mail goes to it until cleared.
    held: Option<MailSuppression>,
    /// The received email the report came from, if it came by email.
    report_mail: Option<i64>,
    /// The files that came with the report.
    report_files: Vec<FileView>,
    /// The attachment limits in words, beside the reply's file field.
    file_limits: String,
    /// Files came with a reply shown again: a browser cannot keep them.
    files_dropped: bool,
}

impl TicketPage {
    fn statuses(&self) -> [Status; 6] {
        Status::ALL
    }

    fn categories(&self) -> [Category; 5] {
        Category::ALL
    }

    fn severities(&self) -> [Severity; 4] {
        Severity::ALL
    }

    fn is_wrong_type(&self) -> bool {
        self.ticket.category == Category::WrongColumnType
    }

    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }

    fn parent(&self) -> Option<String> {
        self.ticket
            .parent_id
            .map(|id| TicketNumber::of(id).to_string())
    }

    fn merged_into(&self) -> Option<String> {
        self.ticket
            .merged_into
            .map(|id| TicketNumber::of(id).to_string())
    }
}

/// A ticket's received mail: by timeline entry, the email and what became of it; and the
/// reporter's address when it bounced and is held.
struct Mail {
    received: std::collections::HashMap<i64, (i64, Outcome)>,
    held: Option<MailSuppression>,
}

/// What a render needs besides the ticket itself.
#[derive(Default)]
pub struct Extras {
    pub conflict: Option<Vec<Event>>,
    pub errors: FieldErrors,
    pub draft: String,
    /// Files came with the form shown again.
    pub files_dropped: bool,
}

/// A key of the support model as people read it: a team's display name, an escalation
/// step's name in words.
fn name_of(desk: &Desk, key: &str) -> Option<String> {
    let model = &desk.model;
    model.team(key).map(|t| t.name.clone()).or_else(|| {
        model
            .escalation
            .iter()
            .any(|step| step.name == key)
            .then(|| super::words(key))
    })
}

/// Instants the desk wrote into a record ("first response by 2026-12-07T08:48:16Z") as
/// this reader reads them.
fn readable_instants(text: &str, ctx: &PageContext) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(|c: char| c.is_ascii_digit()) {
        let instant = rest
            .get(i..i + 20)
            .and_then(|s| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").ok());
        let (taken, shown) = match instant {
            Some(at) => (i + 20, format!("{}{}", &rest[..i], ctx.moment(at).text())),
            None => (i + 1, rest[..=i].to_string()),
        };
        out.push_str(&shown);
        rest = &rest[taken..];
    }
    out.push_str(rest);
    out
}

/// A timeline event as people read it; `mail`: the received email it came from and what
/// became of it.
fn entry(desk: &Desk, ctx: &PageContext, event: Event, mail: Option<&(i64, Outcome)>) -> Entry {
    let class = match event.kind {
        EventKind::InternalNote | EventKind::UnverifiedMail => "internal",
        EventKind::ReporterReply | EventKind::Created => "reporter",
        EventKind::IncidentUpdate => "update",
        EventKind::Comment => "message",
        _ => "event",
    };
    let label = match event.kind {
        EventKind::Comment => "Reply to the reporter",
        kind => kind.label(),
    };
    // What people wrote is shown as they wrote it; only the desk's own records are put
    // in words.
    let detail = if event.kind.is_message() {
        event.detail
    } else {
        let words = labels::in_words(&event.detail, |key| name_of(desk, key));
        readable_instants(&words, ctx)
    };
    let actor = match event.actor.as_str() {
        "reporter" => "The reporter".to_string(),
        "desk" => "The desk".to_string(),
        other => other.to_string(),
    };
    Entry {
        label,
        class,
        actor,
        detail,
        at: event.created_at,
        mail: mail.map(|(id, _)| *id),
        publishable: mail.is_some_and(|(_, outcome)| *outcome == Outcome::Unverified),
        files: Vec::new(),
    }
}

/// Where a reply may take the status from `current`, as the reply button says it.
fn reply_moves(current: Status) -> Vec<(&'static str, String)> {
    Status::ALL
        .into_iter()
        .filter(|s| *s != current && current.can_move_to(*s).is_ok())
        .map(|s| {
            let words = match s {
                Status::Resolved => "Reply and resolve".to_string(),
                Status::Closed => "Reply and close".to_string(),
                other => format!("Reply and mark {}", other.label().to_lowercase()),
            };
            (s.as_str(), words)
        })
        .collect()
}

pub async fn render(
    ctx: &PageContext,
    desk: web::Data<Desk>,
    id: i64,
    status: StatusCode,
    extras: Extras,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now;
    let (
        ticket,
        runs,
        events,
        children,
        assignee,
        runbook,
        people,
        duplicates,
        incidents,
        mail,
        files,
    ) = desk
        .db(move |conn, desk| {
            let ticket = Ticket::find(conn, id)?;
            let files = Attachment::for_ticket(conn, id, false)?;
            let mail = Mail {
                received: InboundMail::for_ticket(conn, id)?
                    .into_iter()
                    .filter_map(|m| Some((m.event_id?, (m.id, m.outcome.0))))
                    .collect(),
                held: MailSuppression::find(conn, &ticket.reporter_email)?,
            };
            let runs = TicketRun::for_ticket(conn, id)?;
            let events = Event::for_ticket(conn, id, false)?;
            let children = if ticket.is_incident {
                Ticket::children(conn, id)?
            } else {
                Vec::new()
            };
            let assignee = match ticket.assignee_id {
                Some(a) => User::find(conn, a)?.map(|u| u.name.unwrap_or(u.email)),
                None => None,
            };
            let runbook = crate::runbooks::for_ticket(conn, &ticket)?;
            let people = people::assignable(conn, desk, Some(ticket.team.as_str()))?;
            let duplicates = suggestions::duplicates(conn, &ticket, now)?;
            let incidents = suggestions::incidents(conn, &ticket)?;
            Ok((
                ticket, runs, events, children, assignee, runbook, people, duplicates, incidents,
                mail, files,
            ))
        })
        .await?;
    let state = SlaState::of(ticket.status, ticket.sla_due_at, ticket.sla_warn_at, now);
    let category_set_by = ticket
        .reclassified
        .then(|| {
            events
                .iter()
                .rev()
                .find(|e| e.kind == EventKind::Reclassified)
                .map(|e| e.actor.clone())
        })
        .flatten();
    let report_mail = events
        .iter()
        .find(|e| e.kind == EventKind::Created)
        .and_then(|e| mail.received.get(&e.id))
        .map(|(id, _)| *id);
    let prefix = format!("/tickets/{}", TicketNumber::of(id));
    let mut files: Vec<(Option<i64>, FileView)> = files
        .iter()
        .map(|f| (f.event_id, FileView::new(&prefix, f)))
        .collect();
    let mut take_files = |event: i64| -> Vec<FileView> {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut files)
            .into_iter()
            .partition(|(id, _)| *id == Some(event));
        files = rest;
        mine.into_iter().map(|(_, view)| view).collect()
    };
    let (mut messages, mut history, mut report_files) = (Vec::new(), Vec::new(), Vec::new());
    for event in events {
        let event_files = take_files(event.id);
        if event.kind == EventKind::Created {
            report_files.extend(event_files);
            continue;
        }
        let into = if event.kind.is_message() {
            &mut messages
        } else {
            &mut history
        };
        let received = mail.received.get(&event.id);
        let mut shown = entry(&desk, ctx, event, received);
        shown.files = event_files;
        into.push(shown);
    }
    // Files whose entry is gone go with the report rather than nowhere.
    report_files.extend(files.into_iter().map(|(_, view)| view));
    let in_words =
        |text: &str| labels::in_words(text, |key| desk.model.team(key).map(|t| t.name.clone()));
    let page = TicketPage {
        layout: Layout::new(
            format!("{} — {}", ticket.number(), ticket.status.label()),
            ctx,
        ),
        number: ticket.number().to_string(),
        summary: crate::domain::text::first_line(&ticket.description, 90),
        status_label: ticket.status.label(),
        category_label: ticket.category.label(),
        category_set_by,
        confidence: crate::domain::humanize::percent(ticket.confidence * 100.0),
        reasons: ticket
            .classification_reasons()
            .iter()
            .map(|r| in_words(r))
            .collect(),
        severity_reasons: ticket
            .severity_reasons()
            .iter()
            .map(|r| in_words(r))
            .collect(),
        routing_reason: in_words(&ticket.routing_reason),
        team_name: desk.model.team_name(&ticket.team).to_string(),
        assignee,
        sla_state: state,
        runs: runs
            .into_iter()
            .map(|run| LinkedRun {
                reason: in_words(&run.reason),
                ..run
            })
            .collect(),
        messages,
        history,
        children: children
            .into_iter()
            .map(|c| Child {
                number: c.number().to_string(),
                status: c.status.label(),
                reporter: c.reporter_name.unwrap_or(c.reporter_email),
            })
            .collect(),
        teams: desk
            .model
            .teams
            .iter()
            .map(|t| (t.key.clone(), t.name.clone()))
            .collect(),
        people,
        duplicates,
        incidents,
        reply_moves: reply_moves(ticket.status),
        conflict: extras.conflict.map(|missed| {
            missed
                .into_iter()
                .map(|e| entry(&desk, ctx, e, None))
                .collect()
        }),
        errors: extras
            .errors
            .into_iter()
            .map(|(field, message)| (field, in_words(&message)))
            .collect(),
        draft: extras.draft,
        runbook,
        held: mail.held,
        report_mail,
        report_files,
        file_limits: desk.attachment_limits.in_words(),
        files_dropped: extras.files_dropped,
        ticket,
    };
    html(status, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_offers_the_moves_the_status_rules_allow_in_words() {
        let moves = reply_moves(Status::InProgress);
        let words: Vec<&str> = moves.iter().map(|(_, w)| w.as_str()).collect();
        assert!(words.contains(&"Reply and mark waiting on reporter"));
        assert!(words.contains(&"Reply and resolve"));
        assert!(
            !moves
                .iter()
                .any(|(v, _)| *v == "new" || *v == "in_progress")
        );
        let reopen = reply_moves(Status::Resolved);
        assert!(!reopen.iter().any(|(v, _)| *v == "in_progress"));
    }

    #[test]
    fn instants_in_records_read_in_the_readers_zone() {
        let ctx = PageContext {
            viewer: Default::default(),
            csrf: String::new(),
            zone: chrono_tz::Europe::Berlin,
            now: crate::clock::at("2026-12-08 12:00"),
            flash: None,
        };
        let text = readable_instants("first response by 2026-12-08T09:28:00Z, then more", &ctx);
        assert!(!text.contains("2026-12-08T"), "{text}");
        assert!(text.contains("10:28"), "Berlin is an hour ahead: {text}");
        assert!(text.ends_with(", then more"), "{text}");
        assert_eq!(readable_instants("run 42 of 2026", &ctx), "run 42 of 2026");
    }
}
