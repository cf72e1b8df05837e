//! `ticket_events`: the timeline of a ticket.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Text, Timestamp};

use crate::db::DbConnection;
use crate::db::schema::ticket_events;
use crate::db::unnest::unnest_insert;
use crate::domain::event::EventKind;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ticket_events)]
pub struct Event {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: EventKind,
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
    pub kind: EventKind,
    pub actor: &'a str,
    pub detail: &'a str,
    pub public: bool,
    pub created_at: NaiveDateTime,
    pub version: i32,
}

unnest_insert!(
    /// A batch of timeline events as one PostgreSQL statement.
    UnnestEvents<'a> from NewEvent<'a> as e, "ticket_events",
    {
        ticket_id: BigInt => i64 = e.ticket_id,
        kind: Text => &'a str = e.kind.as_str(),
        actor: Text => &'a str = e.actor,
        detail: Text => &'a str = e.detail,
        public: Bool => bool = e.public,
        created_at: Timestamp => NaiveDateTime = e.created_at,
        version: Integer => i32 = e.version,
    }
);

impl Event {
    /// Insert events: on PostgreSQL all of them in one kept statement (`db::unnest`); on
    /// SQLite one by one through the kept single-row statement (`db::row_by_row` says
    /// why), on its own connection.
    pub fn insert_many(conn: &mut DbConnection, events: &[NewEvent<'_>]) -> QueryResult<usize> {
        match conn {
            DbConnection::Postgres(pg) => UnnestEvents::insert(pg, events),
            DbConnection::Sqlite(c) => {
                for event in events {
                    diesel::insert_into(ticket_events::table)
                        .values(event)
                        .execute(c)?;
                }
                Ok(events.len())
            }
        }
    }

    /// The id of the newest entry of `kind` on a ticket: the one just written, inside the
    /// transaction that wrote it (files and inbound mail point at it).
    pub fn newest_of_kind(
        conn: &mut DbConnection,
        ticket_id: i64,
        kind: EventKind,
    ) -> QueryResult<Option<i64>> {
        ticket_events::table
            .filter(ticket_events::ticket_id.eq(ticket_id))
            .filter(ticket_events::kind.eq(kind))
            .order(ticket_events::id.desc())
            .select(ticket_events::id)
            .first(conn)
            .optional()
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
