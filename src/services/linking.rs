//! Linking a report to the profiler's run records, and the evidence those runs give.

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::db::models::run::Run;
use crate::domain::report::Report;
use crate::domain::run::{RunEvidence, RunStatus};
use crate::domain::support_model::SupportModel;

/// How many recent runs of the table a report is linked to.
const RECENT_RUNS: i64 = 3;

/// A run to link, with the reason stored beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedLink {
    pub run_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct Linking {
    pub links: Vec<PlannedLink>,
    pub evidence: RunEvidence,
}

/// Explicit run id first; otherwise (and besides) the table's most recent runs before now.
pub fn plan(
    conn: &mut DbConnection,
    model: &SupportModel,
    report: &Report,
    now: NaiveDateTime,
) -> diesel::QueryResult<Linking> {
    let mut linking = Linking::default();
    let mut latest: Option<Run> = None;
    if let Some(run_id) = report.run.as_ref().and_then(|r| r.run_id.as_deref()) {
        let found = Run::find(conn, run_id)?;
        let reason = match &found {
            Some(run) => format!(
                "run id given by the reporter ({} on {})",
                run.status, run.table_name
            ),
            None => "run id given by the reporter (not yet received from the profiler)".into(),
        };
        linking.links.push(PlannedLink {
            run_id: run_id.to_string(),
            reason,
        });
        latest = found;
    }
    if let Some(table) = &report.table {
        let warehouse = report.warehouse_type.map(|w| w.as_str());
        let recent = Run::recent_for_table(conn, table.as_str(), warehouse, now, RECENT_RUNS)?;
        linking.evidence.runs_seen = recent.len();
        for (index, run) in recent.iter().enumerate() {
            if linking.links.iter().any(|l| l.run_id == run.run_id) {
                continue;
            }
            let which = if index == 0 {
                "latest run"
            } else {
                "recent run"
            };
            linking.links.push(PlannedLink {
                run_id: run.run_id.clone(),
                reason: format!("{which} of {table} before the report ({})", run.status),
            });
        }
        if linking.evidence.runs_seen > 0 {
            // The newest success among the recent runs is the table's last success (they
            // are its newest runs before now); only a table whose recent runs all failed
            // needs a look further back.
            let last_success = match recent.iter().find(|r| r.status == RunStatus::Succeeded) {
                Some(run) => run.finished_at,
                None => Run::last_success(conn, table.as_str(), warehouse, now)?,
            };
            let target = model.freshness_target(table.as_str());
            linking.evidence.stale = last_success.is_none_or(|at| now - at > target);
        }
        if latest.is_none() {
            latest = recent.into_iter().next();
        }
    }
    if let Some(run) = latest {
        linking.evidence.latest_error = run.error.filter(|_| run.status.is_failure());
        linking.evidence.latest_status = Some(run.status);
        linking.evidence.runs_seen = linking.evidence.runs_seen.max(1);
    }
    Ok(linking)
}

/// One line per piece of evidence, for the timeline.
pub fn describe(evidence: &RunEvidence) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(status) = evidence.latest_status {
        lines.push(match (&evidence.latest_error, status.is_failure()) {
            (Some(error), true) => format!("latest run {status}: {}", truncate(error, 200)),
            _ => format!("latest run {status}"),
        });
    }
    if evidence.stale {
        lines.push("last successful profile is older than the table's freshness target".into());
    }
    lines
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}
