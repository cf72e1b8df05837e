//! `ticket_escalations`: each escalation step a ticket reached, once.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::ticket_escalations;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ticket_escalations)]
pub struct TicketEscalation {
    pub id: i64,
    pub ticket_id: i64,
    pub step: String,
    pub at: NaiveDateTime,
    /// Comma-separated addresses notified.
    pub recipients: String,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub acknowledged_by: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = ticket_escalations)]
// None binds NULL: one SQL text whatever is missing, so the statement is cached.
#[diesel(treat_none_as_default_value = false)]
pub struct NewTicketEscalation<'a> {
    pub ticket_id: i64,
    pub step: &'a str,
    pub at: NaiveDateTime,
    pub recipients: &'a str,
}

impl TicketEscalation {
    /// Record a step; a second record of the same step fails on the unique key.
    pub fn insert(conn: &mut DbConnection, new: &NewTicketEscalation<'_>) -> QueryResult<usize> {
        diesel::insert_into(ticket_escalations::table)
            .values(new)
            .execute(conn)
    }

    pub fn for_ticket(
        conn: &mut DbConnection,
        ticket_id: i64,
    ) -> QueryResult<Vec<TicketEscalation>> {
        ticket_escalations::table
            .filter(ticket_escalations::ticket_id.eq(ticket_id))
            .select(TicketEscalation::as_select())
            .order(ticket_escalations::id.asc())
            .load(conn)
    }

    pub fn find(
        conn: &mut DbConnection,
        ticket_id: i64,
        step: &str,
    ) -> QueryResult<Option<TicketEscalation>> {
        ticket_escalations::table
            .filter(ticket_escalations::ticket_id.eq(ticket_id))
            .filter(ticket_escalations::step.eq(step))
            .select(TicketEscalation::as_select())
            .first(conn)
            .optional()
    }

    /// Mark every unacknowledged step of a ticket acknowledged.
    pub fn acknowledge_all(
        conn: &mut DbConnection,
        ticket_id: i64,
        by: &str,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            ticket_escalations::table
                .filter(ticket_escalations::ticket_id.eq(ticket_id))
                .filter(ticket_escalations::acknowledged_at.is_null()),
        )
        .set((
            ticket_escalations::acknowledged_at.eq(Some(at)),
            ticket_escalations::acknowledged_by.eq(Some(by)),
        ))
        .execute(conn)
    }

    /// Every step of many tickets, by ticket, oldest first.
    pub fn for_tickets(
        conn: &mut DbConnection,
        ticket_ids: &[i64],
    ) -> QueryResult<std::collections::HashMap<i64, Vec<TicketEscalation>>> {
        let rows: Vec<TicketEscalation> = ticket_escalations::table
            .filter(ticket_escalations::ticket_id.eq_any(ticket_ids))
            .select(TicketEscalation::as_select())
            .order(ticket_escalations::id.asc())
            .load(conn)?;
        let mut map = std::collections::HashMap::new();
        for row in rows {
            map.entry(row.ticket_id).or_insert_with(Vec::new).push(row);
        }
        Ok(map)
    }
}
