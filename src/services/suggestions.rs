//! What an agent picks from to merge or attach a ticket, instead of typing a number: the
//! open tickets that look like the same problem, and the open incidents.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::models::ticket::Ticket;
use crate::db::schema::{ticket_runs, tickets};
use crate::domain::status::Status;
use crate::domain::text::first_line;
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::incidents;

/// How far back a report on the same table counts as a likely duplicate.
pub const DUPLICATE_WINDOW: TimeDelta = TimeDelta::days(7);

/// How much of a report's first line a picker shows.
const SUMMARY_CHARS: usize = 90;

/// Most candidates offered in one list.
const MAX_CANDIDATES: usize = 10;

/// A ticket offered in a picker.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub number: TicketNumber,
    /// The report's first line, shortened.
    pub summary: String,
    /// When it was filed (an incident: when it opened).
    pub since: NaiveDateTime,
    /// Why it is offered, in words ("same table and column", "3 reports").
    pub why: String,
}

/// Open tickets that likely report the same problem as `ticket`: on the same table and
/// column (or category) and filed in the last `DUPLICATE_WINDOW`, or linked to one of its
/// runs. Newest first; incidents and merged tickets are not offered.
pub fn duplicates(
    conn: &mut DbConnection,
    ticket: &Ticket,
    now: NaiveDateTime,
) -> Result<Vec<Candidate>, AppError> {
    let open = || {
        tickets::table
            .filter(tickets::id.ne(ticket.id))
            .filter(tickets::status.eq_any(Status::OPEN))
            .filter(tickets::merged_into.is_null())
            .filter(tickets::is_incident.eq(false))
            .filter(tickets::drill.eq(ticket.drill))
            .order(tickets::id.desc())
            .limit(MAX_CANDIDATES as i64)
    };
    let mut found: Vec<Candidate> = Vec::new();
    if let Some(table) = ticket.table_name.as_deref() {
        let same_table = open()
            .filter(tickets::table_name.eq(table))
            .filter(tickets::created_at.ge(now - DUPLICATE_WINDOW));
        let rows: Vec<Ticket> = match ticket.column_name.as_deref() {
            Some(column) => same_table
                .filter(
                    tickets::column_name
                        .eq(column)
                        .or(tickets::category.eq(ticket.category).nullable()),
                )
                .select(Ticket::as_select())
                .load(conn)?,
            None => same_table
                .filter(tickets::category.eq(ticket.category))
                .select(Ticket::as_select())
                .load(conn)?,
        };
        for t in rows {
            let same_column = t.column_name.is_some() && t.column_name == ticket.column_name;
            let why = if same_column {
                "same table and column"
            } else {
                "same table and category"
            };
            found.push(candidate(&t, why.into()));
        }
    }
    let runs: Vec<String> = ticket_runs::table
        .filter(ticket_runs::ticket_id.eq(ticket.id))
        .select(ticket_runs::run_id)
        .load(conn)?;
    if !runs.is_empty() {
        let sharing: Vec<(i64, String)> = ticket_runs::table
            .filter(ticket_runs::run_id.eq_any(&runs))
            .filter(ticket_runs::ticket_id.ne(ticket.id))
            .select((ticket_runs::ticket_id, ticket_runs::run_id))
            .load(conn)?;
        let ids: Vec<i64> = sharing.iter().map(|(id, _)| *id).collect();
        let rows: Vec<Ticket> = open()
            .filter(tickets::id.eq_any(&ids))
            .select(Ticket::as_select())
            .load(conn)?;
        for t in rows {
            if found.iter().any(|c| c.number == t.number()) {
                continue;
            }
            let run = sharing
                .iter()
                .find(|(id, _)| *id == t.id)
                .map_or("", |(_, run)| run.as_str());
            found.push(candidate(&t, format!("shares run {run}")));
        }
    }
    found.sort_by_key(|c| std::cmp::Reverse(c.since));
    found.truncate(MAX_CANDIDATES);
    Ok(found)
}

/// The open incidents `ticket` could be attached to, newest first, with their reports.
pub fn incidents(conn: &mut DbConnection, ticket: &Ticket) -> Result<Vec<Candidate>, AppError> {
    let mut open = incidents::open_incidents(conn, ticket.drill)?;
    open.retain(|i| i.ticket.id != ticket.id);
    open.reverse();
    Ok(open
        .into_iter()
        .take(MAX_CANDIDATES)
        .map(|i| {
            let reports = match i.linked_tickets.len() {
                0 => "no report attached yet".to_string(),
                1 => "1 report".to_string(),
                n => format!("{} reports", crate::domain::humanize::number(n as i64)),
            };
            Candidate {
                number: i.ticket.number(),
                summary: first_line(&i.ticket.description, SUMMARY_CHARS),
                since: i.opened_at,
                why: reports,
            }
        })
        .collect())
}

fn candidate(ticket: &Ticket, why: String) -> Candidate {
    Candidate {
        number: ticket.number(),
        summary: first_line(&ticket.description, SUMMARY_CHARS),
        since: ticket.created_at,
        why,
    }
}
