//! The identity behind a request, worked out once by middleware and read by handlers.

use actix_session::SessionExt;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use std::future::{Ready, ready};

use super::session_store::USER_ID;
use crate::db::models::user::User;
use crate::domain::role::{Role, Scope};
use crate::services::tokens;
use crate::state::Desk;

/// A person signed in with a session (or vouched for by the auth proxy).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub must_change_password: bool,
    /// The zone they chose to read times in, if any (an IANA name).
    pub time_zone: Option<String>,
}

/// A program calling the API with a bearer token.
#[derive(Debug, Clone)]
pub struct TokenCaller {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
}

/// Who is asking; both parts empty for anonymous requests.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub user: Option<SignedIn>,
    pub token: Option<TokenCaller>,
    /// A bearer token was sent but is unknown or revoked.
    pub bad_token: bool,
}

impl Viewer {
    pub fn role(&self) -> Option<Role> {
        self.user.as_ref().map(|u| u.role)
    }

    pub fn has_role(&self, needed: Role) -> bool {
        self.role().is_some_and(|r| r.includes(needed))
    }

    /// Name for the audit log and timelines.
    /// The actor a service records for what this viewer does.
    pub fn who(&self) -> crate::services::ticket_changes::Who {
        crate::services::ticket_changes::Who {
            name: self.actor_name(),
            user_id: self.user.as_ref().map(|u| u.id),
        }
    }

    pub fn actor_name(&self) -> String {
        match (&self.user, &self.token) {
            (Some(u), _) => u.email.clone(),
            (None, Some(t)) => format!("token:{}", t.name),
            (None, None) => "anonymous".into(),
        }
    }
}

impl FromRequest for Viewer {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(req
            .extensions()
            .get::<Viewer>()
            .cloned()
            .unwrap_or_default()))
    }
}

/// Middleware: identify the caller. API paths and `/metrics` (scraped by Prometheus) look
/// at the bearer token only; pages at the session, or at the auth proxy's header when it
/// comes from a trusted proxy address.
pub async fn identify(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let desk = req
        .app_data::<web::Data<Desk>>()
        .cloned()
        .expect("desk state is registered");
    let viewer = if req.path().starts_with("/api/") || req.path() == "/metrics" {
        from_bearer(&req, &desk).await?
    } else {
        let session_user = req.get_session().get::<i64>(USER_ID).ok().flatten();
        let proxy_email = proxy_email(&req, &desk);
        from_session_or_proxy(&desk, session_user, proxy_email).await?
    };
    req.extensions_mut().insert(viewer);
    next.call(req).await
}

async fn from_bearer(
    req: &ServiceRequest,
    desk: &web::Data<Desk>,
) -> Result<Viewer, actix_web::Error> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let Some(bearer) = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_string)
    else {
        return Ok(Viewer {
            bad_token: header.is_some(),
            ..Viewer::default()
        });
    };
    let ip = super::client::client_ip_text(req.request());
    let found = desk
        .db(move |conn, desk| tokens::authenticate(conn, &bearer, ip.as_deref(), desk.clock.now()))
        .await
        .map_err(crate::web::api::ApiError)?;
    Ok(match found {
        Some((token, scopes)) => Viewer {
            token: Some(TokenCaller {
                id: token.id,
                name: token.name,
                scopes,
            }),
            ..Viewer::default()
        },
        None => Viewer {
            bad_token: true,
            ..Viewer::default()
        },
    })
}

/// The proxy's header, honoured only when the request comes from a configured proxy.
fn proxy_email(req: &ServiceRequest, desk: &Desk) -> Option<String> {
    let auth = &desk.auth;
    let header = auth.proxy_header.as_deref()?;
    let peer = req.peer_addr()?.ip();
    if !auth.proxy_addresses.iter().any(|net| net.contains(&peer)) {
        return None;
    }
    req.headers()
        .get(header)?
        .to_str()
        .ok()
        .map(|v| v.trim().to_lowercase())
        .filter(|v| !v.is_empty())
}

async fn from_session_or_proxy(
    desk: &web::Data<Desk>,
    session_user: Option<i64>,
    proxy_email: Option<String>,
) -> Result<Viewer, actix_web::Error> {
    if session_user.is_none() && proxy_email.is_none() {
        return Ok(Viewer::default());
    }
    let user = desk
        .db(move |conn, _| {
            Ok(match (session_user, proxy_email) {
                (Some(id), _) => User::find(conn, id)?,
                (None, Some(email)) => User::find_by_email(conn, &email)?,
                (None, None) => None,
            })
        })
        .await
        .map_err(crate::web::pages::PageError)?;
    // A deactivated account's sessions end as it is deactivated; an auth proxy may still
    // vouch for it, and is not believed.
    let user = user.filter(User::is_active).map(|u| SignedIn {
        id: u.id,
        email: u.email,
        name: u.name,
        role: u.role,
        must_change_password: u.must_change_password,
        time_zone: u.time_zone,
    });
    Ok(Viewer {
        user,
        ..Viewer::default()
    })
}
