//! A profiling run record as the profiler sends it, parsed into a valid record.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound, TimeDelta, Timelike};
use serde::Deserialize;

use super::report::FieldErrors;
use super::run::RunStatus;
use super::table::TableName;
use super::text::{self, Lines};
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

/// No profiling run starts before this: an earlier time is a client's mistake (a zero
/// date, a default value), not history.
pub const EARLIEST_START: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(date) => date,
    None => panic!("2000-01-01 is a date"),
};
/// How far ahead of the desk's clock a run's times may be (clocks differ, time zones get
/// mixed up); further is a mistake.
pub const FUTURE_SLACK: TimeDelta = TimeDelta::days(1);
/// The longest a run may last.
pub const LONGEST_RUN: TimeDelta = TimeDelta::days(30);

/// The run's times against the bounds above, as of `now`: each bad one with its field
/// and what is wrong.
pub fn check_times(
    started_at: NaiveDateTime,
    finished_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Vec<(&'static str, String)> {
    let earliest = EARLIEST_START.and_hms_opt(0, 0, 0).unwrap_or_default();
    let latest = now + FUTURE_SLACK;
    let mut wrong = Vec::new();
    if started_at < earliest {
        wrong.push((
            "started_at",
            "a run cannot start before 2000-01-01".to_string(),
        ));
    } else if started_at > latest {
        wrong.push((
            "started_at",
            "more than a day ahead of the desk's clock: check the time and its offset".into(),
        ));
    }
    if let Some(end) = finished_at {
        if end < started_at {
            wrong.push(("finished_at", "finished_at is before started_at".into()));
        } else if end > latest {
            wrong.push((
                "finished_at",
                "more than a day ahead of the desk's clock: check the time and its offset".into(),
            ));
        } else if end - started_at > LONGEST_RUN {
            wrong.push((
                "finished_at",
                format!(
                    "a run lasts at most {} days; this one would last {}",
                    LONGEST_RUN.num_days(),
                    (end - started_at).num_days()
                ),
            ));
        }
    }
    wrong
}

/// A run id: 1 to 128 letters, digits, `-`, `_`, `.` or `:` (a UUID fits).
pub fn is_valid_run_id(run_id: &str) -> bool {
    !run_id.is_empty()
        && run_id.len() <= 128
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

impl RunRecord {
    /// Parse and check a run as received at `now` (its times are bounded by it).
    pub fn parse(raw: &RawRun, now: NaiveDateTime) -> Result<RunRecord, FieldErrors> {
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
        if let Some(start) = started_at {
            for (field, message) in check_times(start, finished_at, now) {
                errors.insert(field, message);
            }
        }
        let error = raw
            .error
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        if error.is_some_and(|e| e.chars().count() > MAX_ERROR_CHARS) {
            errors.insert("error", format!("at most {MAX_ERROR_CHARS} characters"));
        } else if let Some(Err(e)) = error.map(|e| text::check_characters(e, Lines::Many)) {
            errors.insert("error", e);
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
        .map(|t| without_leap_second(t.naive_utc()).trunc_subsecs(6))
        .map_err(|e| format!("'{text}' is not an RFC 3339 time ({e})"))
}

/// A leap second (`23:59:60`) as the last microsecond before it: chrono keeps it as a
/// fraction of more than a second, which neither database stores as such.
pub fn without_leap_second(at: NaiveDateTime) -> NaiveDateTime {
    if at.nanosecond() >= 1_000_000_000 {
        at.with_nanosecond(999_999_000).unwrap_or(at)
    } else {
        at
    }
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
        } else if let Err(e) = text::check_characters(name, Lines::One) {
            errors.insert("columns", format!("columns[{index}].name: {e}"));
        } else if !seen.insert(name.to_string()) {
            errors.insert("columns", format!("column '{name}' appears twice"));
        }
        if let Some(Err(e)) = c
            .semantic_type
            .as_deref()
            .map(|t| text::check_characters(t, Lines::One))
        {
            errors.insert("columns", format!("columns[{index}].semantic_type: {e}"));
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

    fn now() -> NaiveDateTime {
        timestamp("2026-11-27T12:00:00Z").unwrap()
    }

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
        let r = RunRecord::parse(&raw(), now()).unwrap();
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
        let errors = RunRecord::parse(&bad, now()).unwrap_err();
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            ["columns", "started_at", "status"]
        );
    }

    #[test]
    fn text_fields_follow_the_field_rules() {
        let mut bad = raw();
        bad.error = Some("bad\u{0}thing".into());
        bad.columns = vec![RawColumn {
            name: "a\u{0}b".into(),
            semantic_type: None,
            confidence: None,
        }];
        let errors = RunRecord::parse(&bad, now()).unwrap_err();
        assert!(errors["error"].contains("NUL"), "{errors:?}");
        assert!(errors["columns"].contains("columns[0].name"), "{errors:?}");
        let mut multiline = raw();
        multiline.error = Some("Traceback:\n\tline 1".into());
        assert!(RunRecord::parse(&multiline, now()).is_ok());
    }

    #[test]
    fn end_before_start_is_refused() {
        let mut bad = raw();
        bad.finished_at = Some("2026-11-26T08:00:00Z".into());
        assert!(
            RunRecord::parse(&bad, now())
                .unwrap_err()
                .contains_key("finished_at")
        );
    }

    #[test]
    fn times_outside_what_a_run_can_be_are_refused_by_field() {
        let refused = |start: &str, end: Option<&str>| {
            let mut bad = raw();
            bad.started_at = Some(start.into());
            bad.finished_at = end.map(str::to_string);
            RunRecord::parse(&bad, now())
                .err()
                .map(|e| e.keys().copied().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        assert_eq!(refused("0001-01-01T00:00:00Z", None), ["started_at"]);
        assert_eq!(refused("1999-12-31T23:59:59Z", None), ["started_at"]);
        assert_eq!(refused("9999-12-30T00:00:00Z", None), ["started_at"]);
        assert_eq!(refused("2026-11-28T12:00:01Z", None), ["started_at"]);
        // A day ahead of the desk's clock is still taken (clocks differ).
        assert!(refused("2026-11-28T11:59:59Z", None).is_empty());
        assert_eq!(
            refused("2026-11-01T00:00:00Z", Some("9999-12-30T00:00:00Z")),
            ["finished_at"]
        );
        assert_eq!(
            refused("2026-10-01T00:00:00Z", Some("2026-11-01T00:00:01Z")),
            ["finished_at"]
        );
        assert!(refused("2026-10-02T00:00:00Z", Some("2026-11-01T00:00:00Z")).is_empty());
    }

    #[test]
    fn a_leap_second_is_the_end_of_its_minute() {
        let start = timestamp("2026-06-30T23:59:60Z").unwrap();
        assert_eq!(start.to_string(), "2026-06-30 23:59:59.999999");
        let mut leap = raw();
        leap.started_at = Some("2016-12-31T23:59:60Z".into());
        leap.finished_at = Some("2017-01-01T00:00:10Z".into());
        let r = RunRecord::parse(&leap, now()).unwrap();
        assert_eq!(r.duration_ms(), Some(10_000));
    }
}
