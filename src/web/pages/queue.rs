//! The triage queue at `/queue`: what is due first, filters, counts, saved views and bulk
//! actions. Plain forms and links; works without JavaScript.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Layout, PageContext, PageError, html, redirect_target, see_other};
use crate::clock::rfc3339;
use crate::db::models::saved_view::{NewSavedView, SavedView};
use crate::db::models::ticket::Ticket;
use crate::db::models::user::User;
use crate::domain::category::Category;
use crate::domain::report::FieldErrors;
use crate::domain::severity::Severity;
use crate::domain::status::{SlaState, Status};
use crate::domain::ticket_number::TicketNumber;
use crate::domain::warehouse::WarehouseType;
use crate::error::AppError;
use crate::services::bulk::{self, BulkAction, Picked};
use crate::services::queue::{self, Counts, QueueQuery, RawQueueQuery};
use crate::services::ticket_changes::{Assignee, Who};
use crate::state::Desk;
use crate::web::body;

/// One row of the queue.
pub struct Row {
    pub id: i64,
    pub number: String,
    pub version: i32,
    pub severity: String,
    pub category: String,
    pub status: String,
    pub team: String,
    pub assignee: String,
    pub sla_state: &'static str,
    pub sla_label: &'static str,
    pub due: String,
    pub table: String,
    pub summary: String,
    pub is_incident: bool,
    /// The drill that made it (0: real work).
    pub drill: i64,
}

#[derive(Template)]
#[template(path = "queue/index.html")]
struct QueuePage {
    layout: Layout,
    raw: RawQueueQuery,
    errors: FieldErrors,
    rows: Vec<Row>,
    counts: Option<Counts>,
    next_url: Option<String>,
    this_query: String,
    views: Vec<SavedView>,
    my_teams: Vec<String>,
    teams: Vec<(String, String)>,
    notice: Option<String>,
}

impl QueuePage {
    fn selected(&self, field: &str, value: &str) -> bool {
        let r = &self.raw;
        let current = match field {
            "status" => &r.status,
            "category" => &r.category,
            "severity" => &r.severity,
            "team" => &r.team,
            "assignee" => &r.assignee,
            "warehouse_type" => &r.warehouse_type,
            "sla" => &r.sla,
            "sort" => &r.sort,
            _ => &None,
        };
        current.as_deref() == Some(value)
    }

    fn statuses(&self) -> [Status; 6] {
        Status::ALL
    }

    fn sla_states(&self) -> [SlaState; 4] {
        SlaState::FILTERABLE
    }

    fn categories(&self) -> [Category; 5] {
        Category::ALL
    }

    fn severities(&self) -> [Severity; 4] {
        Severity::ALL
    }

    fn warehouses(&self) -> [WarehouseType; 6] {
        WarehouseType::ALL
    }

    fn q(&self) -> &str {
        self.raw.q.as_deref().unwrap_or("")
    }
}

/// The query string of a queue query, without the cursor.
fn query_string(raw: &RawQueueQuery) -> String {
    let without_cursor = RawQueueQuery {
        cursor: None,
        ..raw.clone()
    };
    let pairs = serde_urlencoded::to_string(&without_cursor).unwrap_or_default();
    // Empty parameters are noise in a URL.
    pairs
        .split('&')
        .filter(|p| !p.ends_with('=') && !p.is_empty())
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn index(
    ctx: PageContext,
    desk: web::Data<Desk>,
    raw: web::Query<RawQueueQuery>,
) -> Result<HttpResponse, PageError> {
    render(ctx, desk, raw.into_inner(), None).await
}

async fn render(
    ctx: PageContext,
    desk: web::Data<Desk>,
    raw: RawQueueQuery,
    notice: Option<String>,
) -> Result<HttpResponse, PageError> {
    let me = ctx
        .viewer
        .user
        .clone()
        .ok_or_else(|| AppError::Unauthorized("Sign in first.".into()))?;
    let my_teams = desk.model.teams_of(&me.email);
    let teams = desk
        .model
        .teams
        .iter()
        .map(|t| (t.key.clone(), t.name.clone()))
        .collect();
    let parsed = QueueQuery::parse(&raw, Some(me.id));
    let this_query = query_string(&raw);
    let teams_for_views = my_teams.clone();
    let (rows, counts, next_cursor, views) = desk
        .db(move |conn, desk| {
            let views = SavedView::visible_to(conn, me.id, &teams_for_views)?;
            let Ok(query) = parsed else {
                return Ok((Vec::new(), None, None, views));
            };
            let now = desk.clock.now();
            let page = queue::search(conn, &query, now)?;
            let counts = queue::counts(conn, &query, now)?;
            let assignees: Vec<i64> = page.tickets.iter().filter_map(|t| t.assignee_id).collect();
            let emails = User::emails(conn, &assignees)?;
            let rows = page
                .tickets
                .into_iter()
                .map(|t| row(t, &emails, now))
                .collect();
            Ok((rows, Some(counts), page.next_cursor, views))
        })
        .await?;
    let errors = QueueQuery::parse(&raw, None).err().unwrap_or_default();
    let next_url = next_cursor.map(|c| {
        format!(
            "/queue?{}{}cursor={c}",
            this_query,
            if this_query.is_empty() { "" } else { "&" }
        )
    });
    let page = QueuePage {
        layout: Layout::new("Triage queue", &ctx),
        raw,
        errors,
        rows,
        counts,
        next_url,
        this_query,
        views,
        my_teams,
        teams,
        notice,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(status, &page)
}

fn row(
    t: Ticket,
    emails: &std::collections::HashMap<i64, String>,
    now: chrono::NaiveDateTime,
) -> Row {
    let status = t.status;
    let state = SlaState::of(status, t.sla_due_at, t.sla_warn_at, now);
    Row {
        id: t.id,
        number: t.number().to_string(),
        version: t.version,
        severity: t.severity.to_string(),
        category: t.category.to_string(),
        status: t.status.to_string(),
        team: t.team.clone(),
        assignee: t
            .assignee_id
            .and_then(|id| emails.get(&id).cloned())
            .unwrap_or_default(),
        sla_state: state.as_str(),
        sla_label: state.label(),
        due: rfc3339(t.sla_due_at),
        table: t.table_name.clone().unwrap_or_default(),
        summary: t.description.chars().take(120).collect(),
        is_incident: t.is_incident,
        drill: t.drill,
    }
}

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
    let me = ctx
        .viewer
        .user
        .clone()
        .ok_or_else(|| AppError::Unauthorized("Sign in first.".into()))?;
    let form = form.into_inner();
    let name = form.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(
            AppError::BadRequest("A view needs a name of 1 to 80 characters.".into()).into(),
        );
    }
    crate::domain::text::check_characters(&name, crate::domain::text::Lines::One)
        .map_err(AppError::BadRequest)?;
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
    Ok(see_other(target.as_str()))
}

pub async fn delete_view(
    ctx: PageContext,
    desk: web::Data<Desk>,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let me = ctx
        .viewer
        .user
        .clone()
        .ok_or_else(|| AppError::Unauthorized("Sign in first.".into()))?;
    let id = id.into_inner();
    let deleted = desk
        .db(move |conn, _| Ok(SavedView::delete_own(conn, id, me.id)?))
        .await?;
    if !deleted {
        return Err(AppError::NotFound.into());
    }
    Ok(see_other("/queue"))
}

/// A bulk action on the ticked tickets. Each box carries `id:version`, so a ticket someone
/// changed since the page loaded is skipped and named rather than overwritten.
pub async fn bulk(
    ctx: PageContext,
    desk: web::Data<Desk>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let picked: Vec<Picked> = pairs
        .iter()
        .filter(|(k, _)| k == "ticket")
        .filter_map(|(_, v)| {
            let (id, version) = v.split_once(':')?;
            Some(Picked {
                id: id.parse().ok()?,
                version: version.parse().ok()?,
            })
        })
        .collect();
    let back = get("back").unwrap_or_default();
    if picked.is_empty() {
        return Err(AppError::BadRequest("Tick at least one ticket.".into()).into());
    }
    let action = bulk_action(
        &get("action").unwrap_or_default(),
        get("value").as_deref(),
        get("reason"),
    )?;
    let who = Who {
        name: ctx.viewer.actor_name(),
        user_id: ctx.viewer.user.as_ref().map(|u| u.id),
    };
    let bulk_action = action.clone();
    let outcome = desk
        .db(move |conn, desk| bulk::apply(conn, desk, &who, &bulk_action, &picked))
        .await?;
    let raw: RawQueueQuery = serde_urlencoded::from_str(&back).unwrap_or_default();
    let verb = action.verb();
    let problems = outcome.problems();
    let notice = if problems.is_empty() {
        format!("Bulk {verb} done.")
    } else {
        format!("Bulk {verb}: {}", problems.join("; "))
    };
    render(ctx, desk, raw, Some(notice)).await
}

/// The bulk bar's action and value as a typed action; a value that does not fit is the
/// request's fault (400).
fn bulk_action(
    action: &str,
    value: Option<&str>,
    reason: Option<String>,
) -> Result<BulkAction, AppError> {
    Ok(match action {
        "assign" => BulkAction::Assign(match value {
            Some("me") | None => Assignee::Me,
            Some("auto") => Assignee::Auto,
            Some("none") => Assignee::Nobody,
            Some(id) => Assignee::User(
                id.parse()
                    .map_err(|_| AppError::BadRequest(format!("'{id}' is not a user id")))?,
            ),
        }),
        "status" => {
            BulkAction::SetStatus(Status::parse(value.unwrap_or("")).map_err(AppError::BadRequest)?)
        }
        "reclassify" => BulkAction::Reclassify {
            category: Category::parse(value.unwrap_or("")).map_err(AppError::BadRequest)?,
            reason,
        },
        "merge" => BulkAction::MergeInto(
            TicketNumber::parse(value.unwrap_or(""))
                .map_err(|_| {
                    AppError::BadRequest("Merge needs a ticket number to merge into.".into())
                })?
                .id(),
        ),
        other => {
            return Err(AppError::BadRequest(format!(
                "unknown bulk action '{other}'"
            )));
        }
    })
}
