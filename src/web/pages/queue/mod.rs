//! The triage queue at `/queue`: what is due first, filters, counts, saved views and bulk
//! actions. Plain forms and links that work without JavaScript; `static/js/queue.js` adds
//! the keyboard, select-all and the count of ticked tickets.

mod bulk;
mod rows;
mod views;

use std::collections::{HashMap, HashSet};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Layout, PageContext, PageError, html};
use crate::db::models::saved_view::SavedView;
use crate::db::models::user::User;
use crate::domain::category::Category;
use crate::domain::report::FieldErrors;
use crate::domain::severity::Severity;
use crate::domain::status::{SlaState, Status};
use crate::domain::warehouse::WarehouseType;
use crate::services::people::{self, Person};
use crate::services::queue::{self, Counts, QueueQuery, RawQueueQuery};
use crate::state::Desk;

pub use bulk::bulk;
pub use rows::Row;
pub use views::{delete_view, save_view};

/// What the bulk bar shows after a refused bulk action: the message beside it and the
/// agent's choices, kept.
#[derive(Default)]
pub struct BulkState {
    pub error: Option<String>,
    /// The control the message is about (`action` or `reason`).
    pub field: &'static str,
    pub action: String,
    pub reason: String,
    pub ticked: HashSet<i64>,
}

/// What the saved-view form shows after a refused save: the name typed and why.
#[derive(Default)]
pub struct ViewState {
    pub name: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "queue/index.html")]
struct QueuePage {
    layout: Layout,
    script: String,
    /// The viewer's user id (their own saved views can be removed).
    me: i64,
    raw: RawQueueQuery,
    errors: Vec<String>,
    rows: Vec<Row>,
    counts: Option<Counts>,
    next_url: Option<String>,
    this_query: String,
    views: Vec<SavedView>,
    my_teams: Vec<(String, String)>,
    teams: Vec<(String, String)>,
    people: Vec<Person>,
    bulk: BulkState,
    view: ViewState,
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

    /// Whether the bulk bar's action list should show `kind:value` as chosen.
    fn bulk_is(&self, kind: &str, value: &str) -> bool {
        self.bulk
            .action
            .split_once(':')
            .is_some_and(|(k, v)| k == kind && v == value)
    }

    /// Whether the viewer saved `view` (and so may remove it).
    fn owns(&self, view: &SavedView) -> bool {
        view.user_id == Some(self.me)
    }

    fn ticked(&self, id: &i64) -> bool {
        self.bulk.ticked.contains(id)
    }

    fn team_name<'a>(&'a self, key: &'a str) -> &'a str {
        self.teams
            .iter()
            .find(|(k, _)| k == key)
            .map_or(key, |(_, name)| name.as_str())
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

/// The queue with these filters: where a bulk action leads back to.
fn queue_url(raw: &RawQueueQuery) -> String {
    let query = query_string(raw);
    if query.is_empty() {
        "/queue".into()
    } else {
        format!("/queue?{query}")
    }
}

/// A filter's refusal as the page says it: which filter, and what to do.
fn filter_message(field: &str) -> String {
    let name = match field {
        "status" => "status",
        "category" => "category",
        "severity" => "severity",
        "assignee" => "assignee",
        "warehouse_type" => "warehouse",
        "sla" => "SLA",
        "sort" => "sort order",
        "limit" => "page size",
        "cursor" => "page",
        _ => "filter",
    };
    if field == "cursor" {
        return "That page of the queue no longer fits these filters; showing the first page."
            .into();
    }
    format!("The {name} in the address is not one of the choices; pick one from the list.")
}

pub async fn index(
    ctx: PageContext,
    desk: web::Data<Desk>,
    raw: web::Query<RawQueueQuery>,
) -> Result<HttpResponse, PageError> {
    render(
        ctx,
        desk,
        raw.into_inner(),
        BulkState::default(),
        ViewState::default(),
    )
    .await
}

async fn render(
    ctx: PageContext,
    desk: web::Data<Desk>,
    raw: RawQueueQuery,
    bulk: BulkState,
    view: ViewState,
) -> Result<HttpResponse, PageError> {
    let me = ctx.signed_in()?.clone();
    let teams: Vec<(String, String)> = desk
        .model
        .teams
        .iter()
        .map(|t| (t.key.clone(), t.name.clone()))
        .collect();
    let my_team_keys = desk.model.teams_of(&me.email);
    let my_teams = teams
        .iter()
        .filter(|(key, _)| my_team_keys.contains(key))
        .cloned()
        .collect();
    let me_id = me.id;
    let parsed = QueueQuery::parse(&raw, Some(me.id));
    let this_query = query_string(&raw);
    let team_filter = raw.team.clone().filter(|t| !t.is_empty());
    let (rows, counts, next_cursor, views, people) = desk
        .db(move |conn, desk| {
            let views = SavedView::visible_to(conn, me.id, &my_team_keys)?;
            let people = people::assignable(conn, desk, team_filter.as_deref())?;
            let Ok(query) = parsed else {
                return Ok((Vec::new(), None, None, views, people));
            };
            let now = desk.clock.now();
            let page = queue::search(conn, &query, now)?;
            let counts = queue::counts(conn, &query, now)?;
            let mut names: HashMap<i64, String> =
                people.iter().map(|p| (p.id, p.name.clone())).collect();
            let unknown: Vec<i64> = page
                .tickets
                .iter()
                .filter_map(|t| t.assignee_id)
                .filter(|id| !names.contains_key(id))
                .collect();
            names.extend(User::emails(conn, &unknown)?);
            let rows = page
                .tickets
                .into_iter()
                .map(|t| rows::row(t, &names, &desk.model, now))
                .collect();
            Ok((rows, Some(counts), page.next_cursor, views, people))
        })
        .await?;
    let errors: FieldErrors = QueueQuery::parse(&raw, None).err().unwrap_or_default();
    let next_url = next_cursor.map(|c| {
        format!(
            "/queue?{}{}cursor={c}",
            this_query,
            if this_query.is_empty() { "" } else { "&" }
        )
    });
    let status = if !errors.is_empty() || bulk.error.is_some() || view.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = QueuePage {
        layout: Layout::new("Triage queue", &ctx),
        script: crate::web::assets::asset_url("js/queue.js"),
        me: me_id,
        raw,
        errors: errors.keys().map(|field| filter_message(field)).collect(),
        rows,
        counts,
        next_url,
        this_query,
        views,
        my_teams,
        teams,
        people,
        bulk,
        view,
    };
    html(status, &page)
}
