//! Saved views: the queue's filters kept under a name, for oneself or shared with one of
//! one's teams.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::{BulkState, ViewState, render};
use crate::db::models::saved_view::{NewSavedView, SavedView};
use crate::error::AppError;
use crate::state::Desk;
use crate::web::pages::{PageContext, PageError, redirect_target};
use crate::web::{body, flash};

#[derive(Deserialize)]
pub struct SaveViewForm {
    name: String,
    query: String,
    team: Option<String>,
}

/// Save the current filters under a name, for oneself or shared with a team.
pub async fn save_view(
    ctx: PageContext,
    desk: web::Data<Desk>,
    form: body::Form<SaveViewForm>,
) -> Result<HttpResponse, PageError> {
    let me = ctx.signed_in()?.clone();
    let form = form.into_inner();
    let name = form.name.trim().to_string();
    let refusal = if name.is_empty() || name.chars().count() > 80 {
        Some("Give the view a name of 1 to 80 characters.".to_string())
    } else {
        crate::domain::text::check_characters(&name, crate::domain::text::Lines::One).err()
    };
    if let Some(message) = refusal {
        // Back to the queue as it was, the message beside the name.
        let raw =
            serde_urlencoded::from_str(form.query.trim_start_matches('?')).unwrap_or_default();
        let view = ViewState {
            name: form.name,
            error: Some(message),
        };
        return render(ctx, desk, raw, BulkState::default(), view).await;
    }
    let team = form.team.filter(|t| !t.is_empty());
    if let Some(team) = &team
        && !desk.model.teams_of(&me.email).contains(team)
    {
        return Err(AppError::Forbidden(format!(
            "You can share views only with your own teams, not '{team}'."
        ))
        .into());
    }
    // The view leads back to the queue with its filters: a redirect target like any other.
    let target = redirect_target(&format!("/queue?{}", form.query.trim_start_matches('?')))?
        .ok_or_else(|| AppError::BadRequest("Those filters could not be read.".into()))?;
    let query = target.query().to_string();
    let saved = format!("Saved the view “{name}”.");
    desk.db(move |conn, desk| {
        let view = NewSavedView {
            name: &name,
            query: &query,
            user_id: Some(me.id),
            team: team.as_deref(),
            created_at: desk.clock.now(),
        };
        Ok(SavedView::insert(conn, &view)?)
    })
    .await?;
    Ok(flash::see_other_with(target.as_str(), saved))
}

pub async fn delete_view(
    ctx: PageContext,
    desk: web::Data<Desk>,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let me = ctx.signed_in()?.clone();
    let id = id.into_inner();
    let deleted = desk
        .db(move |conn, _| Ok(SavedView::delete_own(conn, id, me.id)?))
        .await?;
    if !deleted {
        return Err(AppError::NotFound.into());
    }
    Ok(flash::see_other_with("/queue", "Removed the saved view."))
}
