//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::db::migrate;
use crate::state::Desk;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers and holds every migration this binary knows.
pub async fn readyz(desk: web::Data<Desk>) -> HttpResponse {
    let check = web::block(move || -> Result<bool, String> {
        let mut conn = desk.pool.get().map_err(|e| e.to_string())?;
        migrate::is_current(&mut conn)
    })
    .await;
    match check {
        Ok(Ok(true)) => HttpResponse::Ok()
            .json(json!({ "status": "ready", "database": "ok", "migrations": "current" })),
        Ok(Ok(false)) => HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "not ready", "database": "ok", "migrations": "pending" })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "not ready", "database": "unreachable" }))
        }
        Err(_) => HttpResponse::ServiceUnavailable().json(json!({ "status": "not ready" })),
    }
}
