//! `GET /metrics`: the Prometheus text format. Counters and histograms from the process's
//! recorder, then gauges read from the database now.

use actix_web::{HttpResponse, web};

use crate::error::AppError;
use crate::services::gauges;
use crate::state::Desk;
use crate::telemetry::metrics;
use crate::web::api::ApiError;

/// The exposition format's media type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn scrape(desk: web::Data<Desk>) -> Result<HttpResponse, ApiError> {
    let gauges = web::block(move || -> Result<_, AppError> {
        let mut conn = desk.pool.get()?;
        Ok(gauges::read(&mut conn)?)
    })
    .await??;
    let mut body = metrics::install().render();
    body.push_str(&gauges.to_text());
    Ok(HttpResponse::Ok().content_type(TEXT_FORMAT).body(body))
}
