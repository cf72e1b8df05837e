//! `outbox`: emails queued in the same transaction as the change that caused them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::db::DbConnection;
use crate::db::schema::outbox;
use crate::db::unnest::unnest_insert;
use crate::domain::outbox::OutboxStatus;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxMessage {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub template: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    /// While a worker is sending it, nobody else takes it until this passes.
    pub locked_until: Option<NaiveDateTime>,
    /// Messages with the same key to the same recipient within a window are suppressed.
    pub dedupe_key: Option<String>,
    /// The drill whose mail this is, or `LIVE` (0): the live desk delivers only its own.
    pub drill: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = outbox)]
// None binds NULL: one SQL text whatever is missing, so the statement is cached.
#[diesel(treat_none_as_default_value = false)]
pub struct NewOutboxMessage<'a> {
    pub ticket_id: Option<i64>,
    pub template: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub status: OutboxStatus,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub dedupe_key: Option<&'a str>,
    pub drill: i64,
}

unnest_insert!(
    /// Messages queued together, as one PostgreSQL statement.
    UnnestMessages<'a> from NewOutboxMessage<'a> as m, "outbox",
    {
        ticket_id: Nullable<BigInt> => Option<i64> = m.ticket_id,
        template: Text => &'a str = m.template,
        recipient: Text => &'a str = m.recipient,
        subject: Text => &'a str = m.subject,
        body_text: Text => &'a str = m.body_text,
        body_html: Text => &'a str = m.body_html,
        message_id: Text => &'a str = m.message_id,
        in_reply_to: Nullable<Text> => Option<&'a str> = m.in_reply_to,
        status: Text => &'a str = m.status.as_str(),
        next_attempt_at: Timestamp => NaiveDateTime = m.next_attempt_at,
        created_at: Timestamp => NaiveDateTime = m.created_at,
        dedupe_key: Nullable<Text> => Option<&'a str> = m.dedupe_key,
        drill: BigInt => i64 = m.drill,
    }
);

impl OutboxMessage {
    /// Insert messages queued together: on PostgreSQL in one statement (`db::unnest`), on
    /// SQLite one by one through the kept single-row statement.
    pub fn insert_many(
        conn: &mut DbConnection,
        rows: &[NewOutboxMessage<'_>],
    ) -> QueryResult<usize> {
        if let DbConnection::Postgres(pg) = conn {
            return UnnestMessages::insert(pg, rows);
        }
        let mut inserted = 0;
        for row in rows {
            inserted += Self::insert(conn, row)?;
        }
        Ok(inserted)
    }

    pub fn insert(conn: &mut DbConnection, new: &NewOutboxMessage<'_>) -> QueryResult<usize> {
        // The backend's own connection: the same statement, without MultiConnection's
        // per-bind indirection (sweeps queue thousands of these at once).
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(outbox::table).values(new).execute(c),
            DbConnection::Postgres(c) => diesel::insert_into(outbox::table).values(new).execute(c),
        }
    }

    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<OutboxMessage>> {
        outbox::table
            .find(id)
            .select(OutboxMessage::as_select())
            .first(conn)
            .optional()
    }

    /// The message sent with this Message-ID (angle brackets included, as stored).
    pub fn by_message_id(
        conn: &mut DbConnection,
        message_id: &str,
    ) -> QueryResult<Option<OutboxMessage>> {
        outbox::table
            .filter(outbox::message_id.eq(message_id))
            .select(OutboxMessage::as_select())
            .first(conn)
            .optional()
    }

    /// A delivery report said this message did not arrive.
    pub fn mark_bounced(
        conn: &mut DbConnection,
        id: i64,
        detail: &str,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(outbox::table.find(id))
            .set((
                outbox::bounced_at.eq(Some(now)),
                outbox::bounce_detail.eq(Some(detail)),
            ))
            .execute(conn)
    }

    pub fn for_ticket(conn: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<OutboxMessage>> {
        outbox::table
            .filter(outbox::ticket_id.eq(ticket_id))
            .select(OutboxMessage::as_select())
            .order(outbox::id.asc())
            .load(conn)
    }

    pub fn recent(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<OutboxMessage>> {
        outbox::table
            .select(OutboxMessage::as_select())
            .order(outbox::id.desc())
            .limit(limit)
            .load(conn)
    }

    pub fn counts_by_status(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
        // Real mail only: a drill's rehearsal stays out of the depth operators watch.
        outbox::table
            .filter(outbox::drill.eq(crate::domain::drill::LIVE))
            .group_by(outbox::status)
            .select((outbox::status, diesel::dsl::count_star()))
            .order(outbox::status.asc())
            .load(conn)
    }

    /// Queue a message that is not pending or sent again, due `now`.
    pub fn requeue(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
        let changed = diesel::update(
            outbox::table
                .find(id)
                .filter(outbox::status.ne_all([OutboxStatus::Pending, OutboxStatus::Sent])),
        )
        .set((
            outbox::status.eq(OutboxStatus::Pending),
            outbox::next_attempt_at.eq(now),
            outbox::attempts.eq(0),
        ))
        .execute(conn)?;
        Ok(changed == 1)
    }

    /// Was a message with this key queued to this recipient since `since`?
    pub fn recently_queued(
        conn: &mut DbConnection,
        recipient: &str,
        key: &str,
        since: NaiveDateTime,
    ) -> QueryResult<bool> {
        let n: i64 = outbox::table
            .filter(outbox::recipient.eq(recipient))
            .filter(outbox::dedupe_key.eq(key))
            .filter(outbox::created_at.ge(since))
            .count()
            .get_result(conn)?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::InstrumentationEvent;
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    use super::OutboxMessage;
    use crate::db::{DbConnection, migrate};

    #[derive(QueryableByName)]
    struct PlanStep {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    /// The outbox's de-duplication lookup (status notices, escalation steps) is served by
    /// `outbox_dedupe`, which holds only messages with a key (migration 000012).
    #[test]
    fn the_dedupe_lookup_uses_its_partial_index() {
        let mut conn = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        migrate::run_pending(&mut conn).unwrap();
        // The SQL of every statement from here on: the lookup's, then the plan's own.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                log.lock().unwrap().push(query.to_string());
            }
        });
        let since = chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let found =
            OutboxMessage::recently_queued(&mut conn, "ana@example.com", "INS-1:step:1", since)
                .unwrap();
        assert!(!found);
        let queries = seen.lock().unwrap().clone();
        let lookup = queries
            .iter()
            .find(|q| q.contains("dedupe_key"))
            .expect("the lookup ran");
        // "SQL -- binds: […]": the plan of the SQL, its parameters unbound.
        let sql = lookup.split(" -- binds").next().unwrap();
        let plan: Vec<PlanStep> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load(&mut conn)
            .unwrap();
        let plan: Vec<&str> = plan.iter().map(|s| s.detail.as_str()).collect();
        assert!(
            plan.iter().any(|d| d.contains("USING INDEX outbox_dedupe")),
            "plan of {sql}: {plan:?}"
        );
    }
}
