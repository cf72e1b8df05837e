//! Admin: drills — run a scenario on this live desk (the button) and read the stored
//! step-by-step reports.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::clock::rfc3339;
use crate::domain::report::FieldErrors;
use crate::error::AppError;
use crate::services::accounts::Actor;
use crate::services::drills::{self, DrillReport, SCENARIOS, Scenario};
use crate::state::Desk;
use crate::web::auth::client::client_ip_text;
use crate::web::pages::{Layout, PageContext, PageError, html, see_other};

/// How many drills the list shows.
const LISTED: i64 = 50;

struct DrillRow {
    id: i64,
    scenario: String,
    status: String,
    started_by: String,
    started_at: String,
    steps: String,
}

impl DrillRow {
    fn of(report: &DrillReport) -> Self {
        let passed = report.steps.iter().filter(|s| s.passed).count();
        DrillRow {
            id: report.drill.id,
            scenario: report.drill.scenario.clone(),
            status: report.drill.status.to_string(),
            started_by: report.drill.started_by.clone(),
            started_at: rfc3339(report.drill.started_at),
            steps: format!("{passed}/{}", report.steps.len()),
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
    duration_ms: i64,
}

#[derive(Template)]
#[template(path = "admin/drill.html")]
struct DrillPage {
    layout: Layout,
    drill: DrillRow,
    recipients: String,
    finished_at: String,
    running: bool,
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
            recipients: report.drill.recipients.clone(),
            finished_at: report.drill.finished_at.map(rfc3339).unwrap_or_default(),
            running: report.drill.finished_at.is_none(),
            steps: report
                .steps
                .into_iter()
                .map(|s| StepRow {
                    position: s.position,
                    name: s.name,
                    passed: s.passed,
                    detail: s.detail,
                    duration_ms: s.duration_ms,
                })
                .collect(),
        },
    )
}
