//! Admin: drills — run a scenario on this live desk (the button) and read the stored
//! step-by-step reports.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use chrono::NaiveDateTime;

use crate::domain::drill::DrillStatus;
use crate::domain::humanize;
use crate::domain::report::FieldErrors;
use crate::error::AppError;
use crate::services::accounts::Actor;
use crate::services::drills::{self, DrillReport, SCENARIOS, Scenario};
use crate::state::Desk;
use crate::web::auth::client::client_ip_text;
use crate::web::pages::{Layout, PageContext, PageError, html, see_other, words};

/// How many drills the list shows.
const LISTED: i64 = 50;

struct DrillRow {
    id: i64,
    /// The scenario's key, kept in a data attribute.
    scenario: String,
    /// The scenario in words: "Snowflake timeout burst".
    scenario_label: String,
    status: DrillStatus,
    started_by: String,
    started_at: NaiveDateTime,
    finished_at: Option<NaiveDateTime>,
    /// "7 of 9" while running, "9 of 9 passed" after.
    steps: String,
}

impl DrillRow {
    fn of(report: &DrillReport) -> Self {
        let passed = report.steps.iter().filter(|s| s.passed).count();
        let done = report.steps.len();
        let total = drills::scenario(&report.drill.scenario).map_or(done, |s| s.steps.max(done));
        let steps = match report.drill.status {
            DrillStatus::Running => format!("{done} of {total}"),
            _ => format!("{passed} of {total} passed"),
        };
        DrillRow {
            id: report.drill.id,
            scenario: report.drill.scenario.clone(),
            scenario_label: words(&report.drill.scenario),
            status: report.drill.status,
            started_by: report.drill.started_by.clone(),
            started_at: report.drill.started_at,
            finished_at: report.drill.finished_at,
            steps,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/drills.html")]
struct DrillsPage {
    layout: Layout,
    scenarios: &'static [Scenario],
    drills: Vec<DrillRow>,
    default_recipients: String,
    form: DrillForm,
    errors: FieldErrors,
}

impl DrillsPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DrillForm {
    #[serde(default)]
    scenario: String,
    /// Comma-separated; empty: the support model's drill recipients.
    #[serde(default)]
    recipients: String,
}

async fn render(
    ctx: &PageContext,
    desk: web::Data<Desk>,
    status: StatusCode,
    form: DrillForm,
    errors: FieldErrors,
) -> Result<HttpResponse, PageError> {
    let default_recipients = desk.model.drill_recipients.join(", ");
    let reports = desk.db(|conn, _| drills::recent(conn, LISTED)).await?;
    html(
        status,
        &DrillsPage {
            layout: Layout::new("Drills", ctx),
            scenarios: SCENARIOS,
            drills: reports.iter().map(DrillRow::of).collect(),
            default_recipients,
            form,
            errors,
        },
    )
}

pub async fn list(ctx: PageContext, desk: web::Data<Desk>) -> Result<HttpResponse, PageError> {
    render(
        &ctx,
        desk,
        StatusCode::OK,
        DrillForm::default(),
        FieldErrors::new(),
    )
    .await
}

/// The button: record the drill, run it on a thread of its own, and show its report
/// (which fills in as steps finish).
pub async fn start(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    form: web::Form<DrillForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let recipients: Vec<String> = form
        .recipients
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    let who = ctx.viewer.actor_name();
    let ip = client_ip_text(&req);
    let scenario = form.scenario.clone();
    let started = desk
        .db(move |conn, desk| {
            drills::start(
                conn,
                desk,
                &scenario,
                &recipients,
                &Actor {
                    name: &who,
                    ip: ip.as_deref(),
                },
            )
        })
        .await;
    let id = match started {
        Ok(id) => id,
        Err(AppError::Invalid(errors)) => {
            return render(&ctx, desk, StatusCode::UNPROCESSABLE_ENTITY, form, errors).await;
        }
        Err(other) => return Err(other.into()),
    };
    let run_desk = desk.clone();
    std::thread::Builder::new()
        .name(format!("drill-{id}"))
        .spawn(move || {
            let mailer = run_desk.mailer.clone();
            match drills::run(&run_desk, id, &mailer) {
                Ok(report) => tracing::info!(
                    drill = id,
                    status = %report.drill.status,
                    "drill finished"
                ),
                Err(e) => tracing::warn!(drill = id, error = %e, "drill could not run"),
            }
        })
        .map_err(AppError::internal)?;
    Ok(see_other(&format!("/admin/drills/{id}")))
}

struct StepRow {
    position: i32,
    name: String,
    passed: bool,
    detail: String,
    duration: String,
}

#[derive(Template)]
#[template(path = "admin/drill.html")]
struct DrillPage {
    layout: Layout,
    drill: DrillRow,
    recipients: String,
    running: bool,
    /// Reloads the page while the drill runs.
    refresh_js: String,
    steps: Vec<StepRow>,
}

pub async fn show(
    ctx: PageContext,
    desk: web::Data<Desk>,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let report = desk
        .db(move |conn, _| drills::report(conn, id)?.ok_or(AppError::NotFound))
        .await?;
    html(
        StatusCode::OK,
        &DrillPage {
            layout: Layout::new(format!("Drill {id}"), &ctx),
            drill: DrillRow::of(&report),
            recipients: report.drill.recipients.replace(',', ", "),
            running: report.drill.finished_at.is_none(),
            refresh_js: crate::web::assets::asset_url("js/refresh.js"),
            steps: report
                .steps
                .into_iter()
                .map(|s| StepRow {
                    position: s.position,
                    name: s.name,
                    passed: s.passed,
                    detail: s.detail,
                    duration: humanize::millis(s.duration_ms),
                })
                .collect(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::models::drill::{Drill, DrillStep};

    fn report(status: DrillStatus, done: usize) -> DrillReport {
        let at = crate::clock::at("2026-12-08 10:00");
        DrillReport {
            drill: Drill {
                id: 1,
                scenario: "snowflake-timeout-burst".into(),
                status,
                started_by: "admin@inspect.example".into(),
                recipients: "launch-drill@inspect.example".into(),
                started_at: at,
                finished_at: (status != DrillStatus::Running).then_some(at),
            },
            steps: (1..=done)
                .map(|i| DrillStep {
                    drill_id: 1,
                    position: i as i32,
                    name: format!("step {i}"),
                    passed: true,
                    detail: String::new(),
                    duration_ms: 5,
                })
                .collect(),
        }
    }

    #[test]
    fn the_step_count_says_how_far_of_how_many() {
        let running = DrillRow::of(&report(DrillStatus::Running, 7));
        assert_eq!(running.steps, "7 of 9");
        assert_eq!(running.scenario_label, "Snowflake timeout burst");
        assert_eq!(
            DrillRow::of(&report(DrillStatus::Passed, 9)).steps,
            "9 of 9 passed"
        );
    }
}
