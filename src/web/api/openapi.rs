//! The OpenAPI 3 document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::OpenApi;

use super::{incidents, lineage, problem, reports, runs, tickets};
use crate::domain::report::RawReport;
use crate::domain::run_record::{RawColumn, RawRun};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "inspect-desk API",
        description = "Analyst reports, tickets and profiler run records."
    ),
    paths(reports::create, tickets::show, tickets::list, tickets::patch, tickets::comment, tickets::merge, tickets::events,
        tickets::ack, runs::ingest, runs::show, lineage::ingest, incidents::list),
    modifiers(&BearerAuth),
    components(schemas(
        RawReport,
        RawRun,
        RawColumn,
        tickets::TicketJson,
        tickets::SlaJson,
        tickets::TicketPage,
        tickets::TicketPatch,
        tickets::ConflictJson,
        tickets::CommentBody,
        tickets::MergeBody,
        tickets::EventJson,
        tickets::EscalationJson,
        runs::RunJson,
        runs::ColumnJson,
        runs::IngestResult,
        lineage::LineageResult,
        incidents::IncidentJson,
        incidents::IncidentList,
        problem::Problem
    ))
)]
pub struct ApiDoc;

/// Declares the bearer-token scheme the paths' `security` entries name.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
