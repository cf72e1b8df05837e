//! `ticket_runs`: which profiling runs a ticket is linked to, and why.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};

use crate::db::DbConnection;
use crate::db::schema::{runs, ticket_runs, tickets};
use crate::db::unnest::unnest_insert;
use crate::domain::category::Category;
use crate::domain::run::RunStatus;
use crate::domain::severity::Severity;
use crate::domain::status::Status;
use crate::domain::ticket_number::TicketNumber;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ticket_runs)]
pub struct TicketRun {
    pub ticket_id: i64,
    pub run_id: String,
    pub reason: String,
    pub position: i32,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = ticket_runs)]
// None binds NULL: one SQL text whatever is missing, so the statement is cached.
#[diesel(treat_none_as_default_value = false)]
pub struct NewTicketRun<'a> {
    pub ticket_id: i64,
    pub run_id: &'a str,
    pub reason: &'a str,
    pub position: i32,
    pub created_at: NaiveDateTime,
}

/// A link with the run's current status, when the desk has that run.
#[derive(Debug, Clone, Queryable)]
pub struct LinkedRun {
    pub run_id: String,
    pub reason: String,
    pub status: Option<RunStatus>,
    pub started_at: Option<NaiveDateTime>,
    pub error: Option<String>,
}

/// A ticket linked to a run, as the run page lists it.
#[derive(Debug, Clone, Queryable)]
pub struct LinkedTicket {
    pub ticket_id: i64,
    pub status: Status,
    pub category: Category,
    pub severity: Severity,
    pub team: String,
    pub reason: String,
    pub linked_at: NaiveDateTime,
}

impl LinkedTicket {
    /// The human number, `INS-1042`.
    pub fn number(&self) -> TicketNumber {
        TicketNumber::of(self.ticket_id)
    }
}

unnest_insert!(
    /// A ticket's run links as one PostgreSQL statement.
    UnnestLinks<'a> from NewTicketRun<'a> as link, "ticket_runs",
    {
        ticket_id: BigInt => i64 = link.ticket_id,
        run_id: Text => &'a str = link.run_id,
        reason: Text => &'a str = link.reason,
        position: Integer => i32 = link.position,
        created_at: Timestamp => NaiveDateTime = link.created_at,
    }
);

impl TicketRun {
    pub fn insert_many(conn: &mut DbConnection, links: &[NewTicketRun<'_>]) -> QueryResult<usize> {
        if let DbConnection::Postgres(pg) = conn {
            return UnnestLinks::insert(pg, links);
        }
        let mut inserted = 0;
        for link in links {
            inserted += diesel::insert_into(ticket_runs::table)
                .values(link)
                .execute(conn)?;
        }
        Ok(inserted)
    }

    /// Linked run ids of many tickets at once, in link order.
    pub fn run_ids_for(
        conn: &mut DbConnection,
        ticket_ids: &[i64],
    ) -> QueryResult<std::collections::HashMap<i64, Vec<String>>> {
        let rows: Vec<(i64, String)> = ticket_runs::table
            .filter(ticket_runs::ticket_id.eq_any(ticket_ids))
            .order((
                ticket_runs::ticket_id.asc(),
                ticket_runs::created_at.asc(),
                ticket_runs::position.asc(),
            ))
            .select((ticket_runs::ticket_id, ticket_runs::run_id))
            .load(conn)?;
        let mut map = std::collections::HashMap::new();
        for (ticket_id, run_id) in rows {
            map.entry(ticket_id).or_insert_with(Vec::new).push(run_id);
        }
        Ok(map)
    }

    pub fn delete(conn: &mut DbConnection, ticket_id: i64, run_id: &str) -> QueryResult<usize> {
        diesel::delete(ticket_runs::table.find((ticket_id, run_id))).execute(conn)
    }

    /// Tickets linked to a run, oldest link first.
    pub fn tickets_for_run(
        conn: &mut DbConnection,
        run_id: &str,
    ) -> QueryResult<Vec<LinkedTicket>> {
        ticket_runs::table
            .inner_join(tickets::table)
            .filter(ticket_runs::run_id.eq(run_id))
            .order((ticket_runs::created_at.asc(), tickets::id.asc()))
            .select((
                tickets::id,
                tickets::status,
                tickets::category,
                tickets::severity,
                tickets::team,
                ticket_runs::reason,
                ticket_runs::created_at,
            ))
            .load(conn)
    }

    pub fn for_ticket(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<LinkedRun>> {
        ticket_runs::table
            .left_join(runs::table.on(runs::run_id.eq(ticket_runs::run_id)))
            .filter(ticket_runs::ticket_id.eq(ticket_id))
            .order((ticket_runs::created_at.asc(), ticket_runs::position.asc()))
            .select((
                ticket_runs::run_id,
                ticket_runs::reason,
                runs::status.nullable(),
                runs::started_at.nullable(),
                runs::error.nullable(),
            ))
            .load(conn)
    }
}
