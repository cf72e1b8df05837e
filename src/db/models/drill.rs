//! `drills` and `drill_steps`: each rehearsal run and its step-by-step report.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{drill_steps, drills};
use crate::domain::drill::DrillStatus;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = drills)]
pub struct Drill {
    pub id: i64,
    pub scenario: String,
    pub status: DrillStatus,
    pub started_by: String,
    /// Comma-separated addresses: the drill's mail goes here instead.
    pub recipients: String,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = drills)]
pub struct NewDrill<'a> {
    pub scenario: &'a str,
    pub status: DrillStatus,
    pub started_by: &'a str,
    pub recipients: &'a str,
    pub started_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = drill_steps)]
pub struct DrillStep {
    pub drill_id: i64,
    pub position: i32,
    pub name: String,
    pub passed: bool,
    pub detail: String,
    pub duration_ms: i64,
}

impl Drill {
    pub fn insert(conn: &mut DbConnection, new: &NewDrill<'_>) -> QueryResult<i64> {
        diesel::insert_into(drills::table)
            .values(new)
            .returning(drills::id)
            .get_result(conn)
    }

    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Drill>> {
        drills::table
            .find(id)
            .select(Drill::as_select())
            .first(conn)
            .optional()
    }

    /// The newest first.
    pub fn recent(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<Drill>> {
        drills::table
            .select(Drill::as_select())
            .order(drills::id.desc())
            .limit(limit)
            .load(conn)
    }

    /// Where drill `id`'s mail goes.
    pub fn recipients_of(conn: &mut DbConnection, id: i64) -> QueryResult<Vec<String>> {
        let joined: String = drills::table
            .find(id)
            .select(drills::recipients)
            .first(conn)?;
        Ok(split(&joined))
    }

    pub fn recipient_list(&self) -> Vec<String> {
        split(&self.recipients)
    }

    pub fn finish(
        conn: &mut DbConnection,
        id: i64,
        status: DrillStatus,
        at: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(drills::table.find(id))
            .set((drills::status.eq(status), drills::finished_at.eq(Some(at))))
            .execute(conn)
    }

    pub fn steps(conn: &mut DbConnection, id: i64) -> QueryResult<Vec<DrillStep>> {
        Self::steps_of(conn, &[id])
    }

    /// The steps of these drills, by drill and position: one query for a list of drills.
    pub fn steps_of(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<DrillStep>> {
        drill_steps::table
            .filter(drill_steps::drill_id.eq_any(ids))
            .order((drill_steps::drill_id.asc(), drill_steps::position.asc()))
            .select(DrillStep::as_select())
            .load(conn)
    }
}

impl DrillStep {
    pub fn insert(conn: &mut DbConnection, step: &DrillStep) -> QueryResult<usize> {
        diesel::insert_into(drill_steps::table)
            .values(step)
            .execute(conn)
    }
}

fn split(joined: &str) -> Vec<String> {
    joined
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}
