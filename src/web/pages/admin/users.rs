//! Admin: users and their roles.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::clock::rfc3339;
use crate::db::models::sign_in_throttle::SignInThrottle;
use crate::db::models::user::User;
use crate::domain::report::FieldErrors;
use crate::domain::role::Role;
use crate::error::AppError;
use crate::services::accounts::{self, Actor};
use crate::state::Desk;
use crate::web::auth::client::client_ip_text;
use crate::web::body;
use crate::web::pages::{Layout, PageContext, PageError, html, see_other};

struct UserRow {
    id: i64,
    email: String,
    name: String,
    role: String,
    /// Client addresses that must wait before signing in to this account again.
    locked_addresses: usize,
    created_at: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    roles: [Role; 4],
    notice: Option<String>,
    errors: FieldErrors,
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
    let now = desk.clock.now();
    let (users, mut locked) = desk
        .db(move |conn, _| Ok((User::all(conn)?, SignInThrottle::locked_clients(conn, now)?)))
        .await?;
    let users = users
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            locked_addresses: locked.remove(&u.email).unwrap_or(0),
            email: u.email,
            name: u.name.unwrap_or_default(),
            role: u.role.to_string(),
            created_at: rfc3339(u.created_at),
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
        Ok((user, one_time)) => {
            let notice = format!(
                "{} added as {role}. One-time password (shown once; they must change it at first sign-in): {}",
                user.email,
                one_time.unwrap_or_default()
            );
            render(&ctx, desk, StatusCode::OK, Some(notice), FieldErrors::new()).await
        }
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
    .await?;
    Ok(see_other("/admin/users"))
}
