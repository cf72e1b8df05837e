//! Admin: users — their names, roles, one-time passwords, and deactivating an account
//! (its sessions end; its tokens and history stay).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use chrono::NaiveDateTime;

use crate::db::models::sign_in_throttle::SignInThrottle;
use crate::db::models::user::User;
use crate::domain::report::FieldErrors;
use crate::domain::role::Role;
use crate::error::AppError;
use crate::services::accounts::{self, Actor};
use crate::state::Desk;
use crate::web::auth::client::client_ip_text;
use crate::web::body;
use crate::web::flash;
use crate::web::pages::{Layout, PageContext, PageError, html};

struct UserRow {
    id: i64,
    email: String,
    name: String,
    role: Role,
    /// Client addresses that must wait before signing in to this account again.
    locked_addresses: usize,
    created_at: NaiveDateTime,
    deactivated_at: Option<NaiveDateTime>,
    /// The admin looking at the page: they cannot deactivate themselves.
    is_me: bool,
}

/// A name that was refused: whose, what was typed, and why.
struct NameError {
    user_id: i64,
    typed: String,
    message: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    roles: [Role; 4],
    notice: Option<String>,
    errors: FieldErrors,
    name_error: Option<NameError>,
}

#[derive(Deserialize)]
pub struct NameForm {
    name: String,
}

#[derive(Deserialize)]
pub struct NewUserForm {
    email: String,
    name: Option<String>,
    role: String,
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

async fn render(
    ctx: &PageContext,
    desk: web::Data<Desk>,
    status: StatusCode,
    notice: Option<String>,
    errors: FieldErrors,
) -> Result<HttpResponse, PageError> {
    render_with(ctx, desk, status, notice, errors, None).await
}

async fn render_with(
    ctx: &PageContext,
    desk: web::Data<Desk>,
    status: StatusCode,
    notice: Option<String>,
    errors: FieldErrors,
    name_error: Option<NameError>,
) -> Result<HttpResponse, PageError> {
    let now = desk.clock.now();
    let me = ctx.viewer.user.as_ref().map(|u| u.id);
    let (users, mut locked) = desk
        .db(move |conn, _| Ok((User::all(conn)?, SignInThrottle::locked_clients(conn, now)?)))
        .await?;
    let users = users
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            locked_addresses: locked.remove(&u.email).unwrap_or(0),
            is_me: Some(u.id) == me,
            email: u.email,
            name: u.name.unwrap_or_default(),
            role: u.role,
            created_at: u.created_at,
            deactivated_at: u.deactivated_at,
        })
        .collect();
    html(
        status,
        &UsersPage {
            layout: Layout::new("Users", ctx),
            users,
            roles: Role::ALL,
            notice,
            errors,
            name_error,
        },
    )
}

pub async fn list(ctx: PageContext, desk: web::Data<Desk>) -> Result<HttpResponse, PageError> {
    render(&ctx, desk, StatusCode::OK, None, FieldErrors::new()).await
}

/// Add a user; the one-time password is shown once, here.
pub async fn create(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    form: body::Form<NewUserForm>,
) -> Result<HttpResponse, PageError> {
    let role = match Role::parse(&form.role) {
        Ok(role) => role,
        Err(e) => {
            return render(
                &ctx,
                desk,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                std::iter::once(("role", e)).collect(),
            )
            .await;
        }
    };
    // A name by the desk's rules for names (one line, no control characters).
    let name = match crate::domain::text::name(form.name.as_deref().unwrap_or("")) {
        Ok(name) => name,
        Err(e) => {
            let errors = std::iter::once(("name", e)).collect();
            return render(&ctx, desk, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await;
        }
    };
    let who = ctx.viewer.actor_name();
    let ip = client_ip_text(&req);
    let email = form.email.clone();
    let created = desk
        .db(move |conn, desk| {
            let actor = Actor {
                name: &who,
                ip: ip.as_deref(),
            };
            accounts::create_user(
                conn,
                &actor,
                &email,
                name.as_deref(),
                role,
                None,
                desk.clock.now(),
            )
        })
        .await;
    match created {
        Ok((user, one_time)) => Ok(flash::see_other_with(
            "/admin/users",
            format!(
                "{} added as {}. One-time password (shown once; they must change it at first sign-in): {}",
                user.email,
                role.label(),
                one_time.unwrap_or_default()
            ),
        )),
        Err(AppError::Invalid(errors)) => {
            render(&ctx, desk, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await
        }
        Err(other) => Err(other.into()),
    }
}

/// Change a role: the user's sessions end so it applies at once.
pub async fn set_role(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    id: web::Path<i64>,
    form: body::Form<RoleForm>,
) -> Result<HttpResponse, PageError> {
    let role = Role::parse(&form.role).map_err(|e| AppError::invalid("role", e))?;
    let id = id.into_inner();
    if ctx.viewer.user.as_ref().is_some_and(|u| u.id == id) {
        return Err(AppError::Forbidden(
            "Admins cannot change their own role; ask another admin.".into(),
        )
        .into());
    }
    let who = ctx.viewer.actor_name();
    let ip = client_ip_text(&req);
    desk.db(move |conn, desk| {
        accounts::set_role(
            conn,
            &Actor {
                name: &who,
                ip: ip.as_deref(),
            },
            id,
            role,
            desk.clock.now(),
        )
    })
    .await
    .map(|user| {
        flash::see_other_with(
            "/admin/users",
            format!(
                "{} is now {}; their sessions ended so it applies at once.",
                user.email,
                user.role.label()
            ),
        )
    })
    .map_err(PageError)
}

fn actor_parts(req: &HttpRequest, ctx: &PageContext) -> (String, Option<String>) {
    (ctx.viewer.actor_name(), client_ip_text(req))
}

/// Change the name an account shows; a refused name comes back beside its field.
pub async fn set_name(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    id: web::Path<i64>,
    form: body::Form<NameForm>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let (who, ip) = actor_parts(&req, &ctx);
    let typed = form.name.clone();
    let changed = desk
        .db(move |conn, desk| {
            let actor = Actor {
                name: &who,
                ip: ip.as_deref(),
            };
            accounts::set_name(conn, &actor, id, &typed, desk.clock.now())
        })
        .await;
    match changed {
        Ok(user) => Ok(flash::see_other_with(
            "/admin/users",
            match &user.name {
                Some(name) => format!("{} is now shown as {name}.", user.email),
                None => format!("{} has no name now; their email is shown.", user.email),
            },
        )),
        Err(AppError::Invalid(errors)) => {
            let message = errors
                .get("name")
                .cloned()
                .unwrap_or_else(|| "This name cannot be used.".into());
            let name_error = NameError {
                user_id: id,
                typed: form.name.clone(),
                message,
            };
            render_with(
                &ctx,
                desk,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                FieldErrors::new(),
                Some(name_error),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

/// Deactivate an account: it cannot sign in, its sessions end now, nobody can assign it
/// work; the tokens it created stay listed.
pub async fn deactivate(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    if ctx.viewer.user.as_ref().is_some_and(|u| u.id == id) {
        return Ok(flash::see_other_with(
            "/admin/users",
            "You cannot deactivate your own account; ask another admin.",
        ));
    }
    set_active(req, ctx, desk, id, false).await
}

/// Reactivate an account: it can sign in again with its password.
pub async fn reactivate(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    set_active(req, ctx, desk, id.into_inner(), true).await
}

async fn set_active(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    id: i64,
    active: bool,
) -> Result<HttpResponse, PageError> {
    let (who, ip) = actor_parts(&req, &ctx);
    let user = desk
        .db(move |conn, desk| {
            let actor = Actor {
                name: &who,
                ip: ip.as_deref(),
            };
            accounts::set_active(conn, &actor, id, active, desk.clock.now())
        })
        .await?;
    let message = if active {
        format!("{} is active again and can sign in.", user.email)
    } else {
        format!(
            "{} is deactivated: they cannot sign in, their sessions ended, and nobody can assign them tickets. Tokens they created stay listed under Tokens.",
            user.email
        )
    };
    Ok(flash::see_other_with("/admin/users", message))
}

/// Issue a one-time password, shown once in the confirmation; it must be changed at the
/// next sign-in, and the account's sessions end.
pub async fn one_time_password(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let (who, ip) = actor_parts(&req, &ctx);
    let (user, password) = desk
        .db(move |conn, desk| {
            let actor = Actor {
                name: &who,
                ip: ip.as_deref(),
            };
            accounts::issue_one_time_password(conn, &actor, id, desk.clock.now())
        })
        .await?;
    let reactivate = if user.is_active() {
        ""
    } else {
        " The account is still deactivated: reactivate it before they can sign in."
    };
    Ok(flash::see_other_with(
        "/admin/users",
        format!(
            "One-time password for {} (shown once; they must change it at next sign-in): {password}{reactivate}",
            user.email
        ),
    ))
}
