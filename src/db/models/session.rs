//! `sessions`: server-side session state behind the session cookie.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::sessions;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
// None binds NULL: one SQL text whatever is missing, so the statement is cached.
#[diesel(treat_none_as_default_value = false)]
pub struct SessionRow {
    pub key_hash: String,
    pub user_id: Option<i64>,
    pub state: String,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

impl SessionRow {
    pub fn insert(conn: &mut DbConnection, row: &SessionRow) -> QueryResult<usize> {
        diesel::insert_into(sessions::table)
            .values(row)
            .execute(conn)
    }

    /// The live session with this key hash.
    pub fn find_live(
        conn: &mut DbConnection,
        key_hash: &str,
        now: NaiveDateTime,
    ) -> QueryResult<Option<SessionRow>> {
        sessions::table
            .find(key_hash)
            .filter(sessions::expires_at.gt(now))
            .select(SessionRow::as_select())
            .first(conn)
            .optional()
    }

    pub fn update(
        conn: &mut DbConnection,
        key_hash: &str,
        user_id: Option<i64>,
        state: &str,
        expires_at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(sessions::table.find(key_hash))
            .set((
                sessions::user_id.eq(user_id),
                sessions::state.eq(state),
                sessions::expires_at.eq(expires_at),
            ))
            .execute(conn)
    }

    pub fn touch(
        conn: &mut DbConnection,
        key_hash: &str,
        expires_at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(sessions::table.find(key_hash))
            .set(sessions::expires_at.eq(expires_at))
            .execute(conn)
    }

    pub fn delete(conn: &mut DbConnection, key_hash: &str) -> QueryResult<usize> {
        diesel::delete(sessions::table.find(key_hash)).execute(conn)
    }

    /// End every session of a user, except `keep` (the caller's own, when it stays).
    pub fn delete_for_user(
        conn: &mut DbConnection,
        user_id: i64,
        keep: Option<&str>,
    ) -> QueryResult<usize> {
        let query = sessions::table.filter(sessions::user_id.eq(user_id));
        match keep {
            Some(key_hash) => {
                diesel::delete(query.filter(sessions::key_hash.ne(key_hash))).execute(conn)
            }
            None => diesel::delete(query).execute(conn),
        }
    }

    pub fn delete_expired(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)
    }

    pub fn count_for_user(conn: &mut DbConnection, user_id: i64) -> QueryResult<i64> {
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .count()
            .get_result(conn)
    }
}
