//! Profiling run statuses and the evidence a table's recent runs give a report.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::TimedOut,
        RunStatus::Cancelled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::TimedOut => "timed_out",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        RunStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| {
                format!(
                    "unknown run status '{value}'; expected one of: {}",
                    RunStatus::ALL.map(|s| s.as_str()).join(", ")
                )
            })
    }

    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Running => "Running",
            RunStatus::Succeeded => "Succeeded",
            RunStatus::Failed => "Failed",
            RunStatus::TimedOut => "Timed out",
            RunStatus::Cancelled => "Cancelled",
        }
    }

    /// A run that ended without producing a profile.
    pub fn is_failure(self) -> bool {
        matches!(self, RunStatus::Failed | RunStatus::TimedOut)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the linked runs say about a report, computed before classification.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunEvidence {
    /// Status of the most recent run of the table before the report, if any.
    pub latest_status: Option<RunStatus>,
    /// Error text of that latest run, when it failed.
    pub latest_error: Option<String>,
    /// The last successful run is older than the table's freshness target
    /// (or there is no successful run at all while runs exist).
    pub stale: bool,
    /// Number of runs considered.
    pub runs_seen: usize,
}

impl RunEvidence {
    /// The latest run failed or timed out.
    pub fn latest_failed(&self) -> bool {
        self.latest_status.is_some_and(RunStatus::is_failure)
    }
}
