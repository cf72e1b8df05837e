//! `saved_views`: queue filters saved by an agent, for themselves or shared with a team.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::saved_views;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = saved_views)]
pub struct SavedView {
    pub id: i64,
    pub name: String,
    /// The queue's query string.
    pub query: String,
    pub user_id: Option<i64>,
    /// Shared with this team's members.
    pub team: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = saved_views)]
// None binds NULL: one SQL text whatever is missing, so the statement is cached.
#[diesel(treat_none_as_default_value = false)]
pub struct NewSavedView<'a> {
    pub name: &'a str,
    pub query: &'a str,
    pub user_id: Option<i64>,
    pub team: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

impl SavedView {
    pub fn insert(conn: &mut DbConnection, new: &NewSavedView<'_>) -> QueryResult<usize> {
        diesel::insert_into(saved_views::table)
            .values(new)
            .execute(conn)
    }

    /// A user's own views and those shared with their teams.
    pub fn visible_to(
        conn: &mut DbConnection,
        user_id: i64,
        teams: &[String],
    ) -> QueryResult<Vec<SavedView>> {
        saved_views::table
            .filter(
                saved_views::user_id
                    .eq(user_id)
                    .or(saved_views::team.eq_any(teams)),
            )
            .select(SavedView::as_select())
            .order(saved_views::name.asc())
            .load(conn)
    }

    /// Delete a view its owner made.
    pub fn delete_own(conn: &mut DbConnection, id: i64, user_id: i64) -> QueryResult<bool> {
        let n = diesel::delete(
            saved_views::table
                .find(id)
                .filter(saved_views::user_id.eq(user_id)),
        )
        .execute(conn)?;
        Ok(n == 1)
    }
}
