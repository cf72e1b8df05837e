//! `GET /metrics`: the Prometheus text format. Counters and histograms from the process's
//! recorder, then gauges read from the database now.

use actix_web::{HttpResponse, web};

use crate::services::gauges;
use crate::state::Desk;
use crate::telemetry::metrics;
use crate::web::api::ApiError;

/// The exposition format's media type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn scrape(desk: web::Data<Desk>) -> Result<HttpResponse, ApiError> {
    let gauges = desk.db(|conn, _| Ok(gauges::read(conn)?)).await?;
    let mut body = metrics::install().render();
    body.push_str(&gauges.to_text());
    Ok(HttpResponse::Ok().content_type(TEXT_FORMAT).body(body))
}
