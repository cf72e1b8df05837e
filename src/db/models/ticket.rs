//! `tickets`: one analyst problem.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::tickets;
use crate::domain::category::{Category, ProblemKind, TypeVerdict};
use crate::domain::severity::{Impact, Severity};
use crate::domain::status::Status;
use crate::domain::ticket_number::TicketNumber;
use crate::domain::warehouse::WarehouseType;

diesel::define_sql_function!(
    /// SQLite's rowid of the connection's latest insert.
    fn last_insert_rowid() -> diesel::sql_types::BigInt
);

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tickets)]
pub struct Ticket {
    pub id: i64,
    pub tracking_token: String,
    pub submission_key: Option<String>,
    pub status: Status,
    pub kind: ProblemKind,
    pub category: Category,
    pub confidence: f64,
    pub classification_reasons: String,
    pub severity: Severity,
    pub severity_reasons: String,
    pub team: String,
    pub routing_rule: String,
    pub routing_reason: String,
    pub reporter_name: Option<String>,
    pub reporter_email: String,
    pub warehouse_type: Option<WarehouseType>,
    pub table_name: Option<String>,
    pub column_name: Option<String>,
    pub detected_type: Option<String>,
    pub expected_type: Option<String>,
    pub run_ref: Option<String>,
    pub impact: Option<Impact>,
    pub description: String,
    pub first_response_due: NaiveDateTime,
    pub resolution_due: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    pub assignee_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub is_incident: bool,
    pub merged_into: Option<i64>,
    pub type_verdict: Option<TypeVerdict>,
    pub reclassified: bool,
    pub first_responded_at: Option<NaiveDateTime>,
    pub sla_due_at: NaiveDateTime,
    pub sla_warn_at: NaiveDateTime,
    pub next_escalation_at: Option<NaiveDateTime>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub paused_at: Option<NaiveDateTime>,
    /// The drill that made this ticket, or `LIVE` (0) for real work.
    pub drill: i64,
}

/// A ticket with the submission key that made it and that submission's fingerprint.
pub type KeyedTicket = (Ticket, Option<String>, Option<String>);

#[derive(Debug, Insertable)]
#[diesel(table_name = tickets)]
// None binds NULL: one SQL text whatever is missing, so the statement is cached.
#[diesel(treat_none_as_default_value = false)]
pub struct NewTicket<'a> {
    pub tracking_token: &'a str,
    pub submission_key: Option<&'a str>,
    /// Who sent the submission key and what with (`domain::submission`).
    pub submission_fingerprint: Option<&'a str>,
    pub status: Status,
    pub kind: ProblemKind,
    pub category: Category,
    pub confidence: f64,
    pub classification_reasons: &'a str,
    pub severity: Severity,
    pub severity_reasons: &'a str,
    pub team: &'a str,
    pub routing_rule: &'a str,
    pub routing_reason: &'a str,
    pub reporter_name: Option<&'a str>,
    pub reporter_email: &'a str,
    pub warehouse_type: Option<WarehouseType>,
    pub table_name: Option<&'a str>,
    pub column_name: Option<&'a str>,
    pub detected_type: Option<&'a str>,
    pub expected_type: Option<&'a str>,
    pub run_ref: Option<&'a str>,
    pub impact: Option<Impact>,
    pub description: &'a str,
    pub first_response_due: NaiveDateTime,
    pub resolution_due: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub sla_due_at: NaiveDateTime,
    pub sla_warn_at: NaiveDateTime,
    pub next_escalation_at: Option<NaiveDateTime>,
    pub drill: i64,
}

impl Ticket {
    /// The human number, `INS-1042`.
    pub fn number(&self) -> TicketNumber {
        TicketNumber::of(self.id)
    }

    /// Insert and return the stored row (its id, number and defaults).
    pub fn insert(conn: &mut DbConnection, new: &NewTicket<'_>) -> QueryResult<Ticket> {
        // Per backend: diesel's RETURNING of a whole selectable does not go through
        // the multi-backend connection.
        let insert = diesel::insert_into(tickets::table).values(new);
        match conn {
            // No RETURNING on SQLite: SQLite runs it as a trigger, and a statement with a
            // trigger keeps a statement journal (a copy of every page it first changes, in
            // case it has to be undone half-way), which showed in the report writer's
            // profile. The row is read back by its new id instead, from pages the insert
            // just cached.
            DbConnection::Sqlite(c) => {
                insert.execute(c)?;
                let id = diesel::select(last_insert_rowid()).get_result::<i64>(c)?;
                Self::find(conn, id)
            }
            DbConnection::Postgres(c) => insert.returning(Ticket::as_returning()).get_result(c),
        }
    }

    /// Insert several tickets; they come back in the order of `new`. On PostgreSQL one
    /// statement for all of them (a group of reports, `db::group`).
    pub fn insert_many(conn: &mut DbConnection, new: &[NewTicket<'_>]) -> QueryResult<Vec<Ticket>> {
        let pg = match conn {
            DbConnection::Postgres(pg) if new.len() > 1 => pg,
            // One kept statement a ticket; a multi-row one only pays for several.
            _ => return new.iter().map(|row| Self::insert(conn, row)).collect(),
        };
        let inserted: Vec<Ticket> = diesel::insert_into(tickets::table)
            .values(new)
            .returning(Ticket::as_returning())
            .get_results(pg)?;
        // RETURNING promises no order: match each row to its tracking token.
        let mut by_token: std::collections::HashMap<String, Ticket> = inserted
            .into_iter()
            .map(|ticket| (ticket.tracking_token.clone(), ticket))
            .collect();
        new.iter()
            .map(|row| {
                by_token.remove(row.tracking_token).ok_or_else(|| {
                    crate::db::error::database_error("an inserted ticket did not come back")
                })
            })
            .collect()
    }

    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Ticket> {
        tickets::table
            .find(id)
            .select(Ticket::as_select())
            .first(conn)
    }

    pub fn find_by_token(conn: &mut DbConnection, token: &str) -> QueryResult<Ticket> {
        tickets::table
            .filter(tickets::tracking_token.eq(token))
            .select(Ticket::as_select())
            .first(conn)
    }

    /// The ticket a submission key made, with the fingerprint it was made with (`None`
    /// for tickets written before fingerprints were).
    pub fn find_by_submission_key(
        conn: &mut DbConnection,
        key: &str,
    ) -> QueryResult<Option<(Ticket, Option<String>)>> {
        tickets::table
            .filter(tickets::submission_key.eq(key))
            .select((Ticket::as_select(), tickets::submission_fingerprint))
            .first(conn)
            .optional()
    }

    /// The tickets these submission keys made (`KeyedTicket`).
    pub fn find_by_submission_keys(
        conn: &mut DbConnection,
        keys: &[&str],
    ) -> QueryResult<Vec<KeyedTicket>> {
        // One key at a time where a round trip costs nothing (SQLite) or there is one: that
        // statement is kept prepared, while `IN` is new SQL for every number of keys.
        if matches!(conn, DbConnection::Sqlite(_)) || keys.len() == 1 {
            let mut found = Vec::new();
            for key in keys {
                if let Some((ticket, fingerprint)) = Self::find_by_submission_key(conn, key)? {
                    found.push((ticket, Some(key.to_string()), fingerprint));
                }
            }
            return Ok(found);
        }
        tickets::table
            .filter(tickets::submission_key.eq_any(keys))
            .select((
                Ticket::as_select(),
                tickets::submission_key,
                tickets::submission_fingerprint,
            ))
            .load(conn)
    }

    /// A reporter's tickets, newest first.
    pub fn for_reporter(
        conn: &mut DbConnection,
        email: &str,
        limit: i64,
    ) -> QueryResult<Vec<Ticket>> {
        tickets::table
            .filter(tickets::reporter_email.eq(email))
            .select(Ticket::as_select())
            .order(tickets::id.desc())
            .limit(limit)
            .load(conn)
    }

    /// Replace the tracking token: the old link stops working.
    pub fn set_tracking_token(
        conn: &mut DbConnection,
        id: i64,
        token: &str,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(tickets::table.find(id))
            .set((
                tickets::tracking_token.eq(token),
                tickets::updated_at.eq(at),
            ))
            .execute(conn)
    }

    /// Open tickets assigned to a user (auto-assignment balances on this).
    pub fn open_assigned_count(conn: &mut DbConnection, user_id: i64) -> QueryResult<i64> {
        tickets::table
            .filter(tickets::assignee_id.eq(user_id))
            .filter(tickets::status.eq_any(Status::OPEN))
            .count()
            .get_result(conn)
    }

    /// Tickets attached to an incident, oldest first.
    pub fn children(conn: &mut DbConnection, incident_id: i64) -> QueryResult<Vec<Ticket>> {
        tickets::table
            .filter(tickets::parent_id.eq(incident_id))
            .select(Ticket::as_select())
            .order(tickets::id.asc())
            .load(conn)
    }

    /// The reports attached to any of these incidents, oldest first.
    pub fn children_of_any(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<Ticket>> {
        tickets::table
            .filter(tickets::parent_id.eq_any(ids))
            .select(Ticket::as_select())
            .order(tickets::id.asc())
            .load(conn)
    }

    /// Tickets merged into any of `ids`, oldest first.
    pub fn merged_into_any(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<Ticket>> {
        tickets::table
            .filter(tickets::merged_into.eq_any(ids))
            .select(Ticket::as_select())
            .order(tickets::id.asc())
            .load(conn)
    }

    /// Tickets whose category an agent corrected: the classifier's misses.
    pub fn reclassified_count(conn: &mut DbConnection) -> QueryResult<i64> {
        tickets::table
            .filter(tickets::reclassified.eq(true))
            .count()
            .get_result(conn)
    }

    pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
        tickets::table.count().get_result(conn)
    }

    /// The oldest open report (not an incident, not merged) of the live desk.
    pub fn first_open(conn: &mut DbConnection) -> QueryResult<Option<Ticket>> {
        use crate::domain::status::Status;
        tickets::table
            .filter(tickets::status.eq_any([Status::New, Status::Triaged, Status::InProgress]))
            .filter(tickets::is_incident.eq(false))
            .filter(tickets::merged_into.is_null())
            .filter(tickets::drill.eq(crate::domain::drill::LIVE))
            .order(tickets::id.asc())
            .select(Ticket::as_select())
            .first(conn)
            .optional()
    }

    /// Reasons are stored as a JSON array of strings.
    pub fn classification_reasons(&self) -> Vec<String> {
        serde_json::from_str(&self.classification_reasons).unwrap_or_default()
    }

    pub fn severity_reasons(&self) -> Vec<String> {
        serde_json::from_str(&self.severity_reasons).unwrap_or_default()
    }
}
