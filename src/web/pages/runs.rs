//! Profiling runs for agents: `/runs` (filters, pages newest first) and `/runs/{run_id}`
//! (timings, error, typed columns, linked tickets, OpenLineage events). Plain links and a
//! GET form; no JavaScript.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Layout, PageContext, PageError, html};
use crate::db::models::lineage_event::LineageEventRow;
use crate::db::models::run::{Run, RunColumn};
use crate::db::models::ticket_run::LinkedTicket;
use crate::domain::humanize;
use crate::domain::report::FieldErrors;
use crate::domain::run::RunStatus;
use crate::domain::warehouse::WarehouseType;
use crate::domain::window::Window;
use crate::error::AppError;
use crate::services::run_list::{self, DEFAULT_WINDOW, RawRunQuery, RunQuery};
use crate::state::Desk;

/// One row of the list.
pub struct Row {
    pub run_id: String,
    pub warehouse_type: WarehouseType,
    pub table: String,
    pub status: RunStatus,
    pub started_at: chrono::NaiveDateTime,
    pub duration: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "runs/index.html")]
struct RunsPage {
    layout: Layout,
    raw: RawRunQuery,
    errors: FieldErrors,
    rows: Vec<Row>,
    next_url: Option<String>,
}

impl RunsPage {
    fn selected(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "warehouse_type" => &self.raw.warehouse_type,
            "status" => &self.raw.status,
            "window" => &self.raw.window,
            _ => &None,
        };
        match current.as_deref().filter(|v| !v.is_empty()) {
            Some(current) => current == value,
            None => field == "window" && value == DEFAULT_WINDOW.as_str(),
        }
    }

    fn warehouses(&self) -> [WarehouseType; 6] {
        WarehouseType::ALL
    }

    fn statuses(&self) -> [RunStatus; 5] {
        RunStatus::ALL
    }

    fn windows(&self) -> [Window; 4] {
        Window::ALL
    }

    fn table(&self) -> &str {
        self.raw.table.as_deref().unwrap_or("")
    }
}

/// `1.3 s`, `2 min 30 s`, `1 h 5 min` (no-break spaces); a dash for runs still going.
pub fn human_duration(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".into(), humanize::millis)
}

/// The list's query string without the cursor.
fn query_string(raw: &RawRunQuery) -> String {
    let without_cursor = RawRunQuery {
        cursor: None,
        ..raw.clone()
    };
    serde_urlencoded::to_string(&without_cursor)
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty() && !p.ends_with('='))
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn index(
    ctx: PageContext,
    desk: web::Data<Desk>,
    raw: web::Query<RawRunQuery>,
) -> Result<HttpResponse, PageError> {
    let raw = raw.into_inner();
    let parsed = RunQuery::parse(&raw);
    // A query that does not parse reads nothing: the form comes back with its errors.
    let page = match parsed.clone() {
        Ok(query) => Some(
            desk.db(move |conn, desk| Ok(run_list::search(conn, &query, desk.clock.now())?))
                .await?,
        ),
        Err(_) => None,
    };
    let this_query = query_string(&raw);
    let (rows, next_url) = match page {
        None => (Vec::new(), None),
        Some(page) => (
            page.runs.into_iter().map(row).collect(),
            page.next_cursor.map(|c| {
                let sep = if this_query.is_empty() { "" } else { "&" };
                format!("/runs?{this_query}{sep}cursor={c}")
            }),
        ),
    };
    let errors = parsed.err().unwrap_or_default();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = RunsPage {
        layout: Layout::new("Profiling runs", &ctx),
        raw,
        errors,
        rows,
        next_url,
    };
    html(status, &page)
}

fn row(run: Run) -> Row {
    Row {
        duration: human_duration(run.duration_ms),
        started_at: run.started_at,
        error: run
            .error
            .map(|e| e.chars().take(140).collect())
            .unwrap_or_default(),
        run_id: run.run_id,
        warehouse_type: run.warehouse_type,
        table: run.table_name,
        status: run.status,
    }
}

#[derive(Template)]
#[template(path = "runs/show.html")]
struct RunPage {
    layout: Layout,
    run: Run,
    columns: Vec<RunColumn>,
    tickets: Vec<LinkedTicket>,
    events: Vec<LineageEventRow>,
    /// Team keys and their names, for the linked tickets.
    teams: Vec<(String, String)>,
}

impl RunPage {
    fn team(&self, key: &str) -> String {
        self.teams
            .iter()
            .find(|(k, _)| k == key)
            .map_or_else(|| key.to_string(), |(_, name)| name.clone())
    }

    fn duration(&self) -> String {
        human_duration(self.run.duration_ms)
    }

    fn count(&self, n: &i64) -> String {
        humanize::number(*n)
    }

    fn confidence(&self, column: &RunColumn) -> String {
        column
            .confidence
            .map(|p| format!("{:.0}%", p * 100.0))
            .unwrap_or_default()
    }

    fn typed_count(&self) -> usize {
        self.columns
            .iter()
            .filter(|c| c.semantic_type.is_some())
            .count()
    }
}

pub async fn show(
    ctx: PageContext,
    desk: web::Data<Desk>,
    run_id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let run_id = run_id.into_inner();
    let detail = desk
        .db(move |conn, _| run_list::detail(conn, &run_id)?.ok_or(AppError::NotFound))
        .await?;
    let page = RunPage {
        layout: Layout::new(format!("Run {}", detail.run.run_id), &ctx),
        run: detail.run,
        columns: detail.columns,
        tickets: detail.tickets,
        events: detail.events,
        teams: desk
            .model
            .teams
            .iter()
            .map(|t| (t.key.clone(), t.name.clone()))
            .collect(),
    };
    html(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(None), "—");
        let plain = |ms| human_duration(Some(ms)).replace('\u{a0}', " ");
        assert_eq!(plain(1_300), "1.3 s");
        assert_eq!(plain(150_500), "2 min 30 s");
        assert_eq!(plain(3_900_000), "1 h 5 min");
    }
}
