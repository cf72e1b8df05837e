//! HTTP: pages for people, a JSON API for programs, health checks and static files.

pub mod api;
pub mod assets;
pub mod body;
pub mod health;
pub mod middleware;
pub mod pages;

use actix_web::web;

/// Every route the desk serves.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(health::routes)
        .configure(assets::routes)
        .configure(pages::routes)
        .service(web::scope("/api/v1").configure(api::routes));
}
