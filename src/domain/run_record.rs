//! A profiling run record as the profiler sends it, parsed into a valid record.

use chrono::{DateTime, NaiveDateTime, SubsecRound};
use serde::Deserialize;

use super::report::FieldErrors;
use super::run::RunStatus;
use super::table::TableName;
use super::warehouse::WarehouseType;

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RawRun {
    pub run_id: Option<String>,
    pub warehouse_type: Option<String>,
    pub table: Option<String>,
    pub status: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub error: Option<String>,
    /// Rows profiled (a whole number, 0 or more).
    pub row_count: Option<i64>,
    pub columns: Vec<RawColumn>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RawColumn {
    pub name: String,
    #[serde(default)]
    pub semantic_type: Option<String>,
    #[serde(default)]
    pub confidence: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub run_id: String,
    pub warehouse_type: WarehouseType,
    pub table: TableName,
    pub status: RunStatus,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub error: Option<String>,
    pub row_count: Option<i64>,
    pub columns: Vec<ColumnType>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnType {
    pub name: String,
    pub semantic_type: Option<String>,
    pub confidence: Option<f64>,
}

/// Longest error text kept for a run.
pub const MAX_ERROR_CHARS: usize = 8_000;
/// Most columns a run may carry.
pub const MAX_COLUMNS: usize = 5_000;

/// A run id: 1 to 128 letters, digits, `-`, `_`, `.` or `:` (a UUID fits).
pub fn is_valid_run_id(run_id: &str) -> bool {
    !run_id.is_empty()
        && run_id.len() <= 128
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

impl RunRecord {
    pub fn parse(raw: &RawRun) -> Result<RunRecord, FieldErrors> {
        let mut errors = FieldErrors::new();
        let run_id = raw.run_id.as_deref().map(str::trim).unwrap_or("");
        if !is_valid_run_id(run_id) {
            errors.insert(
                "run_id",
                "required: up to 128 letters, digits, - _ . :".into(),
            );
        }
        let warehouse =
            required(&raw.warehouse_type, "warehouse_type", &mut errors).and_then(|w| {
                WarehouseType::parse(w)
                    .map_err(|e| errors.insert("warehouse_type", e))
                    .ok()
            });
        let table = required(&raw.table, "table", &mut errors).and_then(|t| {
            TableName::parse(t, warehouse)
                .map_err(|e| errors.insert("table", e))
                .ok()
        });
        let status = required(&raw.status, "status", &mut errors).and_then(|s| {
            RunStatus::parse(s)
                .map_err(|e| errors.insert("status", e))
                .ok()
        });
        let started_at = required(&raw.started_at, "started_at", &mut errors).and_then(|t| {
            timestamp(t)
                .map_err(|e| errors.insert("started_at", e))
                .ok()
        });
        let finished_at = match raw.finished_at.as_deref().filter(|t| !t.trim().is_empty()) {
            None => None,
            Some(t) => timestamp(t)
                .map_err(|e| errors.insert("finished_at", e))
                .ok(),
        };
        if let (Some(start), Some(end)) = (started_at, finished_at)
            && end < start
        {
            errors.insert("finished_at", "finished_at is before started_at".into());
        }
        let error = raw
            .error
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        if error.is_some_and(|e| e.chars().count() > MAX_ERROR_CHARS) {
            errors.insert("error", format!("at most {MAX_ERROR_CHARS} characters"));
        }
        if raw.row_count.is_some_and(|n| n < 0) {
            errors.insert("row_count", "a count of rows: 0 or more".into());
        }
        let columns = parse_columns(&raw.columns, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(RunRecord {
            run_id: run_id.to_string(),
            warehouse_type: warehouse.expect("checked above"),
            table: table.expect("checked above"),
            status: status.expect("checked above"),
            started_at: started_at.expect("checked above"),
            finished_at,
            error: error.map(str::to_string),
            row_count: raw.row_count,
            columns,
        })
    }

    pub fn duration_ms(&self) -> Option<i64> {
        self.finished_at
            .map(|end| (end - self.started_at).num_milliseconds())
    }
}

fn required<'a>(
    value: &'a Option<String>,
    field: &'static str,
    errors: &mut FieldErrors,
) -> Option<&'a str> {
    let v = value.as_deref().map(str::trim).filter(|v| !v.is_empty());
    if v.is_none() {
        errors.insert(field, "required".into());
    }
    v
}

/// RFC 3339 with an offset, stored as UTC and cut to the microsecond: the precision both
/// databases keep (SQLite would keep nanoseconds PostgreSQL rounds away).
pub fn timestamp(text: &str) -> Result<NaiveDateTime, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.naive_utc().trunc_subsecs(6))
        .map_err(|e| format!("'{text}' is not an RFC 3339 time ({e})"))
}

fn parse_columns(raw: &[RawColumn], errors: &mut FieldErrors) -> Vec<ColumnType> {
    if raw.len() > MAX_COLUMNS {
        errors.insert("columns", format!("at most {MAX_COLUMNS} columns per run"));
        return Vec::new();
    }
    let mut seen = std::collections::HashSet::new();
    let mut columns = Vec::with_capacity(raw.len());
    for (index, c) in raw.iter().enumerate() {
        let name = c.name.trim();
        if name.is_empty() || name.len() > 255 {
            errors.insert(
                "columns",
                format!("columns[{index}].name must be 1 to 255 characters"),
            );
        } else if !seen.insert(name.to_string()) {
            errors.insert("columns", format!("column '{name}' appears twice"));
        }
        if c.confidence.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
            errors.insert(
                "columns",
                format!("columns[{index}].confidence must be between 0 and 1"),
            );
        }
        columns.push(ColumnType {
            name: name.to_string(),
            semantic_type: c.semantic_type.clone().filter(|t| !t.trim().is_empty()),
            confidence: c.confidence,
        });
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawRun {
        RawRun {
            run_id: Some("r-1".into()),
            warehouse_type: Some("snowflake".into()),
            table: Some("A.B.C".into()),
            status: Some("timed_out".into()),
            started_at: Some("2026-11-26T10:00:00+01:00".into()),
            finished_at: Some("2026-11-26T10:30:00Z".into()),
            error: Some("statement timeout".into()),
            row_count: Some(10),
            columns: vec![],
        }
    }

    #[test]
    fn parses_and_normalises_to_utc() {
        let r = RunRecord::parse(&raw()).unwrap();
        assert_eq!(r.started_at.to_string(), "2026-11-26 09:00:00");
        assert_eq!(r.duration_ms(), Some(90 * 60 * 1000));
        let fine = timestamp("2026-11-26T10:00:00.123456789Z").unwrap();
        assert_eq!(fine.to_string(), "2026-11-26 10:00:00.123456");
    }

    #[test]
    fn names_each_bad_field() {
        let mut bad = raw();
        bad.status = Some("exploded".into());
        bad.started_at = Some("yesterday".into());
        bad.columns = vec![RawColumn {
            name: "x".into(),
            semantic_type: None,
            confidence: Some(2.0),
        }];
        let errors = RunRecord::parse(&bad).unwrap_err();
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            ["columns", "started_at", "status"]
        );
    }

    #[test]
    fn end_before_start_is_refused() {
        let mut bad = raw();
        bad.finished_at = Some("2026-11-26T08:00:00Z".into());
        assert!(
            RunRecord::parse(&bad)
                .unwrap_err()
                .contains_key("finished_at")
        );
    }
}
