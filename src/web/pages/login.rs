//! Signing in and out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::{Layout, PageContext, PageError, html, redirect_target, see_other};
use crate::domain::local_path::LocalPath;
use crate::domain::role::Role;
use crate::error::AppError;
use crate::services::accounts::{self, Actor, SignInError};
use crate::state::Desk;
use crate::web::auth::client::{client_ip, client_ip_text};
use crate::web::auth::csrf;
use crate::web::auth::limits::Limits;
use crate::web::auth::session_store::USER_ID;

#[derive(Template)]
#[template(path = "account/login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn show(
    ctx: PageContext,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    // Only a path on this site goes into the form; anything else is dropped here.
    let next = query
        .next
        .as_deref()
        .and_then(|n| LocalPath::parse(n).ok())
        .map(|p| p.to_string())
        .unwrap_or_default();
    html(
        StatusCode::OK,
        &LoginPage {
            layout: Layout::new("Sign in", &ctx),
            email: String::new(),
            next,
            error: None,
        },
    )
}

pub async fn submit(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    limits: web::Data<Limits>,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    if !limits.sign_in.allow(client_ip(&req)) {
        return Err(AppError::TooManyRequests.into());
    }
    let form = form.into_inner();
    // Read before anything else, so a refused target signs nobody in and records nothing.
    let next = match form.next.as_deref() {
        Some(next) => redirect_target(next)?,
        None => None,
    };
    let ip = client_ip(&req);
    let (email, password) = (form.email.clone(), form.password.clone());
    let outcome = desk
        .db(move |conn, desk| accounts::sign_in(conn, &email, &password, ip, desk.clock.now()))
        .await?;
    match outcome {
        Ok(user) => {
            // A new session key at sign-in: a key planted before it is worthless.
            session.renew();
            session
                .insert(USER_ID, user.id)
                .map_err(AppError::internal)?;
            // And new CSRF tokens: none handed out before sign-in serves after it.
            csrf::start_session(&req, &session)?;
            let home = match user.role {
                Role::Admin => "/admin",
                _ => "/my/reports",
            };
            let target = if user.must_change_password {
                "/account/password".to_string()
            } else {
                next.map_or_else(|| home.to_string(), |p| p.to_string())
            };
            Ok(see_other(&target))
        }
        Err(failure) => {
            let next = next.map(|p| p.to_string()).unwrap_or_default();
            refused(&ctx, form.email, next, failure, desk.clock.now())
        }
    }
}

/// The sign-in form again, with why it failed. Known and unknown emails read the same.
fn refused(
    ctx: &PageContext,
    email: String,
    next: String,
    failure: SignInError,
    now: NaiveDateTime,
) -> Result<HttpResponse, PageError> {
    let (status, error, retry_after) = match failure {
        SignInError::BadCredentials => (
            StatusCode::UNAUTHORIZED,
            "That email and password do not match an account.".to_string(),
            None,
        ),
        SignInError::Locked { until } => {
            // Whole seconds, rounded up: never an invitation to come back early.
            let wait = ((until - now).num_milliseconds().max(0) as u64).div_ceil(1000);
            let error = format!(
                "Too many failed sign-ins with this email from your address: signing in is \
                 locked until {} (in {} min). Try again then.",
                ctx.moment(until).exact,
                wait.div_ceil(60).max(1)
            );
            (StatusCode::LOCKED, error, Some(wait))
        }
        SignInError::Deactivated => (
            StatusCode::FORBIDDEN,
            "This account is deactivated, so it cannot sign in. If you still need the desk, ask an admin to reactivate it.".to_string(),
            None,
        ),
    };
    let page = LoginPage {
        layout: Layout::new("Sign in", ctx),
        email,
        next,
        error: Some(error),
    };
    let mut response = html(status, &page)?;
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    Ok(response)
}

pub async fn logout(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    session: Session,
) -> Result<HttpResponse, PageError> {
    // purge() deletes the server-side session, not just the cookie.
    session.purge();
    csrf::end_session(&req);
    let who = ctx.viewer.actor_name();
    let ip = client_ip_text(&req);
    desk.db(move |conn, desk| {
        accounts::audit(
            conn,
            &Actor {
                name: &who,
                ip: ip.as_deref(),
            },
            "sign_out",
            &who,
            "",
            desk.clock.now(),
        )
    })
    .await?;
    Ok(see_other("/login"))
}
