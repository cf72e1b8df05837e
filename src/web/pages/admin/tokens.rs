//! Admin: API tokens.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::models::api_token::ApiToken;
use crate::domain::report::FieldErrors;
use crate::domain::role::Scope;
use crate::error::AppError;
use crate::services::accounts::Actor;
use crate::services::tokens;
use crate::state::Desk;
use crate::web::auth::client::client_ip_text;
use crate::web::pages::{Layout, PageContext, PageError, html, see_other};

struct TokenRow {
    id: i64,
    name: String,
    prefix: String,
    scopes: String,
    created_by: String,
    created_at: chrono::NaiveDateTime,
    last_used_at: Option<chrono::NaiveDateTime>,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenRow>,
    scopes: [Scope; 4],
    created: Option<String>,
    errors: FieldErrors,
}

async fn render(
    ctx: &PageContext,
    desk: web::Data<Desk>,
    status: StatusCode,
    created: Option<String>,
    errors: FieldErrors,
) -> Result<HttpResponse, PageError> {
    let rows = desk.db(|conn, _| Ok(ApiToken::all(conn)?)).await?;
    let tokens = rows
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            scopes: t.scopes,
            created_by: t.created_by,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked: t.revoked_at.is_some(),
        })
        .collect();
    html(
        status,
        &TokensPage {
            layout: Layout::new("API tokens", ctx),
            tokens,
            scopes: Scope::ALL,
            created,
            errors,
        },
    )
}

pub async fn list(ctx: PageContext, desk: web::Data<Desk>) -> Result<HttpResponse, PageError> {
    render(&ctx, desk, StatusCode::OK, None, FieldErrors::new()).await
}

/// Create a token; its secret is shown once, on the page this answers with.
pub async fn create(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    crate::web::body::check_form_utf8(&body)?;
    // Checkboxes repeat the `scope` key, which serde_urlencoded cannot gather into a list.
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let name = pairs
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let wanted: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.as_str())
        .collect();
    let scopes = match Scope::parse_list(&wanted.join(",")) {
        Ok(scopes) => scopes,
        Err(e) => {
            return render(
                &ctx,
                desk,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                std::iter::once(("scope", e)).collect(),
            )
            .await;
        }
    };
    let who = ctx.viewer.actor_name();
    let ip = client_ip_text(&req);
    let created = desk
        .db(move |conn, desk| {
            tokens::create(
                conn,
                &Actor {
                    name: &who,
                    ip: ip.as_deref(),
                },
                &name,
                &scopes,
                desk.clock.now(),
            )
        })
        .await;
    match created {
        Ok(created) => {
            render(
                &ctx,
                desk,
                StatusCode::OK,
                Some(created.plain),
                FieldErrors::new(),
            )
            .await
        }
        Err(AppError::Invalid(errors)) => {
            render(&ctx, desk, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn revoke(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let who = ctx.viewer.actor_name();
    let ip = client_ip_text(&req);
    let id = id.into_inner();
    desk.db(move |conn, desk| {
        tokens::revoke(
            conn,
            &Actor {
                name: &who,
                ip: ip.as_deref(),
            },
            id,
            desk.clock.now(),
        )
    })
    .await?;
    Ok(see_other("/admin/tokens"))
}
