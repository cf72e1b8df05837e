//! Opening, feeding and resolving the incident of one signal.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Evaluation, MonitorCache, Reading};
use crate::db::models::event::{Event, NewEvent};
use crate::db::models::signal_incident::{NewSignalIncident, SignalIncident};
use crate::db::models::ticket::Ticket;
use crate::db::schema::tickets;
use crate::db::{DbConnection, write_grouped, write_transaction};
use crate::domain::category::{Category, ProblemKind};
use crate::domain::email::EmailAddress;
use crate::domain::event::EventKind;
use crate::domain::signals::{self, Rule};
use crate::domain::status::Status;
use crate::domain::table::TableName;
use crate::domain::ticket_number::TicketNumber;
use crate::domain::warehouse::WarehouseType;
use crate::error::AppError;
use crate::services::intake::{self, DeskTicket};
use crate::services::ticket_changes::{self, Changes, TicketChangeset, Who};
use crate::services::triage;
use crate::state::Desk;

fn monitor() -> Who {
    Who {
        name: "inspect-desk monitor".into(),
        user_id: None,
    }
}

fn is_open(ticket: &Ticket) -> bool {
    Status::OPEN.contains(&ticket.status)
}

/// Bring the incident of one signal (`open`: its open incident, if any) in line with its
/// reading.
#[allow(clippy::too_many_arguments)]
pub(super) fn reconcile(
    conn: &mut DbConnection,
    desk: &Desk,
    cache: &MonitorCache,
    rule: &Rule,
    reading: &Reading,
    open: Option<&SignalIncident>,
    now: NaiveDateTime,
    evaluation: &mut Evaluation,
) -> Result<(), AppError> {
    let warehouse = reading.warehouse;
    match (open, reading.crossed) {
        (None, false) => Ok(()),
        (None, true) => match open_incident(conn, desk, rule, warehouse, reading, now) {
            Ok(Some((ticket, attached))) => {
                evaluation.opened.push(ticket.number());
                evaluation.attached += attached;
                evaluation.lines.push(format!(
                    "{}: opened for {}: {}",
                    ticket.number(),
                    reading.key,
                    reading.measurement
                ));
                Ok(())
            }
            Ok(None) => Ok(()),
            // Another desk instance opened it first; its incident stands.
            Err(e) if e.is_db_conflict() => Ok(()),
            Err(e) => Err(e),
        },
        (Some(open), true) => {
            // Reads first; the write lock only when there is something to write: reports
            // to attach, or a breach to record after a quiet spell or a minute's silence.
            // Reports filed since the last pass (less a margin for ones decided before
            // it and committed after); every few minutes a pass over the whole reach.
            let since = cache.attached_through(open.ticket_id);
            let from = (open.opened_at - rule.condition.reach())
                .max(since.map_or(NaiveDateTime::MIN, |t| t - super::ATTACH_MARGIN));
            let children = related_children(conn, desk, rule, warehouse, reading, from, now)?;
            let note_breach = open.clear_since.is_some()
                || now - open.last_breach_at >= chrono::TimeDelta::minutes(1);
            if children.is_empty() && !note_breach {
                cache.attached(open.ticket_id, now, since.is_none());
                return Ok(());
            }
            // Through the writer on SQLite: a burst's reports are themselves queued there,
            // and this write then waits in that line instead of taking the turn from it
            // on a connection with a cold cache.
            let (incident_id, ticket_id) = (open.id, open.ticket_id);
            let measurement = reading.measurement.clone();
            let attached =
                write_grouped(&desk.pool, conn, move |conn| -> Result<usize, AppError> {
                    if note_breach {
                        SignalIncident::still_breached(conn, incident_id, now, &measurement)?;
                    }
                    let incident = Ticket::find(conn, ticket_id)?;
                    attach_all(conn, &incident, &children, now)
                })?;
            cache.attached(open.ticket_id, now, since.is_none());
            evaluation.attached += attached;
            Ok(())
        }
        (Some(open), false) => {
            // The cool-down counts from the first evaluation that saw the signal below
            // its threshold, so "quiet for 30 minutes" is observed, not assumed.
            let Some(clear_since) = open.clear_since else {
                SignalIncident::clearing(conn, open.id, now)?;
                return Ok(());
            };
            if now - clear_since < desk.model.signals.cool_down {
                return Ok(());
            }
            let number = resolve_incident(conn, desk, open, reading, now)?;
            evaluation.resolved.push(number);
            evaluation.lines.push(format!(
                "{number}: resolved, {} below threshold since {}",
                reading.key,
                crate::clock::rfc3339(clear_since)
            ));
            Ok(())
        }
    }
}

/// Where incident tickets say they come from: the incident commander, else the desk.
fn incident_reporter(desk: &Desk) -> Result<EmailAddress, AppError> {
    let from = &desk.mail.from;
    let bare = from
        .rsplit_once('<')
        .and_then(|(_, rest)| rest.strip_suffix('>'))
        .unwrap_or(from);
    desk.model
        .incident_commander
        .as_deref()
        .map(EmailAddress::parse)
        .unwrap_or_else(|| EmailAddress::parse(bare))
        .map_err(AppError::internal_msg)
}

fn open_incident(
    conn: &mut DbConnection,
    desk: &Desk,
    rule: &Rule,
    warehouse: WarehouseType,
    reading: &Reading,
    now: NaiveDateTime,
) -> Result<Option<(Ticket, usize)>, AppError> {
    let reporter = incident_reporter(desk)?;
    write_transaction(conn, |conn| {
        if SignalIncident::open_for(conn, &reading.key)?.is_some() {
            return Ok(None);
        }
        let signal = rule.condition.signal();
        let category = reading.category.unwrap_or(Category::ProfilingFailure);
        let table = reading
            .table
            .as_deref()
            .and_then(|t| TableName::parse(t, Some(warehouse)).ok());
        let spec = DeskTicket {
            kind: ProblemKind::Known(category),
            category,
            severity: rule.severity,
            reasons: vec![format!("threshold rule {} ({signal})", rule.name)],
            reporter_email: reporter.clone(),
            warehouse_type: warehouse,
            table,
            description: format!(
                "Opened by the threshold rule {} ({signal}): {}.\n\nRunbook: {}",
                rule.name,
                reading.measurement,
                crate::runbooks::for_signal(signal).unwrap_or("/runbooks")
            ),
            links: reading.evidence.clone(),
        };
        let ticket = intake::open_desk_ticket(conn, desk, spec, now)?;
        let who = monitor();
        let set = TicketChangeset {
            is_incident: Some(true),
            ..Default::default()
        };
        let note = format!(
            "incident opened by threshold rule {} ({signal}): {}",
            rule.name, reading.measurement
        );
        let ticket = ticket_changes::touch(
            conn,
            &ticket,
            &who,
            &[(EventKind::IncidentDeclared, note, true)],
            set,
            now,
        )?;
        SignalIncident::insert(
            conn,
            &NewSignalIncident {
                signal_key: &reading.key,
                rule: &rule.name,
                signal,
                warehouse_type: warehouse.as_str(),
                ticket_id: ticket.id,
                opened_at: now,
                last_breach_at: now,
                measurement: &reading.measurement,
            },
        )?;
        let attached = attach_related(conn, desk, rule, warehouse, reading, &ticket, now)?;
        Ok(Some((Ticket::find(conn, ticket.id)?, attached)))
    })
}

/// Attach the open analyst reports that belong with this incident: same warehouse type,
/// a related category, filed since the rule's reach before it opened, not already in one.
fn attach_related(
    conn: &mut DbConnection,
    desk: &Desk,
    rule: &Rule,
    warehouse: WarehouseType,
    reading: &Reading,
    incident: &Ticket,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let from = now - rule.condition.reach();
    let children = related_children(conn, desk, rule, warehouse, reading, from, now)?;
    attach_all(conn, incident, &children, now)
}

/// The open reports (id, version) filed from `from` to `now` that belong with an incident
/// of this reading and are in no incident yet (of the desk's own drill, or real ones).
fn related_children(
    conn: &mut DbConnection,
    desk: &Desk,
    rule: &Rule,
    warehouse: WarehouseType,
    reading: &Reading,
    from: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<Vec<(i64, i32)>, AppError> {
    let categories: Vec<Category> = match reading.category {
        Some(c) => vec![c],
        None => rule.condition.related_categories().to_vec(),
    };
    let open = Status::OPEN;
    // The window's tickets of this warehouse type through `tickets_created`, filtered
    // here (see `read`: the planner would walk a status or flag index over every ticket
    // instead).
    type Row = (
        i64,
        i32,
        Category,
        Status,
        bool,
        Option<i64>,
        Option<i64>,
        i64,
    );
    let children: Vec<(i64, i32)> = tickets::table
        .filter(tickets::created_at.ge(from))
        .filter(tickets::created_at.le(now))
        .filter(tickets::warehouse_type.eq(warehouse))
        .select((
            tickets::id,
            tickets::version,
            tickets::category,
            tickets::status,
            tickets::is_incident,
            tickets::parent_id,
            tickets::merged_into,
            tickets::drill,
        ))
        .load::<Row>(conn)?
        .into_iter()
        .filter(
            |(_, _, category, status, incident, parent, merged, drill)| {
                *drill == desk.drill
                    && categories.contains(category)
                    && open.contains(status)
                    && !incident
                    && parent.is_none()
                    && merged.is_none()
            },
        )
        .map(|(id, version, ..)| (id, version))
        .collect();
    Ok(children)
}

/// Attach `children` (id, version) to `incident`, inside the caller's transaction.
fn attach_all(
    conn: &mut DbConnection,
    incident: &Ticket,
    children: &[(i64, i32)],
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    if children.is_empty() {
        return Ok(0);
    }
    let who = monitor();
    let note = format!("attached to incident {} by {}", incident.number(), who.name);
    // A burst can bring hundreds of reports at once: one UPDATE and a few multi-row
    // inserts for all of them, not a read-modify-write per ticket. The same changes as
    // `ticket_changes::touch`: parent set, version bumped, escalation re-armed (the sweep then
    // sees the ticket belongs to an incident and stands it down).
    for chunk in children.chunks(500) {
        let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
        diesel::update(
            tickets::table
                .filter(tickets::id.eq_any(&ids))
                .filter(tickets::parent_id.is_null()),
        )
        .set((
            tickets::parent_id.eq(Some(incident.id)),
            tickets::version.eq(tickets::version + 1),
            tickets::updated_at.eq(now),
            tickets::acknowledged_at.eq(None::<NaiveDateTime>),
            tickets::next_escalation_at.eq(Some(now)),
        ))
        .execute(conn)?;
        let events: Vec<NewEvent<'_>> = chunk
            .iter()
            .map(|(id, version)| NewEvent {
                ticket_id: *id,
                kind: EventKind::IncidentAttached,
                actor: &who.name,
                detail: &note,
                public: true,
                created_at: now,
                version: version + 1,
            })
            .collect();
        Event::insert_many(conn, &events)?;
    }
    // One note on the incident for the lot, not one per report.
    let mut numbers: Vec<String> = children
        .iter()
        .take(20)
        .map(|(id, _)| TicketNumber::of(*id).to_string())
        .collect();
    if children.len() > 20 {
        numbers.push(format!("and {} more", children.len() - 20));
    }
    let summary = format!("{} attached by {}", numbers.join(", "), who.name);
    let incident = Ticket::find(conn, incident.id)?;
    ticket_changes::touch(
        conn,
        &incident,
        &who,
        &[(EventKind::IncidentChildAdded, summary, false)],
        TicketChangeset::default(),
        now,
    )?;
    Ok(children.len())
}

/// The signal stayed below its threshold for the cool-down: resolve the incident with a
/// timeline note; its open reports resolve with it and their reporters hear once each
/// (`incidents::resolve_reports`). An incident an agent resolved already told them.
fn resolve_incident(
    conn: &mut DbConnection,
    desk: &Desk,
    open: &SignalIncident,
    reading: &Reading,
    now: NaiveDateTime,
) -> Result<TicketNumber, AppError> {
    let who = monitor();
    let ticket = Ticket::find(conn, open.ticket_id)?;
    let cool_down = signals::describe(desk.model.signals.cool_down);
    let note = format!(
        "{} stayed below its threshold for {cool_down}: {}",
        open.signal_key, reading.measurement
    );
    if is_open(&ticket) {
        let changes = Changes {
            status: Some(Status::Resolved),
            reason: Some(note),
            ..Changes::default()
        };
        // A concurrent change by an agent wins; the next evaluation tries again.
        if triage::update(conn, desk, &who, ticket.id, ticket.version, &changes)?.is_err() {
            return Ok(ticket.number());
        }
    }
    SignalIncident::resolve(conn, open.id, now)?;
    Ok(ticket.number())
}
