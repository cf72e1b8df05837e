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
    UnnestEvents<'a>, "ticket_events", "ticket_id, kind, actor, detail, public, created_at, version",
    {
        ticket_id: BigInt => i64,
        kind: Text => &'a str,
        actor: Text => &'a str,
        detail: Text => &'a str,
        public: Bool => bool,
        created_at: Timestamp => NaiveDateTime,
        version: Integer => i32,
    }
);

impl Event {
    /// Insert events: on PostgreSQL all of them in one kept statement (`db::unnest`); on
    /// SQLite one by one through the kept single-row statement (`db::row_by_row` says
    /// why), on its own connection.
    pub fn insert_many(conn: &mut DbConnection, events: &[NewEvent<'_>]) -> QueryResult<usize> {
        match conn {
            DbConnection::Postgres(_) if events.is_empty() => Ok(0),
            DbConnection::Postgres(pg) => {
                let mut rows = UnnestEvents::default();
                for e in events {
                    rows.ticket_id.push(e.ticket_id);
                    rows.kind.push(e.kind.as_str());
                    rows.actor.push(e.actor);
                    rows.detail.push(e.detail);
                    rows.public.push(e.public);
                    rows.created_at.push(e.created_at);
                    rows.version.push(e.version);
                }
                rows.execute(pg)
            }
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
