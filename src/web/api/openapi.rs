//! The OpenAPI 3 document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::OpenApi;

use super::{
    attachments, inbound_mail, incidents, lineage, problem, reports, runs, ticket_patch, tickets,
};
use crate::domain::report::RawReport;
use crate::domain::run_record::{RawColumn, RawRun};
use crate::web::auth::access::Access;
use crate::web::routes::ROUTES;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "inspect-desk API",
        description = "Analyst reports, tickets and profiler run records."
    ),
    paths(reports::create, tickets::show, tickets::list, tickets::patch, tickets::comment, tickets::merge, tickets::events,
        tickets::ack, attachments::upload, attachments::show, runs::ingest, runs::show, lineage::ingest, inbound_mail::receive, incidents::list,
        incidents::post_update),
    modifiers(&BearerAuth, &CommonAnswers),
    components(schemas(
        RawReport,
        RawRun,
        RawColumn,
        tickets::TicketJson,
        tickets::SlaJson,
        tickets::TicketPage,
        ticket_patch::TicketPatch,
        tickets::ConflictJson,
        tickets::CommentBody,
        tickets::MergeBody,
        tickets::EventJson,
        tickets::EscalationJson,
        attachments::AttachmentJson,
        attachments::UploadForm,
        runs::RunJson,
        runs::ColumnJson,
        runs::IngestResult,
        lineage::LineageResult,
        inbound_mail::InboundResult,
        incidents::IncidentJson,
        incidents::IncidentList,
        incidents::UpdateBody,
        incidents::IncidentUpdateJson,
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

/// What every operation can answer besides its own responses, added where a handler's
/// annotation does not say it already. Security comes from the route table, so the
/// document cannot drift from the access checks: a scope's routes name it and answer 401
/// (no, unknown or revoked token) and 403 (a token without the scope).
struct CommonAnswers;

impl utoipa::Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::security::SecurityRequirement;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let methods = [
                ("GET", &mut item.get),
                ("POST", &mut item.post),
                ("PATCH", &mut item.patch),
                ("PUT", &mut item.put),
                ("DELETE", &mut item.delete),
            ];
            for (method, operation) in methods {
                let Some(operation) = operation else {
                    continue;
                };
                let access = ROUTES
                    .iter()
                    .find(|r| r.path == path && r.method == method)
                    .map(|r| r.access);
                match access {
                    Some(Access::Scope(scope)) => {
                        operation.security =
                            Some(vec![SecurityRequirement::new("bearer", [scope.as_str()])]);
                        answer(
                            operation,
                            401,
                            "No bearer token, or an unknown or revoked one",
                        );
                        answer(
                            operation,
                            403,
                            "The token lacks the scope this operation needs",
                        );
                    }
                    Some(Access::Public) => operation.security = None,
                    // Every documented operation is an API route (a unit test below).
                    _ => {}
                }
                if operation.request_body.is_some() {
                    answer(operation, 400, "Malformed JSON");
                    answer(operation, 413, "Body too large");
                    answer(operation, 415, "Not JSON");
                }
                let takes = |place: ParameterIn| {
                    operation
                        .parameters
                        .iter()
                        .flatten()
                        .any(|p| p.parameter_in == place)
                };
                let (query, path_params) = (takes(ParameterIn::Query), takes(ParameterIn::Path));
                // Text with NUL characters anywhere (PostgreSQL cannot store it), or a
                // query string that does not fit the parameters.
                if query || path_params {
                    answer(operation, 400, "A request the desk cannot read");
                }
                if path_params {
                    answer(operation, 404, "No such resource");
                }
                answer(
                    operation,
                    503,
                    "The database is unavailable; retry after Retry-After seconds",
                );
            }
        }
    }
}

/// Add a problem-document response for `status` unless the operation documents one.
fn answer(operation: &mut utoipa::openapi::path::Operation, status: u16, description: &str) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
                .into()
        });
}

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each documented operation is in the route table as public or scoped, so its
    /// security and 401/403 answers came from there.
    #[test]
    fn every_documented_operation_is_an_api_route() {
        let document = ApiDoc::openapi();
        let mut operations = 0;
        for (path, item) in &document.paths.paths {
            let methods = [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PATCH", &item.patch),
                ("PUT", &item.put),
                ("DELETE", &item.delete),
            ];
            for (method, operation) in methods {
                let Some(operation) = operation else {
                    continue;
                };
                operations += 1;
                let route = ROUTES
                    .iter()
                    .find(|r| r.path == path && r.method == method)
                    .unwrap_or_else(|| panic!("{method} {path} is documented but not routed"));
                assert!(
                    matches!(route.access, Access::Public | Access::Scope(_)),
                    "{method} {path}: {:?}",
                    route.access
                );
                assert!(operation.responses.responses.contains_key("503"));
            }
        }
        assert_eq!(operations, 16);
    }
}
