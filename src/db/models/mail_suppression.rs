//! `mail_suppressions`: addresses that hard-bounced and get no more mail until cleared.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::mail_suppressions;

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = mail_suppressions)]
pub struct MailSuppression {
    pub address: String,
    /// The remote server's words: "550 5.1.1 … user unknown".
    pub reason: String,
    pub outbox_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

impl MailSuppression {
    /// Hold mail to `address` (lower-case); a second bounce keeps the first record.
    pub fn add(
        conn: &mut DbConnection,
        address: &str,
        reason: &str,
        outbox_id: Option<i64>,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        let insert = diesel::insert_into(mail_suppressions::table)
            .values((
                mail_suppressions::address.eq(address),
                mail_suppressions::reason.eq(reason),
                mail_suppressions::outbox_id.eq(outbox_id),
                mail_suppressions::created_at.eq(now),
            ))
            .on_conflict(mail_suppressions::address)
            .do_nothing();
        // ON CONFLICT goes through each backend's own connection, not the multi-backend one.
        match conn {
            DbConnection::Sqlite(c) => insert.execute(c),
            DbConnection::Postgres(c) => insert.execute(c),
        }
    }

    /// Every held address with its reason.
    pub fn all(conn: &mut DbConnection) -> QueryResult<std::collections::HashMap<String, String>> {
        mail_suppressions::table
            .select((mail_suppressions::address, mail_suppressions::reason))
            .load::<(String, String)>(conn)
            .map(|rows| rows.into_iter().collect())
    }

    /// Every held address, the latest first.
    pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<MailSuppression>> {
        mail_suppressions::table
            .order(mail_suppressions::created_at.desc())
            .select(MailSuppression::as_select())
            .load(conn)
    }

    pub fn find(conn: &mut DbConnection, address: &str) -> QueryResult<Option<MailSuppression>> {
        mail_suppressions::table
            .find(address.trim().to_lowercase())
            .select(MailSuppression::as_select())
            .first(conn)
            .optional()
    }

    /// Let mail to `address` go out again; false when it was not held.
    pub fn clear(conn: &mut DbConnection, address: &str) -> QueryResult<bool> {
        diesel::delete(mail_suppressions::table.find(address.trim().to_lowercase()))
            .execute(conn)
            .map(|n| n > 0)
    }
}
