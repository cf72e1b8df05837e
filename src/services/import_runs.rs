//! Importing run records from a file (`inspect-desk import-runs FILE`): NDJSON (one run
//! JSON per line, as `POST /api/v1/runs` takes) or CSV with a header row naming the
//! columns `run_id, warehouse_type, table, status, started_at, finished_at, error`.
//!
//! Records are stored in batches, each in one transaction: a batch with a bad line is
//! stored not at all, every bad line is named, and the import goes on with the next
//! batch. A run id imported again replaces the stored record, so re-running the import
//! after fixing the file is safe.

use std::io::{BufRead, Read};

use crate::db::DbConnection;
use crate::domain::run_record::{RawRun, RunRecord};
use crate::error::AppError;
use crate::services::runs::{self, Stored};

/// The columns a CSV file may have; all but `finished_at` and `error` are required.
pub const CSV_COLUMNS: [&str; 8] = [
    "run_id",
    "warehouse_type",
    "table",
    "status",
    "started_at",
    "finished_at",
    "error",
    "row_count",
];

/// How the file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Csv,
}

impl Format {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.to_ascii_lowercase().as_str() {
            "ndjson" | "jsonl" | "json" => Ok(Format::Ndjson),
            "csv" => Ok(Format::Csv),
            other => Err(format!("unknown format '{other}'; expected ndjson or csv")),
        }
    }

    /// From the file name (`.csv`, `.ndjson`, `.jsonl`), else from the first character:
    /// `{` is NDJSON, anything else CSV.
    pub fn detect(path: &std::path::Path, head: &[u8]) -> Format {
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match extension.as_deref().map(Format::parse) {
            Some(Ok(format)) => format,
            _ if head.trim_ascii_start().starts_with(b"{") => Format::Ndjson,
            _ => Format::Csv,
        }
    }
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub batches_stored: usize,
    pub batches_rejected: usize,
    /// `line N: field: message`, in file order.
    pub errors: Vec<String>,
}

/// One parsed line, with its line number (1-based) for messages.
type Line = (u64, Result<RunRecord, String>);

/// Import every record of `input`; `progress` hears the bytes read so far.
pub fn import(
    conn: &mut DbConnection,
    input: impl Read,
    format: Format,
    batch_size: usize,
    now: chrono::NaiveDateTime,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, AppError> {
    let mut batches = Batches {
        conn,
        lines: Vec::with_capacity(batch_size),
        size: batch_size.max(1),
        now,
        report: ImportReport::default(),
    };
    match format {
        Format::Ndjson => read_ndjson(input, now, progress, &mut |line| batches.push(line))?,
        Format::Csv => read_csv(input, now, progress, &mut |line| batches.push(line))?,
    }
    batches.flush()?;
    Ok(batches.report)
}

/// Lines gathered until a batch is full, then stored (or rejected) together.
struct Batches<'c> {
    conn: &'c mut DbConnection,
    lines: Vec<Line>,
    size: usize,
    now: chrono::NaiveDateTime,
    report: ImportReport,
}

impl Batches<'_> {
    fn push(&mut self, line: Line) -> Result<(), AppError> {
        self.lines.push(line);
        if self.lines.len() >= self.size {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), AppError> {
        let result = store_batch(self.conn, &self.lines, self.now, &mut self.report);
        self.lines.clear();
        result
    }
}

fn store_batch(
    conn: &mut DbConnection,
    batch: &[Line],
    now: chrono::NaiveDateTime,
    report: &mut ImportReport,
) -> Result<(), AppError> {
    if batch.is_empty() {
        return Ok(());
    }
    let bad: Vec<String> = batch
        .iter()
        .filter_map(|(n, r)| r.as_ref().err().map(|e| format!("line {n}: {e}")))
        .collect();
    if !bad.is_empty() {
        report.batches_rejected += 1;
        report.errors.extend(bad);
        return Ok(());
    }
    let records: Vec<RunRecord> = batch
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().cloned())
        .collect();
    let stored = runs::store(conn, &records, now, crate::domain::drill::LIVE)?;
    report.batches_stored += 1;
    report.created += stored.iter().filter(|s| **s == Stored::Created).count();
    report.updated += stored.iter().filter(|s| **s == Stored::Updated).count();
    Ok(())
}

fn parse_raw(raw: &RawRun, now: chrono::NaiveDateTime) -> Result<RunRecord, String> {
    RunRecord::parse(raw, now).map_err(|fields| {
        fields
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

type Sink<'a> = dyn FnMut(Line) -> Result<(), AppError> + 'a;

fn read_ndjson(
    input: impl Read,
    now: chrono::NaiveDateTime,
    progress: &mut dyn FnMut(u64),
    sink: &mut Sink<'_>,
) -> Result<(), AppError> {
    let mut reader = std::io::BufReader::new(input);
    let (mut number, mut read) = (0u64, 0u64);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        let n = reader
            .read_until(b'\n', &mut buffer)
            .map_err(|e| AppError::BadRequest(format!("cannot read the file: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        read += n as u64;
        progress(read);
        if buffer.trim_ascii().is_empty() {
            continue;
        }
        let parsed = serde_json::from_slice::<RawRun>(buffer.trim_ascii())
            .map_err(|e| format!("not a run record: {e}"))
            .and_then(|raw| parse_raw(&raw, now));
        sink((number, parsed))?;
    }
}

fn read_csv(
    input: impl Read,
    now: chrono::NaiveDateTime,
    progress: &mut dyn FnMut(u64),
    sink: &mut Sink<'_>,
) -> Result<(), AppError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::Headers)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| AppError::BadRequest(format!("line 1: cannot read the CSV header: {e}")))?
        .clone();
    let positions = header_positions(&headers).map_err(AppError::BadRequest)?;
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                progress(record.position().map_or(0, |p| p.byte()));
                let field = |name: &str| {
                    positions
                        .iter()
                        .find(|(n, _)| *n == name)
                        .and_then(|(_, i)| record.get(*i))
                        .map(str::to_string)
                        .filter(|v| !v.trim().is_empty())
                };
                let row_count = match field("row_count").map(|v| v.trim().parse::<i64>()) {
                    None => None,
                    Some(Ok(n)) => Some(n),
                    Some(Err(_)) => {
                        sink((line, Err("row_count: not a whole number".into())))?;
                        continue;
                    }
                };
                let raw = RawRun {
                    row_count,
                    run_id: field("run_id"),
                    warehouse_type: field("warehouse_type"),
                    table: field("table"),
                    status: field("status"),
                    started_at: field("started_at"),
                    finished_at: field("finished_at"),
                    error: field("error"),
                    columns: Vec::new(),
                };
                sink((line, parse_raw(&raw, now)))?;
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                sink((line, Err(format!("not a CSV record: {e}"))))?;
            }
        }
    }
    Ok(())
}

/// Where each known column is; unknown or missing required columns are errors.
fn header_positions(headers: &csv::StringRecord) -> Result<Vec<(&'static str, usize)>, String> {
    let mut positions = Vec::new();
    for (index, name) in headers.iter().enumerate() {
        let name = name.trim_start_matches('\u{feff}').to_ascii_lowercase();
        let Some(known) = CSV_COLUMNS.iter().find(|c| **c == name) else {
            return Err(format!(
                "line 1: unknown column '{name}'; the columns are {}",
                CSV_COLUMNS.join(", ")
            ));
        };
        positions.push((*known, index));
    }
    let missing: Vec<&str> = CSV_COLUMNS[..5]
        .iter()
        .filter(|c| !positions.iter().any(|(n, _)| n == *c))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "line 1: the header lacks {}; the columns are {}",
            missing.join(", "),
            CSV_COLUMNS.join(", ")
        ));
    }
    Ok(positions)
}
