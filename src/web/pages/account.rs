//! A signed-in person's own pages: their reports, their password and their settings.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Layout, PageContext, PageError, html, see_other};
use crate::db::models::ticket::Ticket;
use crate::db::models::user::User;
use crate::domain::report::FieldErrors;
use crate::domain::text::first_line;
use crate::error::AppError;
use crate::services::accounts;
use crate::state::Desk;
use crate::web::auth::session_store::USER_ID;

#[derive(Template)]
#[template(path = "account/password.html")]
struct PasswordPage {
    layout: Layout,
    must_change: bool,
    errors: FieldErrors,
}

impl PasswordPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

/// A row of the analyst's own list.
struct MyTicket {
    number: String,
    token: String,
    summary: String,
    status: &'static str,
    category: &'static str,
    created_at: chrono::NaiveDateTime,
}

#[derive(Template)]
#[template(path = "account/my_reports.html")]
struct MyReportsPage {
    layout: Layout,
    tickets: Vec<MyTicket>,
}

pub async fn show_password(ctx: PageContext) -> Result<HttpResponse, PageError> {
    let must_change = ctx.signed_in()?.must_change_password;
    html(
        StatusCode::OK,
        &PasswordPage {
            layout: Layout::new("Change your password", &ctx),
            must_change,
            errors: FieldErrors::new(),
        },
    )
}

pub async fn change_password(
    ctx: PageContext,
    desk: web::Data<Desk>,
    session: Session,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let me = ctx.signed_in()?.clone();
    let form = form.into_inner();
    let result = if form.new_password != form.confirm_password {
        Err(AppError::Invalid(
            std::iter::once((
                "confirm_password",
                "The two new passwords differ.".to_string(),
            ))
            .collect(),
        ))
    } else {
        desk.db(move |conn, desk| {
            let user = User::find(conn, me.id)?.ok_or(AppError::NotFound)?;
            // Every session of the user ends, this one included; renew() below gives this
            // browser a fresh one so the person stays signed in here only.
            accounts::change_password(
                conn,
                &user,
                &form.current_password,
                &form.new_password,
                None,
                desk.clock.now(),
            )
        })
        .await
    };
    match result {
        Ok(()) => {
            session.renew();
            session
                .insert(USER_ID, ctx.viewer.user.as_ref().map(|u| u.id))
                .map_err(AppError::internal)?;
            Ok(see_other("/my/reports"))
        }
        Err(AppError::Invalid(errors)) => {
            let must_change = ctx
                .viewer
                .user
                .as_ref()
                .is_some_and(|u| u.must_change_password);
            html(
                StatusCode::UNPROCESSABLE_ENTITY,
                &PasswordPage {
                    layout: Layout::new("Change your password", &ctx),
                    must_change,
                    errors,
                },
            )
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn my_reports(
    ctx: PageContext,
    desk: web::Data<Desk>,
) -> Result<HttpResponse, PageError> {
    let email = ctx.signed_in()?.email.clone();
    let tickets = desk
        .db(move |conn, _| Ok(Ticket::for_reporter(conn, &email, 200)?))
        .await?;
    let tickets = tickets
        .into_iter()
        .map(|t| MyTicket {
            number: t.number().to_string(),
            summary: first_line(&t.description, 100),
            token: t.tracking_token,
            status: t.status.reporter_label(),
            category: t.category.label(),
            created_at: t.created_at,
        })
        .collect();
    html(
        StatusCode::OK,
        &MyReportsPage {
            layout: Layout::new("My reports", &ctx),
            tickets,
        },
    )
}

#[derive(Template)]
#[template(path = "account/settings.html")]
struct SettingsPage {
    layout: Layout,
    /// The zone chosen (an IANA name), or "" for the browser's.
    chosen: String,
    zones: Vec<&'static str>,
    error: Option<String>,
}

/// The zones a person can pick: every IANA region/city name, and UTC.
fn zone_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| z.name())
        .filter(|n| {
            n.contains('/')
                && !n.starts_with("Etc/")
                && !n.starts_with("SystemV/")
                && !n.starts_with("US/")
                && n.chars().next().is_some_and(char::is_uppercase)
        })
        .collect();
    names.push("UTC");
    names.sort_unstable();
    names
}

fn settings_page(ctx: &PageContext, chosen: String, error: Option<String>) -> SettingsPage {
    SettingsPage {
        layout: Layout::new("Your settings", ctx),
        chosen,
        zones: zone_names(),
        error,
    }
}

pub async fn show_settings(ctx: PageContext) -> Result<HttpResponse, PageError> {
    let chosen = ctx.signed_in()?.time_zone.clone().unwrap_or_default();
    html(StatusCode::OK, &settings_page(&ctx, chosen, None))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    time_zone: String,
}

/// Save the reader's zone: a name from the list, or none (follow the browser).
pub async fn save_settings(
    ctx: PageContext,
    desk: web::Data<Desk>,
    form: crate::web::body::Form<SettingsForm>,
) -> Result<HttpResponse, PageError> {
    let me = ctx.signed_in()?.id;
    let name = form.into_inner().time_zone.trim().to_string();
    let zone = if name.is_empty() {
        None
    } else {
        match name.parse::<chrono_tz::Tz>() {
            Ok(zone) => Some(zone),
            Err(_) => {
                let error = format!("'{name}' is not a time zone; pick one from the list.");
                return html(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &settings_page(&ctx, name, Some(error)),
                );
            }
        }
    };
    desk.db(move |conn, desk| accounts::set_time_zone(conn, me, zone, desk.clock.now()))
        .await?;
    let message = match zone {
        Some(zone) => format!("Saved: times now show in {}.", zone.name()),
        None => "Saved: times now follow your browser's time zone.".to_string(),
    };
    Ok(crate::web::flash::see_other_with(
        "/account/settings",
        message,
    ))
}
