//! The OpenAPI 3 document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::OpenApi;

use super::{problem, reports, runs, tickets};
use crate::domain::report::RawReport;
use crate::domain::run_record::{RawColumn, RawRun};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "inspect-desk API",
        description = "Analyst reports, tickets and profiler run records."
    ),
    paths(reports::create, tickets::show, runs::ingest, runs::show),
    components(schemas(
        RawReport,
        RawRun,
        RawColumn,
        tickets::TicketJson,
        runs::RunJson,
        runs::ColumnJson,
        runs::IngestResult,
        problem::Problem
    ))
)]
pub struct ApiDoc;

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
