//! Every route the desk serves, with who may use it, in one table. The authorization
//! test walks this table, so a route cannot be added without deciding its access.

use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, ResponseError, guard, web};

use super::auth::access::{self, Access};
use super::auth::csrf;
use super::{api, assets, health, metrics, pages};
use crate::domain::role::{Role, Scope};
use crate::error::AppError;
use crate::web::api::ApiError;
use crate::web::pages::PageError;

/// One route: method, path pattern, access rule.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

macro_rules! route_table {
    ($($method:ident $path:literal => $handler:path, $access:expr;)*) => {
        /// The table, for tests and the admin pages.
        pub const ROUTES: &[RouteSpec] = &[
            $(RouteSpec { method: stringify!($method), path: $path, access: $access },)*
        ];

        /// Register every route with its access check.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            let mut paths = Paths::default();
            $(
                paths.add(
                    $path,
                    Method::$method,
                    checked_form(
                        $path,
                        web::route()
                            .guard(Answers(Method::$method))
                            .to($handler)
                            .wrap(from_fn(|req, next| access::check($access, req, next))),
                        Method::$method,
                    ),
                );
            )*
            paths.register(cfg);
        }
    };
}

/// The forms that may carry files (`multipart/form-data`): their body is read up to the
/// attachment limits rather than the form limit, by the CSRF check that finds its token.
pub const FILE_FORMS: &[&str] = &[
    "/report",
    "/t/{token}",
    "/t/{token}/reply",
    "/tickets/{number}/comment",
];

/// A form (a POST outside the JSON API) is checked for its CSRF token before its access
/// rule, as a forged form is refused whoever it claims to come from.
fn checked_form(path: &str, route: actix_web::Route, method: Method) -> actix_web::Route {
    if method != Method::POST || path.starts_with("/api/") {
        route
    } else if FILE_FORMS.contains(&path) {
        route.wrap(from_fn(csrf::check_with_files))
    } else {
        route.wrap(from_fn(csrf::check))
    }
}

/// A route's method; a GET route answers HEAD too, with the same headers and no body
/// (actix-web writes no body for HEAD).
struct Answers(Method);

impl guard::Guard for Answers {
    fn check(&self, ctx: &guard::GuardContext<'_>) -> bool {
        let asked = &ctx.head().method;
        *asked == self.0 || (self.0 == Method::GET && *asked == Method::HEAD)
    }
}

/// The routes of each path, in the table's order. The routes of one path share one
/// resource, so a path the desk knows, asked with a method it does not take, answers 405
/// with `Allow` rather than falling through to 404.
#[derive(Default)]
struct Paths(Vec<(&'static str, Vec<Method>, Vec<actix_web::Route>)>);

impl Paths {
    fn add(&mut self, path: &'static str, method: Method, route: actix_web::Route) {
        match self.0.iter_mut().find(|(p, _, _)| *p == path) {
            Some((_, methods, routes)) => {
                methods.push(method);
                routes.push(route);
            }
            None => self.0.push((path, vec![method], vec![route])),
        }
    }

    fn register(self, cfg: &mut web::ServiceConfig) {
        for (path, methods, routes) in self.0 {
            let allow = allowed(&methods);
            let resource = routes
                .into_iter()
                .fold(web::resource(path), |resource, route| resource.route(route));
            cfg.service(resource.default_service(web::to(move |req: HttpRequest| {
                std::future::ready(method_not_allowed(&req, &allow))
            })));
        }
    }
}

/// The `Allow` header for these methods: HEAD beside GET.
fn allowed(methods: &[Method]) -> String {
    let mut names = Vec::new();
    for method in methods {
        names.push(method.as_str());
        if *method == Method::GET {
            names.push(Method::HEAD.as_str());
        }
    }
    names.join(", ")
}

/// 405 with `Allow`: a problem document on the API, an HTML page elsewhere.
fn method_not_allowed(req: &HttpRequest, allow: &str) -> HttpResponse {
    let error = AppError::MethodNotAllowed(format!("This address takes {allow} requests only."));
    let mut response = if req.path().starts_with("/api/") {
        ApiError(error).error_response()
    } else {
        PageError(error).error_response()
    };
    if let Ok(value) = HeaderValue::from_str(allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

route_table! {
    GET "/healthz" => health::healthz, Access::Public;
    GET "/readyz" => health::readyz, Access::Public;
    // A bearer token with the `metrics` scope, not Public: behind a reverse proxy every
    // request comes from a loopback address, so "internal network only" cannot be told
    // apart, and the numbers (ticket volumes, team names) are not for the internet. A
    // scope of its own keeps the scraper's token away from ticket data.
    GET "/metrics" => metrics::scrape, Access::Scope(Scope::Metrics);
    GET "/static/{version}/{path:.*}" => assets::serve, Access::Public;

    GET "/" => pages::home, Access::Public;
    GET "/report" => pages::report::show, Access::Public;
    POST "/report" => pages::report::submit, Access::Public;
    POST "/known-issues/{number}/join" => pages::report::join_known_issue, Access::Public;
    GET "/t/{token}" => pages::tracking::show, Access::Public;
    // The reply form posts to the page's own address: a reply shown again with its
    // message stays at an address that opens the page.
    POST "/t/{token}" => pages::tracking::reply, Access::Public;

    POST "/t/{token}/reply" => pages::tracking::reply, Access::Public;
    // The reporter's files: public ones of their own ticket, through its tracking link.
    GET "/t/{token}/attachments/{id}" => pages::attachments::for_reporter, Access::Public;

    GET "/queue" => pages::queue::index, Access::Role(Role::Agent);
    POST "/queue/bulk" => pages::queue::bulk, Access::Role(Role::Agent);
    POST "/queue/views" => pages::queue::save_view, Access::Role(Role::Agent);
    POST "/queue/views/{id}/delete" => pages::queue::delete_view, Access::Role(Role::Agent);
    GET "/tickets/{number}" => pages::ticket::show, Access::Role(Role::Agent);
    POST "/tickets/{number}/update" => pages::ticket::update, Access::Role(Role::Agent);
    POST "/tickets/{number}/comment" => pages::ticket::comment, Access::Role(Role::Agent);
    GET "/tickets/{number}/attachments/{id}" => pages::attachments::for_agents, Access::Role(Role::Agent);
    POST "/tickets/{number}/merge" => pages::ticket::merge, Access::Role(Role::Agent);
    POST "/tickets/{number}/runs" => pages::ticket::runs, Access::Role(Role::Agent);
    POST "/tickets/{number}/verdict" => pages::ticket::verdict, Access::Role(Role::Agent);
    POST "/tickets/{number}/incident" => pages::ticket::incident, Access::Role(Role::Agent);
    GET "/tickets/{number}/mail/{id}" => pages::ticket_mail::original, Access::Role(Role::Agent);
    POST "/tickets/{number}/mail/{id}/publish" => pages::ticket_mail::publish, Access::Role(Role::Agent);
    POST "/tickets/{number}/mail-hold" => pages::ticket_mail::clear_hold, Access::Role(Role::Agent);
    GET "/incidents" => pages::incidents::index, Access::Role(Role::Agent);
    GET "/runs" => pages::runs::index, Access::Role(Role::Agent);
    GET "/runs/{run_id}" => pages::runs::show, Access::Role(Role::Agent);
    GET "/telemetry" => pages::telemetry::index, Access::Role(Role::Agent);
    GET "/runbooks" => pages::runbooks::index, Access::Role(Role::Agent);
    GET "/runbooks/{name}" => pages::runbooks::show, Access::Role(Role::Agent);

    GET "/escalations" => pages::escalations::index, Access::Role(Role::Owner);
    POST "/escalations/{number}/ack" => pages::escalations::acknowledge, Access::Role(Role::Owner);
    GET "/ack/{token}" => pages::escalations::ack_link, Access::Public;
    POST "/ack/{token}" => pages::escalations::ack_confirm, Access::Public;

    GET "/login" => pages::login::show, Access::Public;
    POST "/login" => pages::login::submit, Access::Public;
    POST "/logout" => pages::login::logout, Access::SignedIn;
    GET "/account/password" => pages::account::show_password, Access::SignedIn;
    POST "/account/password" => pages::account::change_password, Access::SignedIn;
    GET "/my/reports" => pages::account::my_reports, Access::SignedIn;
    GET "/account/settings" => pages::account::show_settings, Access::SignedIn;
    POST "/account/settings" => pages::account::save_settings, Access::SignedIn;

    GET "/admin" => pages::admin::index, Access::Role(Role::Admin);
    GET "/admin/users" => pages::admin::users::list, Access::Role(Role::Admin);
    POST "/admin/users" => pages::admin::users::create, Access::Role(Role::Admin);
    POST "/admin/users/{id}/role" => pages::admin::users::set_role, Access::Role(Role::Admin);
    POST "/admin/users/{id}/name" => pages::admin::users::set_name, Access::Role(Role::Admin);
    POST "/admin/users/{id}/deactivate" => pages::admin::users::deactivate, Access::Role(Role::Admin);
    POST "/admin/users/{id}/reactivate" => pages::admin::users::reactivate, Access::Role(Role::Admin);
    POST "/admin/users/{id}/one-time-password" => pages::admin::users::one_time_password, Access::Role(Role::Admin);
    GET "/admin/tokens" => pages::admin::tokens::list, Access::Role(Role::Admin);
    POST "/admin/tokens" => pages::admin::tokens::create, Access::Role(Role::Admin);
    POST "/admin/tokens/{id}/revoke" => pages::admin::tokens::revoke, Access::Role(Role::Admin);
    GET "/admin/support-model" => pages::admin::support_model, Access::Role(Role::Admin);
    GET "/admin/outbox" => pages::admin::outbox::list, Access::Role(Role::Admin);
    POST "/admin/outbox/{id}/retry" => pages::admin::outbox::retry, Access::Role(Role::Admin);
    GET "/admin/mail" => pages::admin::mail::list, Access::Role(Role::Admin);
    POST "/admin/mail/held" => pages::admin::mail::clear_hold, Access::Role(Role::Admin);
    GET "/admin/drills" => pages::admin::drills::list, Access::Role(Role::Admin);
    POST "/admin/drills" => pages::admin::drills::start, Access::Role(Role::Admin);
    GET "/admin/drills/{id}" => pages::admin::drills::show, Access::Role(Role::Admin);
    GET "/admin/audit" => pages::admin::audit, Access::Role(Role::Admin);
    POST "/admin/tracking-links/revoke" => pages::admin::revoke_link, Access::Role(Role::Admin);

    POST "/api/v1/reports" => api::reports::create, Access::Public;
    GET "/api/v1/tickets" => api::tickets::list, Access::Scope(Scope::Read);
    GET "/api/v1/tickets/{number}" => api::tickets::show, Access::Scope(Scope::Read);
    PATCH "/api/v1/tickets/{number}" => api::tickets::patch, Access::Scope(Scope::Write);
    POST "/api/v1/tickets/{number}/comments" => api::tickets::comment, Access::Scope(Scope::Write);
    POST "/api/v1/tickets/{number}/merge" => api::tickets::merge, Access::Scope(Scope::Write);
    POST "/api/v1/tickets/{number}/ack" => api::tickets::ack, Access::Scope(Scope::Write);
    GET "/api/v1/tickets/{number}/events" => api::tickets::events, Access::Scope(Scope::Read);
    POST "/api/v1/tickets/{number}/attachments" => api::attachments::upload, Access::Scope(Scope::Write);
    GET "/api/v1/tickets/{number}/attachments/{id}" => api::attachments::show, Access::Scope(Scope::Read);
    POST "/api/v1/runs" => api::runs::ingest, Access::Scope(Scope::Ingest);
    GET "/api/v1/runs/{run_id}" => api::runs::show, Access::Scope(Scope::Read);
    POST "/api/v1/lineage" => api::lineage::ingest, Access::Scope(Scope::Ingest);
    POST "/api/v1/inbound-mail" => api::inbound_mail::receive, Access::Scope(Scope::Ingest);
    GET "/api/v1/incidents" => api::incidents::list, Access::Scope(Scope::Read);
    POST "/api/v1/incidents/{number}/updates" => api::incidents::post_update, Access::Scope(Scope::Write);
    GET "/api/v1/openapi.json" => api::openapi::document, Access::Public;
}
