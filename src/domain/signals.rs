//! Threshold rules over run records and reports (the `[incidents]` part of the support
//! model), and the arithmetic that decides whether a rule is crossed. Fetching the numbers
//! is `services::monitor`'s job; everything here is pure.

use chrono::Duration;
use serde::Deserialize;

use super::category::Category;
use super::severity::Severity;
use super::warehouse::WarehouseType;

/// What a rule watches.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Failed or timed-out share of a warehouse type's finished runs above a threshold.
    FailureRate {
        threshold_percent: f64,
        over: Span,
        /// Fewer finished runs than this say nothing.
        min_runs: usize,
    },
    /// Any timed-out run of a critical table (`severity.critical_tables`) within `window`.
    CriticalTimeout { window: Duration },
    /// p95 duration of the runs within `window` above `factor` × the p95 of the `baseline`
    /// before it.
    DurationRegression {
        factor: f64,
        window: Duration,
        baseline: Duration,
        min_runs: usize,
    },
    /// At least `reports` analyst reports of one warehouse type and category within `window`.
    ReportBurst {
        reports: usize,
        window: Duration,
        categories: Vec<Category>,
    },
}

/// Which runs a failure rate is over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Span {
    LastRuns(usize),
    Window(Duration),
}

impl Condition {
    /// The signal's name: also the runbook section that handles it.
    pub fn signal(&self) -> &'static str {
        match self {
            Condition::FailureRate { .. } => "failure_rate",
            Condition::CriticalTimeout { .. } => "critical_timeout",
            Condition::DurationRegression { .. } => "duration_regression",
            Condition::ReportBurst { .. } => "report_burst",
        }
    }

    /// How far back the evidence of this rule reaches: related reports from this long
    /// before an incident opened are attached to it.
    pub fn reach(&self) -> Duration {
        match self {
            Condition::FailureRate {
                over: Span::Window(w),
                ..
            } => *w,
            Condition::FailureRate { .. } => Duration::hours(1),
            Condition::CriticalTimeout { window }
            | Condition::DurationRegression { window, .. }
            | Condition::ReportBurst { window, .. } => *window,
        }
    }

    /// The categories of analyst report that belong with an incident of this signal.
    pub fn related_categories(&self) -> Vec<Category> {
        match self {
            Condition::FailureRate { .. } | Condition::CriticalTimeout { .. } => {
                vec![Category::ProfilingFailure, Category::FailedReport]
            }
            Condition::DurationRegression { .. } => {
                vec![Category::StaleProfile, Category::ProfilingFailure]
            }
            Condition::ReportBurst { categories, .. } if categories.is_empty() => {
                Category::ALL.to_vec()
            }
            Condition::ReportBurst { categories, .. } => categories.clone(),
        }
    }
}

/// One threshold rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub condition: Condition,
    /// Severity of the incident ticket it opens.
    pub severity: Severity,
    /// Warehouse types it watches; empty: all.
    pub warehouse_types: Vec<WarehouseType>,
}

impl Rule {
    pub fn watches(&self, warehouse: WarehouseType) -> bool {
        self.warehouse_types.is_empty() || self.warehouse_types.contains(&warehouse)
    }

    /// What "the same signal" is: one open incident per key.
    pub fn key(&self, warehouse: WarehouseType, category: Option<Category>) -> String {
        match category {
            Some(c) => format!("{}:{}:{}", self.name, warehouse, c),
            None => format!("{}:{}", self.name, warehouse),
        }
    }
}

/// The `[incidents]` section, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRules {
    /// How long every threshold must stay uncrossed before an open incident resolves.
    pub cool_down: Duration,
    pub rules: Vec<Rule>,
}

impl Default for SignalRules {
    fn default() -> Self {
        SignalRules {
            cool_down: Duration::minutes(30),
            rules: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSignalRules {
    #[serde(default = "default_cool_down")]
    cool_down: String,
    #[serde(default)]
    rules: Vec<RawRule>,
}

fn default_cool_down() -> String {
    "30m".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    signal: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    warehouse_type: Vec<String>,
    #[serde(default)]
    threshold_percent: Option<f64>,
    #[serde(default)]
    last_runs: Option<usize>,
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    min_runs: Option<usize>,
    #[serde(default)]
    factor: Option<f64>,
    #[serde(default)]
    baseline: Option<String>,
    #[serde(default)]
    reports: Option<usize>,
    #[serde(default)]
    category: Vec<String>,
}

impl RawSignalRules {
    /// Validate; every message names the rule and the field.
    pub(crate) fn build(
        self,
        duration: impl Fn(&str, &str) -> Result<Duration, String>,
    ) -> Result<SignalRules, String> {
        let cool_down = duration(&self.cool_down, "incidents.cool_down")?;
        let mut rules: Vec<Rule> = Vec::new();
        for raw in self.rules {
            let rule = raw.build(&rules, &duration)?;
            rules.push(rule);
        }
        Ok(SignalRules { cool_down, rules })
    }
}

impl RawRule {
    /// Validate one rule; `earlier` are the rules before it, whose names it must not repeat.
    fn build(
        self,
        earlier: &[Rule],
        duration: &impl Fn(&str, &str) -> Result<Duration, String>,
    ) -> Result<Rule, String> {
        let ctx = format!("incidents.rules '{}'", self.name);
        if self.name.trim().is_empty() || self.name.contains(':') {
            return Err(format!("{ctx}: a rule needs a name without ':'"));
        }
        if earlier.iter().any(|r| r.name == self.name) {
            return Err(format!("{ctx}: two rules share this name"));
        }
        let window = self
            .window
            .as_deref()
            .map(|w| duration(w, &format!("{ctx}.window")))
            .transpose()?;
        let condition = self.condition(&ctx, window, duration)?;
        let severity = match self.severity.as_deref() {
            None => Severity::Sev2,
            Some(s) => Severity::parse(s).map_err(|e| format!("{ctx}.severity: {e}"))?,
        };
        let warehouse_types = self
            .warehouse_type
            .iter()
            .map(|w| WarehouseType::parse(w).map_err(|e| format!("{ctx}.warehouse_type: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Rule {
            name: self.name,
            condition,
            severity,
            warehouse_types,
        })
    }

    /// The condition its `signal` names, from the fields that signal reads.
    fn condition(
        &self,
        ctx: &str,
        window: Option<Duration>,
        duration: &impl Fn(&str, &str) -> Result<Duration, String>,
    ) -> Result<Condition, String> {
        match self.signal.as_str() {
            "failure_rate" => self.failure_rate(ctx, window),
            "critical_timeout" => self.critical_timeout(ctx, window),
            "duration_regression" => self.duration_regression(ctx, window, duration),
            "report_burst" => self.report_burst(ctx, window),
            other => Err(format!(
                "{ctx}: unknown signal '{other}'; expected failure_rate, critical_timeout, duration_regression or report_burst"
            )),
        }
    }

    fn failure_rate(&self, ctx: &str, window: Option<Duration>) -> Result<Condition, String> {
        let threshold_percent = self
            .threshold_percent
            .filter(|t| (0.0..100.0).contains(t))
            .ok_or_else(|| format!("{ctx}: threshold_percent (0 to 100) is required"))?;
        let over = match (self.last_runs, window) {
            (Some(n), None) if n > 0 => Span::LastRuns(n),
            (None, Some(w)) => Span::Window(w),
            _ => {
                return Err(format!(
                    "{ctx}: give either last_runs (> 0) or window, not both"
                ));
            }
        };
        self.unused(ctx, "factor", self.factor.is_some())?;
        self.unused(ctx, "reports", self.reports.is_some())?;
        Ok(Condition::FailureRate {
            threshold_percent,
            over,
            min_runs: self.min_runs.unwrap_or(5).max(1),
        })
    }

    fn critical_timeout(&self, ctx: &str, window: Option<Duration>) -> Result<Condition, String> {
        self.unused(ctx, "threshold_percent", self.threshold_percent.is_some())?;
        self.unused(ctx, "factor", self.factor.is_some())?;
        self.unused(ctx, "reports", self.reports.is_some())?;
        Ok(Condition::CriticalTimeout {
            window: required_window(ctx, window)?,
        })
    }

    fn duration_regression(
        &self,
        ctx: &str,
        window: Option<Duration>,
        duration: &impl Fn(&str, &str) -> Result<Duration, String>,
    ) -> Result<Condition, String> {
        let factor = self
            .factor
            .filter(|f| *f > 1.0)
            .ok_or_else(|| format!("{ctx}: factor (> 1) is required"))?;
        let baseline = duration(
            self.baseline.as_deref().unwrap_or("24h"),
            &format!("{ctx}.baseline"),
        )?;
        self.unused(ctx, "threshold_percent", self.threshold_percent.is_some())?;
        self.unused(ctx, "reports", self.reports.is_some())?;
        Ok(Condition::DurationRegression {
            factor,
            window: required_window(ctx, window)?,
            baseline,
            min_runs: self.min_runs.unwrap_or(5).max(1),
        })
    }

    fn report_burst(&self, ctx: &str, window: Option<Duration>) -> Result<Condition, String> {
        let reports = self
            .reports
            .filter(|n| *n >= 2)
            .ok_or_else(|| format!("{ctx}: reports (at least 2) is required"))?;
        let categories = self
            .category
            .iter()
            .map(|c| Category::parse(c).map_err(|e| format!("{ctx}.category: {e}")))
            .collect::<Result<_, _>>()?;
        self.unused(ctx, "threshold_percent", self.threshold_percent.is_some())?;
        self.unused(ctx, "factor", self.factor.is_some())?;
        Ok(Condition::ReportBurst {
            reports,
            window: required_window(ctx, window)?,
            categories,
        })
    }

    /// A field set on a signal that does not read it is a mistake, not something to ignore.
    fn unused(&self, ctx: &str, field: &str, present: bool) -> Result<(), String> {
        if present {
            Err(format!(
                "{ctx}: {field} does not apply to signal '{}'",
                self.signal
            ))
        } else {
            Ok(())
        }
    }
}

fn required_window(ctx: &str, window: Option<Duration>) -> Result<Duration, String> {
    window.ok_or_else(|| format!("{ctx}: window is required"))
}

/// A span in words for people: "30m", "1h 30m", "1day".
pub fn describe(span: Duration) -> String {
    span.to_std()
        .map(|d| humantime::format_duration(d).to_string())
        .unwrap_or_else(|_| format!("{} s", span.num_seconds()))
}

/// Nearest-rank percentile of unsorted values (sorted in place); `None` when empty.
pub fn percentile(values: &mut [i64], percent: f64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let rank = ((percent / 100.0) * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

/// Is a failure rate of `failed` out of `total` over the threshold (with enough runs)?
pub fn failure_rate_crossed(failed: usize, total: usize, threshold: f64, min_runs: usize) -> bool {
    total >= min_runs && total > 0 && (failed as f64 * 100.0 / total as f64) > threshold
}

/// The baseline a regression is judged against: its p95 and how many runs it saw
/// (computed once and reused; see `services::monitor`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    pub p95: Option<i64>,
    pub runs: usize,
}

impl Baseline {
    pub fn of(durations: &mut [i64]) -> Baseline {
        Baseline {
            runs: durations.len(),
            p95: percentile(durations, 95.0),
        }
    }
}

/// Is the recent p95 over `factor` × the baseline p95 (both with enough runs)? Returns
/// (recent p95, baseline p95, crossed), or `None` without enough runs to compare.
pub fn regression_crossed(
    recent: &mut [i64],
    baseline: Baseline,
    factor: f64,
    min_runs: usize,
) -> Option<(i64, i64, bool)> {
    if recent.len() < min_runs || baseline.runs < min_runs {
        return None;
    }
    let now = percentile(recent, 95.0)?;
    let before = baseline.p95?;
    Some((now, before, now as f64 > factor * before.max(1) as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(toml_text: &str) -> Result<SignalRules, String> {
        let raw: RawSignalRules = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        raw.build(|text, ctx| {
            humantime::parse_duration(text)
                .map_err(|e| format!("{ctx}: {e}"))
                .map(|d| Duration::from_std(d).unwrap())
        })
    }

    #[test]
    fn parses_every_signal_with_defaults() {
        let rules = build(
            r#"
            cool_down = "15m"
            [[rules]]
            name = "fail"
            signal = "failure_rate"
            threshold_percent = 20
            last_runs = 10
            [[rules]]
            name = "timeouts"
            signal = "critical_timeout"
            window = "1h"
            severity = "sev1"
            warehouse_type = ["snowflake"]
            [[rules]]
            name = "slow"
            signal = "duration_regression"
            factor = 2.5
            window = "1h"
            [[rules]]
            name = "burst"
            signal = "report_burst"
            reports = 4
            window = "30m"
            category = ["stale_profile"]
            "#,
        )
        .unwrap();
        assert_eq!(rules.cool_down, Duration::minutes(15));
        assert_eq!(rules.rules.len(), 4);
        assert_eq!(
            rules.rules[0].condition,
            Condition::FailureRate {
                threshold_percent: 20.0,
                over: Span::LastRuns(10),
                min_runs: 5
            }
        );
        assert_eq!(rules.rules[0].severity, Severity::Sev2);
        assert!(rules.rules[0].watches(WarehouseType::Duckdb));
        assert!(!rules.rules[1].watches(WarehouseType::Duckdb));
        assert_eq!(
            rules.rules[1].key(WarehouseType::Snowflake, None),
            "timeouts:snowflake"
        );
        assert_eq!(
            rules.rules[3].key(WarehouseType::Bigquery, Some(Category::StaleProfile)),
            "burst:bigquery:stale_profile"
        );
        assert!(matches!(
            rules.rules[2].condition,
            Condition::DurationRegression { baseline, .. } if baseline == Duration::hours(24)
        ));
    }

    #[test]
    fn every_mistake_names_the_rule_and_field() {
        let cases = [
            (
                "[[rules]]\nname = \"a\"\nsignal = \"failure_rate\"\nlast_runs = 5",
                "incidents.rules 'a': threshold_percent",
            ),
            (
                "[[rules]]\nname = \"a\"\nsignal = \"failure_rate\"\nthreshold_percent = 5\nlast_runs = 5\nwindow = \"1h\"",
                "not both",
            ),
            (
                "[[rules]]\nname = \"a\"\nsignal = \"critical_timeout\"",
                "'a': window is required",
            ),
            (
                "[[rules]]\nname = \"a\"\nsignal = \"critical_timeout\"\nwindow = \"1h\"\nfactor = 2.0",
                "factor does not apply",
            ),
            (
                "[[rules]]\nname = \"a\"\nsignal = \"loudness\"",
                "unknown signal 'loudness'",
            ),
            (
                "[[rules]]\nname = \"a\"\nsignal = \"report_burst\"\nreports = 3\nwindow = \"1h\"\ncategory = [\"weird\"]",
                "'a'.category",
            ),
            (
                "[[rules]]\nname = \"a\"\nsignal = \"critical_timeout\"\nwindow = \"1h\"\n[[rules]]\nname = \"a\"\nsignal = \"critical_timeout\"\nwindow = \"1h\"",
                "two rules share",
            ),
            (
                "[[rules]]\nname = \"a\"\nsignal = \"critical_timeout\"\nwindow = \"1h\"\nwarehouse_type = [\"oracle\"]",
                "'a'.warehouse_type",
            ),
        ];
        for (text, expected) in cases {
            let err = build(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn arithmetic() {
        assert_eq!(percentile(&mut [], 95.0), None);
        assert_eq!(percentile(&mut [5, 1, 3], 50.0), Some(3));
        let mut hundred: Vec<i64> = (1..=100).rev().collect();
        assert_eq!(percentile(&mut hundred, 95.0), Some(95));
        assert!(failure_rate_crossed(3, 10, 25.0, 5));
        assert!(!failure_rate_crossed(2, 10, 25.0, 5));
        assert!(!failure_rate_crossed(3, 4, 25.0, 5), "too few runs");
        let mut recent = vec![100, 110, 900, 950];
        let base = Baseline::of(&mut [100, 120, 130, 140]);
        assert_eq!(
            base,
            Baseline {
                p95: Some(140),
                runs: 4
            }
        );
        assert_eq!(
            regression_crossed(&mut recent, base, 2.0, 3),
            Some((950, 140, true))
        );
        assert_eq!(
            regression_crossed(&mut [100, 200, 250], base, 2.0, 3),
            Some((250, 140, false))
        );
        assert_eq!(regression_crossed(&mut [1], base, 2.0, 3), None);
        assert_eq!(
            regression_crossed(&mut recent, Baseline::of(&mut [5]), 2.0, 3),
            None,
            "too few baseline runs"
        );
    }
}
