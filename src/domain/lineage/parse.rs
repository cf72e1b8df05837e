//! One OpenLineage RunEvent (JSON) parsed into what the desk keeps. Every bad field is
//! named with its path (`run.runId`, `inputs[0].namespace`); facets the desk does not
//! use are ignored.

use chrono::{NaiveDateTime, SubsecRound};
use serde_json::{Map, Value};

use super::facets::{schema_columns, semantic_types};
use super::{Dataset, EventType, LineageEvent, SEMANTIC_TYPES_FACET};
use crate::domain::report::{Checker, FieldErrors};
use crate::domain::run_record::{self, ColumnType, MAX_ERROR_CHARS};
use crate::domain::table::TableName;
use crate::domain::text::{Lines, check_characters};
use crate::domain::warehouse::WarehouseType;

pub(super) type Object = Map<String, Value>;

impl LineageEvent {
    /// Parse a RunEvent received at `now` (its time is bounded as a run's are), or name
    /// every field that is missing or wrong.
    pub fn parse(value: &Value, now: NaiveDateTime) -> Result<LineageEvent, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Some(event) = value.as_object() else {
            errors.insert(
                "body",
                "an OpenLineage RunEvent must be a JSON object".into(),
            );
            return Err(errors);
        };
        let mut check = Checker(&mut errors);
        let event_type = check.field(
            "eventType",
            required_str(event, "eventType").and_then(EventType::parse),
        );
        let event_time = check.field(
            "eventTime",
            required_str(event, "eventTime")
                .and_then(event_time)
                .and_then(|at| within_bounds(at, now)),
        );
        let run = check
            .field("run", object_field(event, "run", "run"))
            .flatten();
        let run_id = run.and_then(|run| check.field("run.runId", run_id(run)));
        let run_facets = run
            .and_then(|run| check.field("run.facets", optional_object(run, "facets", "run.facets")))
            .flatten();
        let error = run_facets
            .and_then(|facets| check.field("run.facets", error_message(facets)))
            .flatten();
        let run_semantic = run_facets
            .and_then(|facets| {
                let path = format!("run.facets.{SEMANTIC_TYPES_FACET}");
                check.field("run.facets", semantic_types(facets, &path))
            })
            .flatten();
        let profiled = profiled_dataset(event).map_err(|(key, e)| errors.insert(key, e));
        if !errors.is_empty() {
            return Err(errors);
        }
        let (dataset, schema, dataset_semantic, row_count) =
            profiled.ok().flatten().unwrap_or_default();
        match (event_type, event_time, run_id) {
            (Some(event_type), Some(event_time), Some(run_id)) => Ok(LineageEvent {
                run_id,
                event_type,
                event_time,
                dataset,
                error,
                schema,
                semantic_types: dataset_semantic.or(run_semantic),
                row_count,
            }),
            _ => Err(errors),
        }
    }
}

pub(super) fn required_str<'a>(object: &'a Object, key: &str) -> Result<&'a str, String> {
    match object.get(key) {
        None | Some(Value::Null) => Err("required".into()),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err("must not be empty".into()),
        Some(other) => Err(format!("must be a string, not {}", kind(other))),
    }
}

fn object_field<'a>(
    object: &'a Object,
    key: &str,
    path: &str,
) -> Result<Option<&'a Object>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Err(format!("{path} is required")),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(format!("{path} must be an object, not {}", kind(other))),
    }
}

pub(super) fn optional_object<'a>(
    object: &'a Object,
    key: &str,
    path: &str,
) -> Result<Option<&'a Object>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(format!("{path} must be an object, not {}", kind(other))),
    }
}

pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// RFC 3339; a time without an offset is taken as UTC.
fn event_time(text: &str) -> Result<NaiveDateTime, String> {
    run_record::timestamp(text).or_else(|e| {
        NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M:%S%.f")
            .map(|t| run_record::without_leap_second(t).trunc_subsecs(6))
            .map_err(|_| e)
    })
}

/// An event's time within what a run's start may be (`run_record::check_times`).
fn within_bounds(at: NaiveDateTime, now: NaiveDateTime) -> Result<NaiveDateTime, String> {
    match run_record::check_times(at, None, now).into_iter().next() {
        None => Ok(at),
        Some((_, message)) => Err(message.replace("a run cannot start", "no event can be")),
    }
}

fn run_id(run: &Object) -> Result<String, String> {
    let id = required_str(run, "runId")?.trim();
    if !run_record::is_valid_run_id(id) {
        return Err(format!(
            "'{id}' is not a run id: up to 128 letters, digits, - _ . : (a UUID fits)"
        ));
    }
    Ok(id.to_string())
}

/// The `errorMessage` run facet's message, cut to the length the desk keeps.
fn error_message(facets: &Object) -> Result<Option<String>, String> {
    let path = "run.facets.errorMessage";
    let Some(facet) = optional_object(facets, "errorMessage", path)? else {
        return Ok(None);
    };
    let message = required_str(facet, "message").map_err(|e| format!("{path}.message: {e}"))?;
    let message = message.trim();
    check_characters(message, Lines::Many).map_err(|e| format!("{path}.message: {e}"))?;
    Ok(Some(if message.chars().count() > MAX_ERROR_CHARS {
        let cut: String = message.chars().take(MAX_ERROR_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        message.to_string()
    }))
}

/// The warehouse a dataset namespace names: its scheme (`snowflake://acct`,
/// `postgres://host:5432`) or the whole namespace (`bigquery`).
pub fn warehouse_of(namespace: &str) -> Option<WarehouseType> {
    let scheme = namespace
        .split_once("://")
        .map_or(namespace, |(scheme, _)| scheme)
        .trim()
        .to_ascii_lowercase();
    let scheme = if scheme == "postgresql" {
        "postgres"
    } else {
        scheme.as_str()
    };
    WarehouseType::parse(scheme).ok()
}

/// What a chosen dataset gives: the table, schema columns, semantic types, row count.
type Profiled = (
    Option<Dataset>,
    Option<Vec<String>>,
    Option<Vec<ColumnType>>,
    Option<i64>,
);

/// The profiled table: the first input on a known warehouse, else the first such output.
/// Inputs on no known warehouse are an error; outputs that are not (the profiler's own
/// report files, say) are not.
fn profiled_dataset(event: &Object) -> Result<Option<Profiled>, (&'static str, String)> {
    let mut first_unknown = None;
    for list in ["inputs", "outputs"] {
        let key: &'static str = list;
        let items = match event.get(list) {
            None | Some(Value::Null) => continue,
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err((key, format!("{list} must be an array, not {}", kind(other))));
            }
        };
        for (index, item) in items.iter().enumerate() {
            let path = format!("{list}[{index}]");
            let Some(dataset) = item.as_object() else {
                return Err((key, format!("{path} must be an object")));
            };
            let namespace = required_str(dataset, "namespace")
                .map_err(|e| (key, format!("{path}.namespace: {e}")))?;
            let name =
                required_str(dataset, "name").map_err(|e| (key, format!("{path}.name: {e}")))?;
            let Some(warehouse) = warehouse_of(namespace) else {
                if list == "inputs" && first_unknown.is_none() {
                    first_unknown = Some(format!(
                        "{path}.namespace: '{namespace}' names no warehouse the desk knows; \
                         expected snowflake://…, bigquery, redshift://…, postgres://…, \
                         databricks://… or duckdb://…"
                    ));
                }
                continue;
            };
            let table = TableName::parse(name, Some(warehouse))
                .map_err(|e| (key, format!("{path}.name: {e}")))?;
            let facets = optional_object(dataset, "facets", &format!("{path}.facets"))
                .map_err(|e| (key, e))?;
            let schema = facets
                .map(|f| schema_columns(f, &format!("{path}.facets.schema")))
                .transpose()
                .map_err(|e| (key, e))?
                .flatten();
            let semantic = facets
                .map(|f| semantic_types(f, &format!("{path}.facets.{SEMANTIC_TYPES_FACET}")))
                .transpose()
                .map_err(|e| (key, e))?
                .flatten();
            let row_count = row_count(dataset, list, &path).map_err(|e| (key, e))?;
            let dataset = Dataset {
                warehouse_type: warehouse,
                table,
            };
            return Ok(Some((Some(dataset), schema, semantic, row_count)));
        }
    }
    match first_unknown {
        Some(message) => Err(("inputs", message)),
        None => Ok(None),
    }
}

/// `rowCount` of the profiled dataset: `inputFacets.dataQualityMetrics` on an input,
/// `outputFacets.outputStatistics` on an output (the OpenLineage standard facets). Absent
/// is fine; present it must be a whole number, 0 or more.
fn row_count(dataset: &Object, list: &str, path: &str) -> Result<Option<i64>, String> {
    let (facets_key, facet) = if list == "inputs" {
        ("inputFacets", "dataQualityMetrics")
    } else {
        ("outputFacets", "outputStatistics")
    };
    let Some(value) = dataset
        .get(facets_key)
        .and_then(Value::as_object)
        .and_then(|f| f.get(facet))
        .and_then(Value::as_object)
        .and_then(|f| f.get("rowCount"))
    else {
        return Ok(None);
    };
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_i64().filter(|n| *n >= 0).map(Some).ok_or_else(|| {
            format!("{path}.{facets_key}.{facet}.rowCount must be a whole number, 0 or more")
        }),
        _ => Err(format!(
            "{path}.{facets_key}.{facet}.rowCount must be a number, not {}",
            kind(value)
        )),
    }
}
