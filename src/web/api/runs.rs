//! Run records from the profiler: `POST /api/v1/runs` (one JSON run, or an NDJSON batch)
//! and `GET /api/v1/runs/{run_id}`.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiError;
use crate::clock::rfc3339;
use crate::db::models::run::Run;
use crate::domain::report::FieldErrors;
use crate::domain::run_record::{RawRun, RunRecord};
use crate::error::AppError;
use crate::services::runs::{self, Stored};
use crate::state::Desk;
use crate::web::body;

/// Batches may be larger than a report; a run line is a few hundred bytes.
const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;
const MAX_BATCH_LINES: usize = 50_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResult {
    pub received: usize,
    pub created: usize,
    pub updated: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunJson {
    pub run_id: String,
    pub warehouse_type: String,
    pub table: String,
    pub status: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    /// Rows profiled, when the profiler said.
    pub row_count: Option<i64>,
    pub columns: Vec<ColumnJson>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnJson {
    pub name: String,
    pub semantic_type: Option<String>,
    pub confidence: Option<f64>,
}

/// Store run records. `application/json`: one run; `application/x-ndjson`: one run per
/// line, all or nothing. A run id sent again replaces the stored record.
#[utoipa::path(
    post,
    path = "/api/v1/runs",
    request_body(content = RawRun, content_type = "application/json", description = "One run; or application/x-ndjson, one run per line"),
    responses(
        (status = 201, description = "At least one run was new", body = IngestResult),
        (status = 200, description = "Every run was already known and has been updated", body = IngestResult),
        (status = 400, description = "Malformed JSON", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor NDJSON", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (named per line)", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    tag = "runs"
)]
pub async fn ingest(
    req: HttpRequest,
    desk: web::Data<Desk>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    super::require_content_type(&req, &["application/json", "application/x-ndjson"])?;
    let ndjson = req
        .content_type()
        .eq_ignore_ascii_case("application/x-ndjson");
    let limit = if ndjson {
        MAX_BATCH_BYTES
    } else {
        desk.max_body_bytes
    };
    let body = body::read_limited(body::announced_length(req.headers()), payload, limit).await?;
    let now = desk.clock.now();
    let records = if ndjson {
        parse_ndjson(&body, now)?
    } else {
        vec![parse_one(&body, now)?]
    };
    let stored = desk
        .db(move |conn, desk| {
            let stored = runs::store_grouped(
                &desk.pool,
                conn,
                &records,
                desk.clock.now(),
                crate::domain::drill::LIVE,
            )?;
            desk.after_ingest.runs_stored(&records);
            Ok(stored)
        })
        .await?;
    let created = stored.iter().filter(|s| **s == Stored::Created).count();
    let result = IngestResult {
        received: stored.len(),
        created,
        updated: stored.len() - created,
    };
    let mut response = if created > 0 {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(result))
}

fn parse_one(body: &[u8], now: NaiveDateTime) -> Result<RunRecord, ApiError> {
    let raw: RawRun = serde_json::from_slice(body).map_err(super::json_error)?;
    Ok(RunRecord::parse(&raw, now).map_err(AppError::Invalid)?)
}

fn parse_ndjson(body: &[u8], now: NaiveDateTime) -> Result<Vec<RunRecord>, ApiError> {
    const MAX_REPORTED: usize = 20;
    let mut records = Vec::new();
    let mut bad_lines = Vec::new();
    let lines = body
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.trim_ascii().is_empty());
    for (index, line) in lines {
        if records.len() + bad_lines.len() >= MAX_BATCH_LINES {
            return Err(AppError::BadRequest(format!(
                "a batch holds at most {MAX_BATCH_LINES} runs"
            ))
            .into());
        }
        let parsed = serde_json::from_slice::<RawRun>(line)
            .map_err(|e| e.to_string())
            .and_then(|raw| RunRecord::parse(&raw, now).map_err(|fields| join_fields(&fields)));
        match parsed {
            Ok(record) => records.push(record),
            Err(message) => bad_lines.push(format!("line {}: {message}", index + 1)),
        }
        if bad_lines.len() >= MAX_REPORTED {
            break;
        }
    }
    if !bad_lines.is_empty() {
        return Err(AppError::invalid("lines", bad_lines.join("; ")).into());
    }
    if records.is_empty() {
        return Err(AppError::BadRequest("the batch holds no runs".into()).into());
    }
    Ok(records)
}

fn join_fields(fields: &FieldErrors) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One run record.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{run_id}",
    params(("run_id" = String, Path, description = "The profiler's run id")),
    responses(
        (status = 200, description = "The run", body = RunJson),
        (status = 404, description = "No such run", body = super::problem::Problem, content_type = "application/problem+json"),
    ),
    tag = "runs"
)]
pub async fn show(
    desk: web::Data<Desk>,
    run_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let run_id = run_id.into_inner();
    let (run, columns) = desk
        .db(move |conn, _| {
            let run = Run::find(conn, &run_id)?.ok_or(AppError::NotFound)?;
            let columns = run.columns()?;
            Ok((run, columns))
        })
        .await?;
    Ok(HttpResponse::Ok().json(RunJson {
        run_id: run.run_id,
        warehouse_type: run.warehouse_type.to_string(),
        table: run.table_name,
        status: run.status.to_string(),
        started_at: rfc3339(run.started_at),
        finished_at: run.finished_at.map(rfc3339),
        duration_ms: run.duration_ms,
        row_count: run.row_count,
        error: run.error,
        columns: columns
            .into_iter()
            .map(|c| ColumnJson {
                name: c.column_name,
                semantic_type: c.semantic_type,
                confidence: c.confidence,
            })
            .collect(),
    }))
}
