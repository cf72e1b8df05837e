//! `ticket_events`: the timeline of a ticket.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::ticket_events;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ticket_events)]
pub struct Event {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: String,
    pub actor: String,
    pub detail: String,
    pub public: bool,
    pub created_at: NaiveDateTime,
    /// The ticket's version after this event.
    pub version: i32,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = ticket_events)]
// None binds NULL: one SQL text whatever is missing, so the statement is cached.
#[diesel(treat_none_as_default_value = false)]
pub struct NewEvent<'a> {
    pub ticket_id: i64,
    pub kind: &'a str,
    pub actor: &'a str,
    pub detail: &'a str,
    pub public: bool,
    pub created_at: NaiveDateTime,
    pub version: i32,
}

impl Event {
    pub fn insert_many(conn: &mut DbConnection, events: &[NewEvent<'_>]) -> QueryResult<usize> {
        if events.is_empty() {
            return Ok(0);
        }
        // One multi-row statement on the backend's own connection: multi-row VALUES does
        // not compile through MultiConnection, and a statement per row is most of the
        // cost of a busy timeline (intake, sweeps).
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(ticket_events::table)
                .values(events)
                .execute(c),
            DbConnection::Postgres(c) => diesel::insert_into(ticket_events::table)
                .values(events)
                .execute(c),
        }
    }

    /// The timeline, oldest first; `public_only` hides internal events from analysts.
    pub fn for_ticket(
        conn: &mut DbConnection,
        ticket_id: i64,
        public_only: bool,
    ) -> QueryResult<Vec<Event>> {
        let mut query = ticket_events::table
            .filter(ticket_events::ticket_id.eq(ticket_id))
            .select(Event::as_select())
            .order(ticket_events::id.asc())
            .into_boxed();
        if public_only {
            query = query.filter(ticket_events::public.eq(true));
        }
        query.load(conn)
    }

    /// What happened to a ticket after `version`: the changes a stale writer missed.
    pub fn since_version(
        conn: &mut DbConnection,
        ticket_id: i64,
        version: i32,
    ) -> QueryResult<Vec<Event>> {
        ticket_events::table
            .filter(ticket_events::ticket_id.eq(ticket_id))
            .filter(ticket_events::version.gt(version))
            .select(Event::as_select())
            .order(ticket_events::id.asc())
            .load(conn)
    }
}
