//! Incidents: a parent ticket gathering reports of one problem, whose public updates reach
//! every affected reporter once.

use crate::db::models::event::Event;
use crate::db::models::ticket::Ticket;
use crate::db::{DbConnection, write_transaction};
use crate::domain::event::EventKind;
use crate::domain::status::Status;
use crate::domain::text::{self, Lines};
use crate::domain::ticket_number::TicketNumber;
use crate::email;
use crate::error::AppError;
use crate::services::ticket_changes::{self, Changes, Message, Tell, TicketChangeset, Who, touch};
use crate::state::Desk;

/// Turn a ticket into an incident.
pub fn declare(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    id: i64,
) -> Result<Ticket, AppError> {
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        let ticket = Ticket::find(conn, id)?;
        if ticket.is_incident {
            return Err(AppError::invalid(
                "incident",
                format!("{} is already an incident.", ticket.number()),
            ));
        }
        if ticket.parent_id.is_some() {
            return Err(AppError::invalid(
                "incident",
                "This ticket belongs to an incident; detach it first.",
            ));
        }
        let set = TicketChangeset {
            is_incident: Some(true),
            ..TicketChangeset::default()
        };
        let note = format!("declared an incident by {}", who.name);
        touch(
            conn,
            &ticket,
            who,
            &[(EventKind::IncidentDeclared, note, true)],
            set,
            now,
        )
    })
}

/// Attach a ticket to an incident.
pub fn attach(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    child_id: i64,
    incident_id: i64,
) -> Result<Ticket, AppError> {
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        let incident = Ticket::find(conn, incident_id).map_err(|e| match e {
            diesel::result::Error::NotFound => AppError::invalid("incident", "No such incident."),
            other => other.into(),
        })?;
        if !incident.is_incident {
            return Err(AppError::invalid(
                "incident",
                format!(
                    "{} is not an incident; declare it first.",
                    incident.number()
                ),
            ));
        }
        let child = Ticket::find(conn, child_id)?;
        attach_in(conn, who, &child, &incident, now)
    })
}

/// Attach `child` to `incident` (checked to be one) inside the caller's transaction.
fn attach_in(
    conn: &mut DbConnection,
    who: &Who,
    child: &Ticket,
    incident: &Ticket,
    now: chrono::NaiveDateTime,
) -> Result<Ticket, AppError> {
    if child.id == incident.id || child.is_incident {
        return Err(AppError::invalid(
            "incident",
            "An incident cannot be attached to an incident.",
        ));
    }
    if child.parent_id == Some(incident.id) {
        return Ok(child.clone());
    }
    let set = TicketChangeset {
        parent_id: Some(Some(incident.id)),
        ..TicketChangeset::default()
    };
    let note = format!("attached to incident {} by {}", incident.number(), who.name);
    let child = touch(
        conn,
        child,
        who,
        &[(EventKind::IncidentAttached, note, true)],
        set,
        now,
    )?;
    let note = format!("{} attached by {}", child.number(), who.name);
    let incident = Ticket::find(conn, incident.id)?;
    touch(
        conn,
        &incident,
        who,
        &[(EventKind::IncidentChildAdded, note, false)],
        TicketChangeset::default(),
        now,
    )?;
    Ok(child)
}

/// An identical update to one incident within this long is taken as the same update: a
/// refreshed form or a retried request does not tell every reporter twice.
pub const REPEAT_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// A public update on an incident, as it was posted.
#[derive(Debug, Clone)]
pub struct PostedUpdate {
    pub incident: TicketNumber,
    /// The update's entry on the incident's timeline.
    pub id: i64,
    pub message: String,
    pub posted_at: chrono::NaiveDateTime,
    pub posted_by: String,
    /// Reporters this call emailed (none when it repeated an update already sent).
    pub reporters: usize,
    /// The same update was already sent within `REPEAT_WINDOW`; nothing was done now.
    pub repeated: bool,
}

/// A public update on an incident: on every child's timeline, and one email per reporter
/// (not per ticket). The same text again within `REPEAT_WINDOW` returns the update
/// already sent and does nothing more.
pub fn update(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    incident_id: i64,
    body: &str,
) -> Result<PostedUpdate, AppError> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 10_000 {
        return Err(AppError::invalid(
            "body",
            "An update needs 1 to 10,000 characters.",
        ));
    }
    text::check_characters(body, Lines::Many).map_err(|e| AppError::invalid("body", e))?;
    let now = desk.clock.now();
    write_transaction(conn, |conn| {
        // Hold the incident's row first, so two identical updates sent at once queue here
        // and the second finds the first.
        lock_ticket(conn, incident_id)?;
        let incident = Ticket::find(conn, incident_id)?;
        if !incident.is_incident {
            return Err(AppError::invalid(
                "incident",
                format!("{} is not an incident.", incident.number()),
            ));
        }
        if let Some(sent) = latest_update(conn, incident.id, Some(body), Some(now - REPEAT_WINDOW))?
        {
            return Ok(posted(&incident, sent, 0, true));
        }
        let reporters = update_in(conn, desk, who, incident_id, body, now)?;
        let sent = latest_update(conn, incident.id, Some(body), Some(now))?.ok_or_else(|| {
            AppError::internal_msg("the update just written is not on the timeline".into())
        })?;
        Ok(posted(&incident, sent, reporters, false))
    })
}

impl PostedUpdate {
    /// What the agent who posted it reads next: "Update sent to 3 reporters", or that it
    /// had been sent already.
    pub fn confirmation(&self, now: chrono::NaiveDateTime) -> String {
        if self.repeated {
            format!(
                "This update to {} was already sent {}; nobody was emailed again.",
                self.incident,
                crate::domain::humanize::relative(self.posted_at, now)
            )
        } else {
            let plural = if self.reporters == 1 { "" } else { "s" };
            format!(
                "Update to {} sent to {} reporter{plural}.",
                self.incident,
                crate::domain::humanize::number(self.reporters as i64)
            )
        }
    }
}

fn posted(incident: &Ticket, event: Event, reporters: usize, repeated: bool) -> PostedUpdate {
    PostedUpdate {
        incident: incident.number(),
        id: event.id,
        message: event.detail,
        posted_at: event.created_at,
        posted_by: event.actor,
        reporters,
        repeated,
    }
}

/// Take the ticket's row lock for the rest of the transaction (PostgreSQL; a SQLite write
/// transaction holds the whole database already).
fn lock_ticket(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    use crate::db::schema::tickets;
    use diesel::prelude::*;
    diesel::update(tickets::table.find(id))
        .set(tickets::version.eq(tickets::version))
        .execute(conn)?;
    Ok(())
}

/// The incident's newest public update (with this text, when given; posted at `since` or
/// later, when given).
fn latest_update(
    conn: &mut DbConnection,
    incident_id: i64,
    text: Option<&str>,
    since: Option<chrono::NaiveDateTime>,
) -> Result<Option<Event>, AppError> {
    use crate::db::schema::ticket_events;
    use diesel::prelude::*;
    let mut query = ticket_events::table
        .filter(ticket_events::ticket_id.eq(incident_id))
        .filter(ticket_events::kind.eq(EventKind::IncidentUpdate))
        .select(Event::as_select())
        .order(ticket_events::id.desc())
        .into_boxed();
    if let Some(text) = text {
        query = query.filter(ticket_events::detail.eq(text));
    }
    if let Some(since) = since {
        query = query.filter(ticket_events::created_at.ge(since));
    }
    Ok(query.first(conn).optional()?)
}

/// `update` inside the caller's transaction (`body` checked).
fn update_in(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    incident_id: i64,
    body: &str,
    now: chrono::NaiveDateTime,
) -> Result<usize, AppError> {
    let incident = Ticket::find(conn, incident_id)?;
    if !incident.is_incident {
        return Err(AppError::invalid(
            "incident",
            format!("{} is not an incident.", incident.number()),
        ));
    }
    let children = Ticket::children(conn, incident.id)?;
    let incident = touch(
        conn,
        &incident,
        who,
        &[(EventKind::IncidentUpdate, body.to_string(), true)],
        TicketChangeset::default(),
        now,
    )?;
    let mut updated = vec![incident];
    for child in children {
        updated.push(touch(
            conn,
            &child,
            who,
            &[(EventKind::IncidentUpdate, body.to_string(), true)],
            TicketChangeset::default(),
            now,
        )?);
    }
    // One email per reporter (not per ticket), the reporters of merged tickets included,
    // threaded on the first of their tickets.
    let audience = ticket_changes::reporters(conn, updated)?;
    for ticket in &audience {
        let rendered = email::ticket_message(
            &desk.mail,
            ticket,
            "Update on the problem you reported",
            body,
        )?;
        let message = Message {
            template: "incident_update",
            recipient: &ticket.reporter_email,
            rendered,
            first_in_thread: false,
            dedupe_key: None,
        };
        ticket_changes::queue(conn, &desk.mail, ticket, message, now)?;
    }
    Ok(audience.len())
}

/// An incident just resolved or closed (by an agent, or by its rule after the
/// cool-down): each of its reports still open is resolved with it, noting the incident on
/// its timeline, and the incident's update saying so reaches every reporter once, the
/// incident's own included (not one "resolved" email per ticket: an analyst who filed
/// three hears once). A reporter who still sees the problem replies on the tracking page
/// and their report reopens, as any resolved one does. Call inside the transaction that
/// ended the incident. Returns how many reports it resolved.
pub(crate) fn resolve_reports(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    incident: &Ticket,
    reason: Option<&str>,
    now: chrono::NaiveDateTime,
) -> Result<usize, AppError> {
    let children = Ticket::children(conn, incident.id)?;
    let mut resolved = 0;
    for child in &children {
        let open = child.status.can_move_to(Status::Resolved).is_ok();
        if !open {
            continue;
        }
        let changes = Changes {
            status: Some(Status::Resolved),
            reason: Some(format!("resolved with incident {}", incident.number())),
            ..Changes::default()
        };
        if ticket_changes::apply(conn, desk, who, child, &changes, Tell::NotReporter, now)?
            .is_some()
        {
            resolved += 1;
        }
    }
    let body = match reason.filter(|r| !r.is_empty()) {
        Some(reason) => format!(
            "Resolved: {reason}. If you still see the problem, reply on your tracking page."
        ),
        None => "The team has resolved this problem. If you still see it, reply on your \
                 tracking page."
            .to_string(),
    };
    update_in(conn, desk, who, incident.id, &body, now)?;
    Ok(resolved)
}

/// An open incident as the API and the runbooks' drills list it.
#[derive(Debug, Clone)]
pub struct OpenIncident {
    pub ticket: Ticket,
    /// The threshold rule's opening, when a rule opened it (`None`: declared by an agent).
    pub signal: Option<crate::db::models::signal_incident::SignalIncident>,
    pub opened_at: chrono::NaiveDateTime,
    pub linked_tickets: Vec<String>,
    pub linked_runs: Vec<String>,
    /// Who declared it, when an agent did.
    pub declared_by: Option<String>,
    /// The newest public update and when it was posted, if any was.
    pub latest_update: Option<(String, chrono::NaiveDateTime)>,
}

/// Every open incident of `drill` (`drill::LIVE`: the real ones), oldest first, with
/// what is linked to it.
pub fn open_incidents(conn: &mut DbConnection, drill: i64) -> Result<Vec<OpenIncident>, AppError> {
    use crate::db::models::signal_incident::SignalIncident;
    use crate::db::models::ticket_run::TicketRun;
    use crate::db::schema::{ticket_events, tickets};
    use diesel::prelude::*;

    let open = Status::OPEN;
    let incidents: Vec<Ticket> = tickets::table
        .filter(tickets::is_incident.eq(true))
        .filter(tickets::status.eq_any(open))
        .filter(tickets::drill.eq(drill))
        .order(tickets::id.asc())
        .select(Ticket::as_select())
        .load(conn)?;
    let ids: Vec<i64> = incidents.iter().map(|t| t.id).collect();
    let signals = SignalIncident::for_tickets(conn, &ids)?;
    let mut runs = TicketRun::run_ids_for(conn, &ids)?;
    let children: Vec<(i64, Option<i64>)> = tickets::table
        .filter(tickets::parent_id.eq_any(&ids))
        .order(tickets::id.asc())
        .select((tickets::id, tickets::parent_id))
        .load(conn)?;
    // Declarations and public updates, oldest first: the last of each kind counts.
    let events: Vec<(i64, EventKind, String, String, chrono::NaiveDateTime)> = ticket_events::table
        .filter(ticket_events::ticket_id.eq_any(&ids))
        .filter(
            ticket_events::kind.eq_any([EventKind::IncidentDeclared, EventKind::IncidentUpdate]),
        )
        .order(ticket_events::id.asc())
        .select((
            ticket_events::ticket_id,
            ticket_events::kind,
            ticket_events::actor,
            ticket_events::detail,
            ticket_events::created_at,
        ))
        .load(conn)?;
    let last = |id: i64, kind: EventKind| {
        events
            .iter()
            .rev()
            .find(|(t, k, ..)| *t == id && *k == kind)
    };
    Ok(incidents
        .into_iter()
        .map(|ticket| {
            let signal = signals
                .iter()
                .rev()
                .find(|s| s.ticket_id == ticket.id)
                .cloned();
            let declared = last(ticket.id, EventKind::IncidentDeclared);
            let opened_at = signal
                .as_ref()
                .map(|s| s.opened_at)
                .or(declared.map(|(.., at)| *at))
                .unwrap_or(ticket.created_at);
            let linked_tickets = children
                .iter()
                .filter(|(_, parent)| *parent == Some(ticket.id))
                .map(|(id, _)| TicketNumber::of(*id).to_string())
                .collect();
            OpenIncident {
                linked_runs: runs.remove(&ticket.id).unwrap_or_default(),
                declared_by: declared.map(|(_, _, actor, ..)| actor.clone()),
                latest_update: last(ticket.id, EventKind::IncidentUpdate)
                    .map(|(.., detail, at)| (detail.clone(), *at)),
                ticket,
                signal,
                opened_at,
                linked_tickets,
            }
        })
        .collect())
}

/// An open incident as analysts see it on the report form and tracking pages.
#[derive(Debug, Clone)]
pub struct KnownIssue {
    pub number: TicketNumber,
    /// "Snowflake profiling failing", in words an analyst recognises.
    pub headline: String,
    pub since: chrono::NaiveDateTime,
    /// Reports attached so far.
    pub reports: usize,
    /// The owning team's display name.
    pub team: String,
    /// The newest public update and when it was posted, if any was.
    pub latest_update: Option<(String, chrono::NaiveDateTime)>,
}

/// Every open incident, as a known issue.
pub fn known_issues(conn: &mut DbConnection, desk: &Desk) -> Result<Vec<KnownIssue>, AppError> {
    Ok(open_incidents(conn, desk.drill)?
        .iter()
        .map(|open| known_issue(desk, open))
        .collect())
}

/// An open incident as analysts know it: a headline in their words, its team by name.
pub fn known_issue(desk: &Desk, open: &OpenIncident) -> KnownIssue {
    let warehouse = open
        .signal
        .as_ref()
        .map(|s| s.warehouse_type)
        .or(open.ticket.warehouse_type);
    let where_ = warehouse.map_or("Profiling", |w| w.label());
    let category = open.ticket.category;
    let headline = match open.signal.as_ref().map(|s| s.signal.as_str()) {
        Some("failure_rate") => format!("{where_} profiling failing"),
        Some("critical_timeout") => format!("{where_} profiling timing out on critical tables"),
        Some("duration_regression") => format!("{where_} profiling running slow"),
        Some(_) => format!(
            "{where_}: many reports of {}",
            category.label().to_lowercase()
        ),
        None => match (&open.ticket.table_name, warehouse) {
            (Some(table), _) => format!("{} on {table}", category.label()),
            (None, Some(w)) => format!("{} on {}", category.label(), w.label()),
            (None, None) => category.label().to_string(),
        },
    };
    KnownIssue {
        number: open.ticket.number(),
        headline,
        since: open.opened_at,
        reports: open.linked_tickets.len(),
        latest_update: open.latest_update.clone(),
        team: desk.model.team_name(&open.ticket.team).to_string(),
    }
}

/// An analyst joins a known issue: a ticket of their own (so they hear of progress and
/// can follow it), filed with the incident's details and attached to it at once.
pub fn join(
    conn: &mut DbConnection,
    desk: &Desk,
    incident_id: i64,
    reporter_email: crate::domain::email::EmailAddress,
    reporter_name: Option<String>,
) -> Result<Ticket, AppError> {
    use crate::domain::category::ProblemKind;
    use crate::domain::report::Report;
    use crate::domain::table::TableName;

    let incident = Ticket::find(conn, incident_id).map_err(|e| match e {
        diesel::result::Error::NotFound => AppError::NotFound,
        other => other.into(),
    })?;
    let open = Status::OPEN.contains(&incident.status);
    // A drill's incident is no known issue of the live desk (and the other way round).
    if incident.drill != desk.drill {
        return Err(AppError::NotFound);
    }
    if !incident.is_incident || !open {
        return Err(AppError::invalid(
            "incident",
            format!(
                "{} is not an open known issue any more; file a report instead.",
                incident.number()
            ),
        ));
    }
    let headline = known_issues(conn, desk)?
        .into_iter()
        .find(|k| k.number == incident.number())
        .map_or_else(|| incident.number().to_string(), |k| k.headline);
    let warehouse_type = incident.warehouse_type;
    let report = Report {
        reporter_name,
        reporter_email,
        kind: ProblemKind::Known(incident.category),
        warehouse_type,
        table: incident
            .table_name
            .as_deref()
            .and_then(|t| TableName::parse(t, warehouse_type).ok()),
        column: None,
        detected_type: None,
        expected_type: None,
        run: None,
        impact: None,
        description: format!(
            "Also affected by the known issue {}: {headline}.",
            incident.number()
        ),
    };
    let ticket = crate::services::intake::submit(conn, desk, report, None)?;
    let ticket = ticket.ticket().clone();
    let who = Who {
        name: "the reporter (known issue)".into(),
        user_id: None,
    };
    attach(conn, desk, &who, ticket.id, incident.id)
}
