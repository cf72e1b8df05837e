//! Run telemetry per warehouse type over a window: counts, failure and timeout rates,
//! duration percentiles, a bar series for a small chart, and semantic-type accuracy.

use chrono::{NaiveDateTime, TimeDelta};
use std::collections::{BTreeMap, HashSet};

use super::run::RunStatus;
use super::warehouse::WarehouseType;

/// One run started in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSample {
    pub warehouse_type: WarehouseType,
    pub status: RunStatus,
    pub started_at: NaiveDateTime,
    pub duration_ms: Option<i64>,
}

/// One bar of the chart: runs started in a slice of the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bar {
    pub runs: usize,
    pub failed: usize,
    pub timed_out: usize,
}

/// What one warehouse type did in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct WarehouseStats {
    pub warehouse_type: WarehouseType,
    pub runs: usize,
    /// Runs with an end status (the rates' denominator).
    pub finished: usize,
    pub failed: usize,
    pub timed_out: usize,
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
    pub max_ms: Option<i64>,
    pub bars: Vec<Bar>,
}

impl WarehouseStats {
    /// Failed runs (not counting timeouts) among finished ones, 0 to 1.
    pub fn failure_rate(&self) -> Option<f64> {
        ratio(self.failed, self.finished)
    }

    pub fn timeout_rate(&self) -> Option<f64> {
        ratio(self.timed_out, self.finished)
    }
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Nearest-rank percentile of sorted values (`p` from 0 to 100).
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Stats for every warehouse type (those without runs too), the window `[since, now)`
/// cut into `bars` slices.
pub fn summarize(
    samples: &[RunSample],
    since: NaiveDateTime,
    now: NaiveDateTime,
    bars: usize,
) -> Vec<WarehouseStats> {
    let bars = bars.max(1);
    let span = (now - since).max(TimeDelta::milliseconds(1));
    WarehouseType::ALL
        .into_iter()
        .map(|warehouse_type| {
            let mine: Vec<&RunSample> = samples
                .iter()
                .filter(|s| s.warehouse_type == warehouse_type)
                .collect();
            let count = |status: RunStatus| mine.iter().filter(|s| s.status == status).count();
            let mut durations: Vec<i64> = mine
                .iter()
                .filter(|s| s.status != RunStatus::Running)
                .filter_map(|s| s.duration_ms)
                .collect();
            durations.sort_unstable();
            let mut series = vec![Bar::default(); bars];
            for sample in &mine {
                let offset = (sample.started_at - since).num_milliseconds().max(0);
                let index = (offset as f64 / span.num_milliseconds() as f64 * bars as f64) as usize;
                let bar = &mut series[index.min(bars - 1)];
                bar.runs += 1;
                match sample.status {
                    RunStatus::Failed => bar.failed += 1,
                    RunStatus::TimedOut => bar.timed_out += 1,
                    _ => {}
                }
            }
            WarehouseStats {
                warehouse_type,
                runs: mine.len(),
                finished: mine.len() - count(RunStatus::Running),
                failed: count(RunStatus::Failed),
                timed_out: count(RunStatus::TimedOut),
                p50_ms: percentile(&durations, 50.0),
                p95_ms: percentile(&durations, 95.0),
                max_ms: durations.last().copied(),
                bars: series,
            }
        })
        .collect()
}

/// A column the profiler typed: (warehouse type, table, column).
pub type ColumnKey = (String, String, String);

/// Semantic-type accuracy for one type.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeAccuracy {
    pub semantic_type: String,
    /// Distinct columns given this type in the window.
    pub typed: usize,
    /// Of those, columns an agent confirmed wrong.
    pub confirmed_wrong: usize,
}

impl TypeAccuracy {
    /// 1 − confirmed wrong / typed.
    pub fn accuracy(&self) -> Option<f64> {
        ratio(self.confirmed_wrong, self.typed).map(|wrong| 1.0 - wrong)
    }
}

/// Accuracy per semantic type, worst first. `typed` holds (column, type) pairs; a
/// confirmed-wrong report names a table and column, and a warehouse type when it gave one.
pub fn type_accuracy(
    typed: &[(ColumnKey, String)],
    confirmed_wrong: &[(Option<String>, String, String)],
) -> Vec<TypeAccuracy> {
    let wrong = |(warehouse, table, column): &ColumnKey| {
        confirmed_wrong.iter().any(|(w, t, c)| {
            t.eq_ignore_ascii_case(table)
                && c.eq_ignore_ascii_case(column)
                && w.as_deref().is_none_or(|w| w == warehouse)
        })
    };
    let mut by_type: BTreeMap<&str, (HashSet<&ColumnKey>, usize)> = BTreeMap::new();
    for (column, semantic_type) in typed {
        let entry = by_type.entry(semantic_type).or_default();
        if entry.0.insert(column) && wrong(column) {
            entry.1 += 1;
        }
    }
    let mut out: Vec<TypeAccuracy> = by_type
        .into_iter()
        .map(|(semantic_type, (columns, confirmed_wrong))| TypeAccuracy {
            semantic_type: semantic_type.to_string(),
            typed: columns.len(),
            confirmed_wrong,
        })
        .collect();
    out.sort_by(|a, b| {
        let key = |t: &TypeAccuracy| t.accuracy().unwrap_or(1.0);
        key(a)
            .total_cmp(&key(b))
            .then(a.semantic_type.cmp(&b.semantic_type))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> NaiveDateTime {
        NaiveDateTime::default() + TimeDelta::minutes(minutes)
    }

    fn sample(w: WarehouseType, status: RunStatus, minute: i64, ms: i64) -> RunSample {
        RunSample {
            warehouse_type: w,
            status,
            started_at: at(minute),
            duration_ms: (status != RunStatus::Running).then_some(ms),
        }
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<i64> = (1..=20).collect();
        assert_eq!(percentile(&values, 50.0), Some(10));
        assert_eq!(percentile(&values, 95.0), Some(19));
        assert_eq!(percentile(&[7], 95.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn summarises_per_warehouse_with_bars() {
        use RunStatus::*;
        use WarehouseType::*;
        let samples = vec![
            sample(Snowflake, Succeeded, 0, 1_000),
            sample(Snowflake, Failed, 10, 3_000),
            sample(Snowflake, TimedOut, 50, 60_000),
            sample(Snowflake, Running, 59, 0),
            sample(Bigquery, Succeeded, 30, 2_000),
        ];
        let stats = summarize(&samples, at(0), at(60), 6);
        let snowflake = &stats[0];
        assert_eq!((snowflake.runs, snowflake.finished), (4, 3));
        assert_eq!(snowflake.failure_rate(), Some(1.0 / 3.0));
        assert_eq!(snowflake.timeout_rate(), Some(1.0 / 3.0));
        assert_eq!(
            (snowflake.p50_ms, snowflake.max_ms),
            (Some(3_000), Some(60_000))
        );
        let runs: Vec<usize> = snowflake.bars.iter().map(|b| b.runs).collect();
        assert_eq!(runs, [1, 1, 0, 0, 0, 2]);
        assert_eq!(snowflake.bars[5].timed_out, 1);
        let duckdb = stats.iter().find(|s| s.warehouse_type == Duckdb).unwrap();
        assert_eq!(
            (duckdb.runs, duckdb.failure_rate(), duckdb.p50_ms),
            (0, None, None)
        );
    }

    #[test]
    fn accuracy_counts_distinct_columns_and_confirmed_reports() {
        let key = |t: &str, c: &str| ("snowflake".to_string(), t.to_string(), c.to_string());
        let typed = vec![
            (key("A.B.C", "email"), "email".to_string()),
            (key("A.B.C", "email"), "email".to_string()),
            (key("A.B.D", "contact"), "email".to_string()),
            (key("A.B.C", "zip"), "postal_code".to_string()),
        ];
        let wrong = vec![(None, "a.b.d".to_string(), "CONTACT".to_string())];
        let accuracy = type_accuracy(&typed, &wrong);
        assert_eq!(accuracy[0].semantic_type, "email");
        assert_eq!((accuracy[0].typed, accuracy[0].confirmed_wrong), (2, 1));
        assert_eq!(accuracy[0].accuracy(), Some(0.5));
        assert_eq!(accuracy[1].accuracy(), Some(1.0));
    }
}
