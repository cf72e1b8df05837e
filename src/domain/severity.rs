//! Severity levels and how a report's severity is decided.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::category::Category;
use super::run::RunEvidence;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Sev1,
    Sev2,
    Sev3,
    Sev4,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Sev1,
        Severity::Sev2,
        Severity::Sev3,
        Severity::Sev4,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Sev1 => "sev1",
            Severity::Sev2 => "sev2",
            Severity::Sev3 => "sev3",
            Severity::Sev4 => "sev4",
        }
    }

    /// "Sev 1", as agents say it.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Sev1 => "Sev 1",
            Severity::Sev2 => "Sev 2",
            Severity::Sev3 => "Sev 3",
            Severity::Sev4 => "Sev 4",
        }
    }

    /// What the level means, for a chooser or a hover title.
    pub fn meaning(self) -> &'static str {
        match self {
            Severity::Sev1 => "critical: analysts are blocked on a critical table",
            Severity::Sev2 => "high: analysts are blocked",
            Severity::Sev3 => "normal: work is degraded",
            Severity::Sev4 => "low: a minor problem or a question",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| format!("unknown severity '{value}'; expected sev1, sev2, sev3 or sev4"))
    }

    fn from_level(level: u8) -> Self {
        Severity::ALL[usize::from(level.clamp(1, 4) - 1)]
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How badly the analyst says they are affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    Blocked,
    Degraded,
    Minor,
}

impl Impact {
    pub const ALL: [Impact; 3] = [Impact::Blocked, Impact::Degraded, Impact::Minor];

    pub fn as_str(self) -> &'static str {
        match self {
            Impact::Blocked => "blocked",
            Impact::Degraded => "degraded",
            Impact::Minor => "minor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Impact::Blocked => "Blocked",
            Impact::Degraded => "Slowed down",
            Impact::Minor => "Minor",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        Impact::ALL
            .into_iter()
            .find(|i| i.as_str() == value)
            .ok_or_else(|| format!("unknown impact '{value}'; expected blocked, degraded or minor"))
    }
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything severity depends on.
pub struct SeverityInput<'a> {
    pub impact: Option<Impact>,
    pub category: Category,
    pub critical_table: bool,
    pub evidence: &'a RunEvidence,
}

/// Severity with the reasons behind it, most important first.
#[derive(Debug, Clone, PartialEq)]
pub struct SeverityDecision {
    pub severity: Severity,
    pub reasons: Vec<String>,
}

/// Start from the analyst's impact, then raise for critical tables and for failing runs,
/// and cap questions and feature requests: they never page anyone.
pub fn decide(input: &SeverityInput<'_>) -> SeverityDecision {
    let (mut level, first) = match input.impact {
        Some(Impact::Blocked) => (2, "analyst is blocked (sev2 baseline)"),
        Some(Impact::Degraded) => (3, "analyst is degraded (sev3 baseline)"),
        Some(Impact::Minor) => (4, "minor impact (sev4 baseline)"),
        None => (3, "no impact given (sev3 baseline)"),
    };
    let mut reasons = vec![first.to_string()];
    if input.category == Category::Other {
        level = level.max(4);
        reasons.push("questions and requests are sev4".into());
        return finish(level, reasons);
    }
    if input.critical_table {
        level -= 1;
        reasons.push("table matches a critical-table pattern (raised one level)".into());
    }
    let run_related = matches!(
        input.category,
        Category::ProfilingFailure | Category::StaleProfile
    );
    if run_related && input.evidence.latest_failed() {
        level -= 1;
        reasons.push("the table's latest profiling run failed (raised one level)".into());
    }
    finish(level, reasons)
}

fn finish(level: i32, mut reasons: Vec<String>) -> SeverityDecision {
    let severity = Severity::from_level(level.clamp(1, 4) as u8);
    if level < 1 {
        reasons.push("capped at sev1".into());
    }
    SeverityDecision { severity, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::run::RunStatus;

    fn input(
        impact: Option<Impact>,
        category: Category,
        critical: bool,
        failed: bool,
    ) -> SeverityDecision {
        let evidence = RunEvidence {
            latest_status: failed.then_some(RunStatus::TimedOut),
            ..RunEvidence::default()
        };
        decide(&SeverityInput {
            impact,
            category,
            critical_table: critical,
            evidence: &evidence,
        })
    }

    #[test]
    fn impact_sets_the_baseline() {
        assert_eq!(
            input(Some(Impact::Blocked), Category::FailedReport, false, false).severity,
            Severity::Sev2
        );
        assert_eq!(
            input(Some(Impact::Minor), Category::FailedReport, false, false).severity,
            Severity::Sev4
        );
        assert_eq!(
            input(None, Category::FailedReport, false, false).severity,
            Severity::Sev3
        );
    }

    #[test]
    fn blocked_on_a_failing_critical_table_is_sev1() {
        let d = input(
            Some(Impact::Blocked),
            Category::ProfilingFailure,
            true,
            true,
        );
        assert_eq!(d.severity, Severity::Sev1);
        assert!(d.reasons.iter().any(|r| r.contains("critical")));
        assert!(d.reasons.iter().any(|r| r.contains("capped")));
    }

    #[test]
    fn run_failures_do_not_raise_unrelated_categories() {
        let d = input(
            Some(Impact::Degraded),
            Category::WrongColumnType,
            false,
            true,
        );
        assert_eq!(d.severity, Severity::Sev3);
    }

    #[test]
    fn questions_stay_sev4() {
        assert_eq!(
            input(Some(Impact::Blocked), Category::Other, true, true).severity,
            Severity::Sev4
        );
    }

    #[test]
    fn levels_round_trip() {
        for (index, s) in Severity::ALL.into_iter().enumerate() {
            assert_eq!(Severity::from_level(index as u8 + 1), s);
            assert_eq!(Severity::parse(s.as_str()), Ok(s));
        }
    }
}
