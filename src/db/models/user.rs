//! `users`: desk accounts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::users;
use crate::domain::role::Role;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub password_hash: Option<String>,
    pub must_change_password: bool,
    pub failed_logins: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The zone they read times in (IANA name); `None`: their browser's.
    pub time_zone: Option<String>,
    /// When an admin deactivated the account; `None` while it is active.
    pub deactivated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
// None binds NULL: one SQL text whatever is missing, so the statement is cached.
#[diesel(treat_none_as_default_value = false)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub role: Role,
    pub password_hash: Option<&'a str>,
    pub must_change_password: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl User {
    pub fn insert(conn: &mut DbConnection, new: &NewUser<'_>) -> QueryResult<i64> {
        diesel::insert_into(users::table)
            .values(new)
            .returning(users::id)
            .get_result(conn)
    }

    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<User>> {
        users::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// Emails are compared case-insensitively; they are stored lowercased.
    pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::email.eq(email.trim().to_lowercase()))
            .select(User::as_select())
            .first(conn)
            .optional()
    }

    /// Emails of these users, by id.
    pub fn emails(
        conn: &mut DbConnection,
        ids: &[i64],
    ) -> QueryResult<std::collections::HashMap<i64, String>> {
        let rows: Vec<(i64, String)> = users::table
            .filter(users::id.eq_any(ids))
            .select((users::id, users::email))
            .load(conn)?;
        Ok(rows.into_iter().collect())
    }

    /// The zone this user chose to read times in, if they chose one.
    pub fn zone(&self) -> Option<chrono_tz::Tz> {
        self.time_zone.as_deref().and_then(|z| z.parse().ok())
    }

    /// The zones chosen by the accounts of these addresses, by address (lowercase); an
    /// address with no account or no choice is absent.
    pub fn zones(
        conn: &mut DbConnection,
        emails: &[String],
    ) -> QueryResult<std::collections::HashMap<String, chrono_tz::Tz>> {
        let lower: Vec<String> = emails.iter().map(|e| e.trim().to_lowercase()).collect();
        let rows: Vec<(String, Option<String>)> = users::table
            .filter(users::email.eq_any(&lower))
            .select((users::email, users::time_zone))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(email, zone)| Some((email, zone?.parse().ok()?)))
            .collect())
    }

    /// How pages name these users (their name, else their email), by id.
    pub fn names(
        conn: &mut DbConnection,
        ids: &[i64],
    ) -> QueryResult<std::collections::HashMap<i64, String>> {
        let rows: Vec<(i64, Option<String>, String)> = users::table
            .filter(users::id.eq_any(ids))
            .select((users::id, users::name, users::email))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, name, email)| (id, name.unwrap_or(email)))
            .collect())
    }

    pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<User>> {
        users::table
            .select(User::as_select())
            .order(users::email.asc())
            .load(conn)
    }

    /// Whether the account may sign in and be given work.
    pub fn is_active(&self) -> bool {
        self.deactivated_at.is_none()
    }

    pub fn set_deactivated(
        conn: &mut DbConnection,
        id: i64,
        deactivated_at: Option<NaiveDateTime>,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((
                users::deactivated_at.eq(deactivated_at),
                users::updated_at.eq(at),
            ))
            .execute(conn)
    }

    pub fn set_name(
        conn: &mut DbConnection,
        id: i64,
        name: Option<&str>,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((users::name.eq(name), users::updated_at.eq(at)))
            .execute(conn)
    }

    pub fn set_password(
        conn: &mut DbConnection,
        id: i64,
        hash: &str,
        must_change: bool,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((
                users::password_hash.eq(Some(hash)),
                users::must_change_password.eq(must_change),
                users::updated_at.eq(at),
            ))
            .execute(conn)
    }

    /// The zone the user reads times in (`None`: their browser's).
    pub fn set_time_zone(
        conn: &mut DbConnection,
        id: i64,
        time_zone: Option<&str>,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((users::time_zone.eq(time_zone), users::updated_at.eq(at)))
            .execute(conn)
    }

    pub fn set_role(
        conn: &mut DbConnection,
        id: i64,
        role: &str,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((users::role.eq(role), users::updated_at.eq(at)))
            .execute(conn)
    }
}
