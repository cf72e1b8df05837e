//! `audit_log`: sign-ins, failures, token and role changes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::audit_log;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub ip: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
// None binds NULL: one SQL text whatever is missing, so the statement is cached.
#[diesel(treat_none_as_default_value = false)]
pub struct NewAuditEntry<'a> {
    pub at: NaiveDateTime,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub detail: &'a str,
    pub ip: Option<&'a str>,
}

impl AuditEntry {
    pub fn record(conn: &mut DbConnection, entry: &NewAuditEntry<'_>) -> QueryResult<usize> {
        diesel::insert_into(audit_log::table)
            .values(entry)
            .execute(conn)
    }

    pub fn recent(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<AuditEntry>> {
        audit_log::table
            .select(AuditEntry::as_select())
            .order(audit_log::id.desc())
            .limit(limit)
            .load(conn)
    }

    pub fn count_action(conn: &mut DbConnection, action: &str) -> QueryResult<i64> {
        audit_log::table
            .filter(audit_log::action.eq(action))
            .count()
            .get_result(conn)
    }
}
