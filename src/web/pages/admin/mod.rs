//! Admin pages: users and roles, API tokens, the support model, the outbox, the audit log.

pub mod drills;
pub mod mail;
pub mod outbox;
pub mod tokens;
pub mod users;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Layout, PageContext, PageError, html};
use crate::db::models::audit::AuditEntry;
use crate::db::models::classifier::ModelRecord;
use crate::db::models::event::{Event, NewEvent};
use crate::db::models::ticket::Ticket;
use crate::db::{DbConnection, write_transaction};
use crate::domain::classify::corpus;
use crate::domain::event::EventKind;
use crate::domain::support_model::SupportModel;
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::accounts::{self, Actor};
use crate::services::classifier::CrossValidation;
use crate::services::intake::tracking_token;
use crate::state::Desk;
use crate::web::auth::client::client_ip_text;

#[derive(Template)]
#[template(path = "admin/index.html")]
struct IndexPage {
    layout: Layout,
    notice: Option<String>,
    accuracy: Accuracy,
    model: ModelView,
}

/// The classifier model in use, as the admin page tells it.
struct ModelView {
    /// `None` until the server's first background pass records it.
    version: Option<i64>,
    trained_at: Option<chrono::NaiveDateTime>,
    corpus: usize,
    corrections: i64,
    cross_validation: Option<CrossValidationView>,
    /// The held-back slice's accuracy of the model in use, when a retrain measured it.
    slice: Option<String>,
    /// A later retrain kept out for doing worse: (its slice accuracy, the one in use's,
    /// corrections it had).
    kept_out: Option<(String, String, i32)>,
}

/// Cross-validated accuracy as percentages.
struct CrossValidationView {
    folds: usize,
    examples: usize,
    accuracy: String,
    per_category: Vec<(&'static str, String)>,
}

impl From<CrossValidation> for CrossValidationView {
    fn from(cv: CrossValidation) -> Self {
        CrossValidationView {
            folds: cv.folds,
            examples: cv.examples,
            accuracy: percent(cv.accuracy),
            per_category: cv
                .per_category
                .into_iter()
                .map(|(category, share)| (category.label(), percent(share)))
                .collect(),
        }
    }
}

impl ModelView {
    fn load(conn: &mut DbConnection, desk: &Desk) -> Result<ModelView, AppError> {
        let current = desk.classifier.current();
        let record = current.record.as_ref();
        let kept_out = match record {
            Some(r) => ModelRecord::latest_kept_out(conn, r.id)?,
            None => None,
        };
        Ok(ModelView {
            version: record.map(|r| r.id),
            trained_at: record.map(|r| r.trained_at),
            corpus: corpus().len(),
            corrections: current.trained_on.count,
            cross_validation: record
                .and_then(|r| r.cross_validation.as_deref())
                .and_then(CrossValidation::parse)
                .map(CrossValidationView::from),
            slice: record.and_then(|r| r.slice_accuracy).map(percent),
            kept_out: kept_out.map(|k| {
                let candidate = percent(k.slice_accuracy.unwrap_or_default());
                let previous = percent(k.previous_slice_accuracy.unwrap_or_default());
                (candidate, previous, k.corrections)
            }),
        })
    }

    fn examples(&self) -> String {
        let corrections = match self.corrections {
            0 => "no corrections yet".to_string(),
            1 => "1 agent's correction".to_string(),
            n => format!("{n} agents' corrections"),
        };
        format!(
            "{} reports: {} from the corpus, {corrections}",
            self.corpus + self.corrections as usize,
            self.corpus
        )
    }
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// How often agents had to correct the classifier.
struct Accuracy {
    tickets: i64,
    corrected: i64,
}

impl Accuracy {
    fn load(conn: &mut DbConnection) -> Result<Accuracy, AppError> {
        Ok(Accuracy {
            tickets: Ticket::count(conn)?,
            corrected: Ticket::reclassified_count(conn)?,
        })
    }

    fn percent(&self) -> String {
        if self.tickets == 0 {
            return "no tickets yet".into();
        }
        format!(
            "{:.1}%",
            100.0 * (1.0 - self.corrected as f64 / self.tickets as f64)
        )
    }
}

pub async fn index(ctx: PageContext, desk: web::Data<Desk>) -> Result<HttpResponse, PageError> {
    let (accuracy, model) = desk
        .db(|conn, desk| Ok((Accuracy::load(conn)?, ModelView::load(conn, desk)?)))
        .await?;
    html(
        StatusCode::OK,
        &IndexPage {
            layout: Layout::new("Admin", &ctx),
            notice: None,
            accuracy,
            model,
        },
    )
}

/// Routing rules flattened for display.
struct RuleRow {
    name: String,
    team: String,
    categories: String,
    warehouse_types: String,
    tables: String,
    severities: String,
}

#[derive(Template)]
#[template(path = "admin/support_model.html")]
struct SupportModelPage<'a> {
    layout: Layout,
    model: &'a SupportModel,
    rules: Vec<RuleRow>,
    /// The team no rule matched goes to, by name.
    fallback: String,
    sla: Vec<(String, String, String)>,
    /// Name, trigger, recipients, severities, teams, repeats.
    steps: Vec<(String, String, String, String, String, String)>,
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        "any".into()
    } else {
        items
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The support model the desk is running on. It was validated at start; a model that
/// fails validation stops the desk, so what shows here is always valid.
pub async fn support_model(
    ctx: PageContext,
    desk: web::Data<Desk>,
) -> Result<HttpResponse, PageError> {
    let model = &desk.model;
    let rules = model
        .router
        .rules()
        .iter()
        .map(|r| RuleRow {
            name: r.name.clone(),
            team: model.team_name(&r.team).to_string(),
            categories: list(&r.categories.iter().map(|c| c.label()).collect::<Vec<_>>()),
            warehouse_types: list(
                &r.warehouse_types
                    .iter()
                    .map(|w| w.label())
                    .collect::<Vec<_>>(),
            ),
            tables: if r.tables.is_empty() {
                "any".into()
            } else {
                r.tables
                    .iter()
                    .map(|(p, _)| p.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            severities: list(&r.severities.iter().map(|s| s.label()).collect::<Vec<_>>()),
        })
        .collect();
    let sla = model
        .sla
        .iter()
        .map(|(severity, policy)| {
            (
                severity.label().to_string(),
                humanize(policy.first_response),
                humanize(policy.resolution),
            )
        })
        .collect();
    let steps = model
        .escalation
        .iter()
        .map(|step| {
            let repeats = match step.repeat_every {
                Some(every) => format!("every {} × {}", humanize(every), step.repeat_limit),
                None => "no".into(),
            };
            (
                step.name.clone(),
                format!("{:?}", step.trigger),
                step.notify
                    .iter()
                    .map(|r| format!("{r:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                list(&step.severities),
                if step.teams.is_empty() {
                    "any".into()
                } else {
                    step.teams
                        .iter()
                        .map(|key| model.team_name(key))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                repeats,
            )
        })
        .collect();
    html(
        StatusCode::OK,
        &SupportModelPage {
            layout: Layout::new("Support model", &ctx),
            model,
            rules,
            fallback: model
                .team(model.router.fallback())
                .map_or_else(|| model.router.fallback().to_string(), |t| t.name.clone()),
            sla,
            steps,
        },
    )
}

fn humanize(d: chrono::Duration) -> String {
    d.to_std()
        .map(|d| humantime::format_duration(d).to_string())
        .unwrap_or_default()
}

struct AuditRow {
    at: chrono::NaiveDateTime,
    actor: String,
    action: String,
    subject: String,
    detail: String,
    ip: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<AuditRow>,
}

pub async fn audit(ctx: PageContext, desk: web::Data<Desk>) -> Result<HttpResponse, PageError> {
    let entries = desk
        .db(|conn, _| Ok(AuditEntry::recent(conn, 300)?))
        .await?;
    let entries = entries
        .into_iter()
        .map(|e| AuditRow {
            at: e.at,
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            detail: e.detail,
            ip: e.ip.unwrap_or_default(),
        })
        .collect();
    html(
        StatusCode::OK,
        &AuditPage {
            layout: Layout::new("Audit log", &ctx),
            entries,
        },
    )
}

#[derive(Deserialize)]
pub struct RevokeLinkForm {
    number: String,
}

/// Revoke a ticket's tracking link: a new token replaces it, so the old link stops
/// working; the new link is shown here for the admin to pass on if that is right.
pub async fn revoke_link(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    form: web::Form<RevokeLinkForm>,
) -> Result<HttpResponse, PageError> {
    let id = TicketNumber::parse(&form.number)
        .map_err(AppError::BadRequest)?
        .id();
    let who = ctx.viewer.actor_name();
    let ip = client_ip_text(&req);
    let (number, token) = desk
        .db(move |conn, desk| {
            let now = desk.clock.now();
            write_transaction(conn, |conn| {
                let ticket = Ticket::find(conn, id)?;
                let token = tracking_token(now);
                Ticket::set_tracking_token(conn, ticket.id, &token, now)?;
                let detail = format!("tracking link revoked by {who}; a new link was issued");
                Event::insert_many(
                    conn,
                    &[NewEvent {
                        ticket_id: ticket.id,
                        kind: EventKind::TrackingLinkRevoked,
                        actor: &who,
                        detail: &detail,
                        public: false,
                        created_at: now,
                        version: ticket.version,
                    }],
                )?;
                accounts::audit(
                    conn,
                    &Actor {
                        name: &who,
                        ip: ip.as_deref(),
                    },
                    "tracking_link_revoked",
                    &ticket.number().to_string(),
                    "",
                    now,
                )?;
                Ok((ticket.number(), token))
            })
        })
        .await?;
    let notice = format!(
        "The old tracking link of {number} no longer works. New link: {}",
        desk.mail.tracking_url(&token)
    );
    let (accuracy, model) = desk
        .db(|conn, desk| Ok((Accuracy::load(conn)?, ModelView::load(conn, desk)?)))
        .await?;
    html(
        StatusCode::OK,
        &IndexPage {
            layout: Layout::new("Admin", &ctx),
            notice: Some(notice),
            accuracy,
            model,
        },
    )
}
