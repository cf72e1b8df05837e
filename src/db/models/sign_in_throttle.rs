//! `sign_in_throttle`: failed sign-ins per account email and client address, and until
//! when that address must wait (rules in `domain::sign_in_throttle`).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::AstPass;
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Text, Timestamp};
use ref_cast::RefCast;

use crate::db::schema::sign_in_throttle;
use crate::db::{DbConnection, Stamp, UpsertRow, upsert};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sign_in_throttle)]
pub struct SignInThrottle {
    /// As typed at sign-in, trimmed and lowercased; not necessarily an account's.
    pub email: String,
    /// `domain::sign_in_throttle::client_key`.
    pub client: String,
    /// Failures in a row.
    pub failures: i32,
    pub last_failure_at: NaiveDateTime,
    /// No sign-in from this client for this email before then.
    pub locked_until: Option<NaiveDateTime>,
}

/// One more failure: the first, or one added to those stored. One statement, so
/// failures that arrive together on several instances all count.
struct Failure {
    email: String,
    client: String,
    at: NaiveDateTime,
}

impl<DB> UpsertRow<DB> for Failure
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Timestamp>,
    String: ToSql<Text, DB>,
    Stamp: ToSql<Timestamp, DB>,
{
    const INTO: &'static str = "sign_in_throttle (email, client, failures, last_failure_at)";
    const ON_CONFLICT: &'static str = "ON CONFLICT (email, client) DO UPDATE SET \
        failures = sign_in_throttle.failures + 1, last_failure_at = excluded.last_failure_at";

    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_bind_param::<Text, _>(&self.email)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.client)?;
        out.push_sql(", 1, ");
        out.push_bind_param::<Timestamp, _>(Stamp::ref_cast(&self.at))
    }
}

impl SignInThrottle {
    pub fn find(
        conn: &mut DbConnection,
        email: &str,
        client: &str,
    ) -> QueryResult<Option<SignInThrottle>> {
        sign_in_throttle::table
            .find((email, client))
            .select(SignInThrottle::as_select())
            .first(conn)
            .optional()
    }

    /// Count a failure at `at` and return the row as it now stands. Failures before
    /// `forget_before` no longer count: the count starts again. Call inside a write
    /// transaction.
    pub fn record_failure(
        conn: &mut DbConnection,
        email: &str,
        client: &str,
        at: NaiveDateTime,
        forget_before: NaiveDateTime,
    ) -> QueryResult<SignInThrottle> {
        diesel::delete(
            sign_in_throttle::table
                .find((email, client))
                .filter(sign_in_throttle::last_failure_at.lt(forget_before)),
        )
        .execute(conn)?;
        let failure = Failure {
            email: email.to_string(),
            client: client.to_string(),
            at,
        };
        upsert(conn, &[failure], 1)?;
        sign_in_throttle::table
            .find((email, client))
            .select(SignInThrottle::as_select())
            .first(conn)
    }

    pub fn lock(
        conn: &mut DbConnection,
        email: &str,
        client: &str,
        until: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(sign_in_throttle::table.find((email, client)))
            .set(sign_in_throttle::locked_until.eq(Some(until)))
            .execute(conn)
    }

    /// Forget this client's failures for this email (it signed in).
    pub fn clear(conn: &mut DbConnection, email: &str, client: &str) -> QueryResult<usize> {
        diesel::delete(sign_in_throttle::table.find((email, client))).execute(conn)
    }

    /// Remove rows whose last failure is before `cutoff` (the hourly clean-up).
    pub fn delete_before(conn: &mut DbConnection, cutoff: NaiveDateTime) -> QueryResult<usize> {
        diesel::delete(sign_in_throttle::table.filter(sign_in_throttle::last_failure_at.lt(cutoff)))
            .execute(conn)
    }

    /// Emails with clients locked out at `now`, and how many clients each.
    pub fn locked_clients(
        conn: &mut DbConnection,
        now: NaiveDateTime,
    ) -> QueryResult<HashMap<String, usize>> {
        let emails: Vec<String> = sign_in_throttle::table
            .filter(sign_in_throttle::locked_until.gt(now))
            .select(sign_in_throttle::email)
            .load(conn)?;
        let mut counts = HashMap::new();
        for email in emails {
            *counts.entry(email).or_insert(0) += 1;
        }
        Ok(counts)
    }
}
