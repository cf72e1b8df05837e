//! Server-rendered pages, one module per surface.

pub mod account;
pub mod admin;
pub mod attachments;
pub mod error;
pub mod escalations;
pub mod incidents;
pub mod login;
pub mod queue;
pub mod report;
pub mod runbooks;
pub mod runs;
pub mod telemetry;
pub mod ticket;
pub mod ticket_mail;
pub mod ticket_view;
pub mod tracking;

use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use chrono_tz::Tz;
use std::future::{Ready, ready};

pub use error::PageError;

use crate::domain::humanize::{self, Moment};
use crate::domain::local_path::{LocalPath, NotLocal};
use crate::error::AppError;
use crate::state::Desk;
use crate::web::auth::{CsrfToken, Viewer};
use crate::web::flash::Flash;

/// The cookie the browser's own zone arrives in (`static/js/zone.js` sets it).
pub const ZONE_COOKIE: &str = "desk_tz";

/// Analysts come to report; the form is the front door.
pub async fn home() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", "/report"))
        .finish()
}

/// Who is looking, the token their forms must carry, and how they read times: their
/// zone and the desk's now.
#[derive(Debug, Clone)]
pub struct PageContext {
    pub viewer: Viewer,
    pub csrf: String,
    /// The reader's zone: their account's setting, else their browser's, else the support
    /// model's.
    pub zone: Tz,
    pub now: NaiveDateTime,
    /// The confirmation the last form's redirect carried here.
    pub flash: Option<String>,
}

impl PageContext {
    /// The signed-in account, for pages only signed-in people reach.
    pub fn signed_in(&self) -> Result<&crate::web::auth::SignedIn, AppError> {
        self.viewer
            .user
            .as_ref()
            .ok_or_else(|| AppError::Unauthorized("Sign in first.".into()))
    }

    /// An instant as this reader reads it.
    pub fn moment(&self, at: NaiveDateTime) -> Moment {
        Moment::new(at, self.zone, self.now)
    }
}

/// The first zone that names one: the account's, the browser's cookie, the default.
fn reader_zone(viewer: &Viewer, cookie: Option<&str>, default: Tz) -> Tz {
    let account = viewer.user.as_ref().and_then(|u| u.time_zone.as_deref());
    account
        .into_iter()
        .chain(cookie)
        .find_map(|name| name.parse::<Tz>().ok())
        .unwrap_or(default)
}

impl FromRequest for PageContext {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let extensions = req.extensions();
        let viewer = extensions.get::<Viewer>().cloned().unwrap_or_default();
        let desk = req.app_data::<web::Data<Desk>>();
        let default = desk.map_or(Tz::UTC, |d| d.model.time_zone);
        let cookie = req.cookie(ZONE_COOKIE);
        let zone = reader_zone(&viewer, cookie.as_ref().map(|c| c.value()), default);
        ready(Ok(PageContext {
            zone,
            now: desk.map_or_else(|| chrono::Utc::now().naive_utc(), |d| d.clock.now()),
            flash: extensions.get::<Flash>().map(|f| f.0.clone()),
            csrf: extensions
                .get::<CsrfToken>()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
            viewer,
        }))
    }
}

/// What the base layout needs, and how its pages show times.
pub struct Layout {
    pub title: String,
    pub css: String,
    /// The script that tells the desk the browser's zone.
    pub zone_js: String,
    pub csrf: String,
    pub user_email: Option<String>,
    pub is_admin: bool,
    pub is_agent: bool,
    pub is_owner: bool,
    /// The confirmation of the action that led here, shown once at the top.
    pub flash: Option<String>,
    pub zone: Tz,
    pub now: NaiveDateTime,
}

impl Layout {
    pub fn new(title: impl Into<String>, ctx: &PageContext) -> Self {
        let user = ctx.viewer.user.as_ref();
        Layout {
            title: title.into(),
            css: super::assets::asset_url("css/desk.css"),
            zone_js: super::assets::asset_url("js/zone.js"),
            csrf: ctx.csrf.clone(),
            user_email: user.map(|u| u.email.clone()),
            is_admin: ctx.viewer.has_role(crate::domain::role::Role::Admin),
            is_agent: ctx.viewer.has_role(crate::domain::role::Role::Agent),
            is_owner: ctx.viewer.has_role(crate::domain::role::Role::Owner),
            flash: ctx.flash.clone(),
            zone: ctx.zone,
            now: ctx.now,
        }
    }

    /// `<time>` for an instant: "Tue 8 Dec, 09:28 · 2 h ago" in the reader's zone, the
    /// exact instant in its `datetime` and hover title. Use with `|safe`: every part is
    /// built here from a date, never from what someone typed.
    pub fn time(&self, at: &NaiveDateTime) -> String {
        let m = Moment::new(*at, self.zone, self.now);
        format!(
            r#"<time datetime="{}" title="{}">{}</time>"#,
            m.iso,
            m.exact,
            m.text()
        )
    }

    /// `<time>` for a deadline: "due in 2 h 10 min" or "overdue by 3 h 18 min", its date
    /// on hover.
    pub fn due(&self, at: &NaiveDateTime) -> String {
        self.dated(at, humanize::due(*at, self.now))
    }

    /// `<time>` for an SLA in a dense row: "due in 2 h" or "breached 31 h ago".
    pub fn sla(&self, at: &NaiveDateTime) -> String {
        self.dated(at, humanize::sla(*at, self.now))
    }

    /// `<time>` for how long ago something began, as short as a dense row needs: "3 h",
    /// "2 d", its date on hover.
    pub fn age(&self, at: &NaiveDateTime) -> String {
        self.dated(at, humanize::coarse(self.now - *at))
    }

    /// `<time>` showing `text` about `at`, with its date and exact instant on hover.
    fn dated(&self, at: &NaiveDateTime, text: String) -> String {
        let m = Moment::new(*at, self.zone, self.now);
        format!(
            r#"<time datetime="{}" title="{} ({})">{}</time>"#,
            m.iso, m.date, m.exact, text
        )
    }

    /// For pages rendered without a request context (error pages).
    pub fn bare(title: impl Into<String>) -> Self {
        Layout {
            title: title.into(),
            css: super::assets::asset_url("css/desk.css"),
            zone_js: super::assets::asset_url("js/zone.js"),
            csrf: String::new(),
            user_email: None,
            is_admin: false,
            is_agent: false,
            is_owner: false,
            flash: None,
            zone: Tz::UTC,
            now: chrono::Utc::now().naive_utc(),
        }
    }
}

/// Render an askama template into an HTML response with the given status.
pub fn html(
    status: actix_web::http::StatusCode,
    page: &impl askama::Template,
) -> Result<HttpResponse, PageError> {
    let body = page.render().map_err(crate::error::AppError::from)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// A redirect target taken from a request, read by `LocalPath::parse` (the one rule for
/// every such target): a path on this site, `None` for one that leads elsewhere (the
/// caller goes to its default page instead), and 400 for control characters, which no
/// page of the desk writes.
pub fn redirect_target(target: &str) -> Result<Option<LocalPath>, AppError> {
    match LocalPath::parse(target) {
        Ok(path) => Ok(Some(path)),
        Err(NotLocal::Elsewhere) => Ok(None),
        Err(NotLocal::ControlCharacter) => Err(AppError::BadRequest(
            "The address to go to next holds control characters; nothing was done.".into(),
        )),
    }
}

/// A slug the desk writes into its own records ("sign_in_failed", "status_change") as a
/// reader sees it: "Sign in failed", "Status change". For open-ended kinds (audit actions,
/// mail templates) whose values are not one enum.
pub fn words(slug: &str) -> String {
    let spaced = slug.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// 303 to another page.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .finish()
}
