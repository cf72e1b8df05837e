//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::db::migrate;
use crate::error::AppError;
use crate::state::Desk;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers and holds every migration this binary knows.
pub async fn readyz(desk: web::Data<Desk>) -> HttpResponse {
    let check = desk.db(|conn, _| Ok(migrate::is_current(conn))).await;
    match check {
        Ok(Ok(true)) => HttpResponse::Ok()
            .json(json!({ "status": "ready", "database": "ok", "migrations": "current" })),
        Ok(Ok(false)) => HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "not ready", "database": "ok", "migrations": "pending" })),
        Ok(Err(e)) => database_unreachable(&e),
        // No connection to be had.
        Err(AppError::Unavailable(e)) => database_unreachable(&e),
        Err(_) => HttpResponse::ServiceUnavailable().json(json!({ "status": "not ready" })),
    }
}

fn database_unreachable(error: &dyn std::fmt::Display) -> HttpResponse {
    tracing::warn!(error = %error, "readiness check failed");
    HttpResponse::ServiceUnavailable()
        .json(json!({ "status": "not ready", "database": "unreachable" }))
}
