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

/// Finished runs' durations in logarithmic buckets, 16 per doubling: a percentile read
/// from it is within about 2% of the exact one, and the histograms of hours add up to the
/// histogram of a day or a week. Counts are signed so a replaced run can be taken out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    buckets: BTreeMap<u16, i64>,
}

/// Buckets per doubling of the duration.
const PER_DOUBLING: f64 = 16.0;

impl Histogram {
    fn bucket(ms: i64) -> u16 {
        ((ms.max(0) as f64 + 1.0).log2() * PER_DOUBLING).floor() as u16
    }

    /// A bucket's value: the geometric middle of its range.
    fn value(bucket: u16) -> i64 {
        ((f64::from(bucket) + 0.5) / PER_DOUBLING).exp2().round() as i64 - 1
    }

    pub fn add(&mut self, ms: i64, count: i64) {
        let entry = self.buckets.entry(Self::bucket(ms)).or_default();
        *entry += count;
        if *entry == 0 {
            self.buckets.remove(&Self::bucket(ms));
        }
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (bucket, count) in &other.buckets {
            let entry = self.buckets.entry(*bucket).or_default();
            *entry += count;
            if *entry == 0 {
                self.buckets.remove(bucket);
            }
        }
    }

    pub fn count(&self) -> i64 {
        self.buckets.values().filter(|c| **c > 0).sum()
    }

    /// Nearest-rank percentile (`p` from 0 to 100), to the bucket.
    pub fn percentile(&self, p: f64) -> Option<i64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((p / 100.0) * total as f64).ceil().clamp(1.0, total as f64) as i64;
        let mut seen = 0;
        for (bucket, count) in self.buckets.iter().filter(|(_, c)| **c > 0) {
            seen += count;
            if seen >= rank {
                return Some(Self::value(*bucket));
            }
        }
        None
    }

    /// `bucket:count,…` for storage.
    pub fn encode(&self) -> String {
        self.buckets
            .iter()
            .filter(|(_, c)| **c != 0)
            .map(|(b, c)| format!("{b}:{c}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn decode(text: &str) -> Result<Histogram, String> {
        let mut h = Histogram::default();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let parsed = part
                .split_once(':')
                .and_then(|(b, c)| Some((b.parse::<u16>().ok()?, c.parse::<i64>().ok()?)));
            let (bucket, count) = parsed.ok_or_else(|| format!("bad histogram entry '{part}'"))?;
            *h.buckets.entry(bucket).or_default() += count;
        }
        Ok(h)
    }
}

/// Counts and durations of some runs (an hour's, a slice's, a window's). Signed, so a
/// replaced run's old record can be taken out of an hour before its new one goes in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub runs: i64,
    pub running: i64,
    pub failed: i64,
    pub timed_out: i64,
    /// The longest finished run (kept when one is taken out: it is rarely the longest).
    pub max_ms: Option<i64>,
    pub durations: Histogram,
}

impl Tally {
    /// Count one run in (`sign` 1) or out (`sign` −1).
    pub fn count(&mut self, status: RunStatus, duration_ms: Option<i64>, sign: i64) {
        self.runs += sign;
        match status {
            RunStatus::Running => self.running += sign,
            RunStatus::Failed => self.failed += sign,
            RunStatus::TimedOut => self.timed_out += sign,
            _ => {}
        }
        if status != RunStatus::Running
            && let Some(ms) = duration_ms
        {
            self.durations.add(ms, sign);
            if sign > 0 {
                self.max_ms = self.max_ms.max(Some(ms));
            }
        }
    }

    /// A percentile of the durations (`p` from 0 to 100), read from the histogram and
    /// kept within what was observed: a bucket's value can lie above the longest run in
    /// it, and a p95 above the max shown beside it reads as a bug.
    pub fn percentile(&self, p: f64) -> Option<i64> {
        let estimate = self.durations.percentile(p)?;
        Some(match self.max_ms {
            Some(max) => estimate.min(max),
            None => estimate,
        })
    }

    pub fn merge(&mut self, other: &Tally) {
        self.runs += other.runs;
        self.running += other.running;
        self.failed += other.failed;
        self.timed_out += other.timed_out;
        self.max_ms = self.max_ms.max(other.max_ms);
        self.durations.merge(&other.durations);
    }
}

/// One bar of the chart: runs started in a slice of the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bar {
    pub runs: usize,
    pub failed: usize,
    pub timed_out: usize,
    pub p95_ms: Option<i64>,
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

    /// The stats of a warehouse type from the tallies of the window's slices, in order.
    pub fn of(warehouse_type: WarehouseType, slices: &[Tally]) -> WarehouseStats {
        let mut total = Tally::default();
        for slice in slices {
            total.merge(slice);
        }
        let n = |v: i64| v.max(0) as usize;
        WarehouseStats {
            warehouse_type,
            runs: n(total.runs),
            finished: n(total.runs - total.running),
            failed: n(total.failed),
            timed_out: n(total.timed_out),
            p50_ms: total.percentile(50.0),
            p95_ms: total.percentile(95.0),
            max_ms: total.max_ms,
            bars: slices
                .iter()
                .map(|s| Bar {
                    runs: n(s.runs),
                    failed: n(s.failed),
                    timed_out: n(s.timed_out),
                    p95_ms: s.percentile(95.0),
                })
                .collect(),
        }
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
/// cut into `bars` slices, from the window's runs themselves.
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
            let mut slices = vec![Tally::default(); bars];
            for sample in samples
                .iter()
                .filter(|s| s.warehouse_type == warehouse_type)
            {
                let offset = (sample.started_at - since).num_milliseconds().max(0);
                let index = (offset as f64 / span.num_milliseconds() as f64 * bars as f64) as usize;
                slices[index.min(bars - 1)].count(sample.status, sample.duration_ms, 1);
            }
            WarehouseStats::of(warehouse_type, &slices)
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
    worst_first(&mut out);
    out
}

/// Lowest accuracy first, then by name.
fn worst_first(list: &mut [TypeAccuracy]) {
    list.sort_by(|a, b| {
        let key = |t: &TypeAccuracy| t.accuracy().unwrap_or(1.0);
        key(a)
            .total_cmp(&key(b))
            .then(a.semantic_type.cmp(&b.semantic_type))
    });
}

/// Accuracy per semantic type from counts of typed columns per type, and the typed
/// columns of the tables confirmed-wrong reports name (`candidates`): worst first.
pub fn type_accuracy_of_counts(
    counts: &[(String, i64)],
    candidates: &[(ColumnKey, String)],
    confirmed_wrong: &[(Option<String>, String, String)],
) -> Vec<TypeAccuracy> {
    let wrong = type_accuracy(candidates, confirmed_wrong);
    let mut out: Vec<TypeAccuracy> = counts
        .iter()
        .map(|(semantic_type, typed)| TypeAccuracy {
            semantic_type: semantic_type.clone(),
            typed: (*typed).max(0) as usize,
            confirmed_wrong: wrong
                .iter()
                .find(|w| &w.semantic_type == semantic_type)
                .map_or(0, |w| w.confirmed_wrong),
        })
        .collect();
    worst_first(&mut out);
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
        // Percentiles to the histogram bucket (within 2.2%); the maximum exactly.
        let p50 = snowflake.p50_ms.unwrap();
        assert!((2_934..=3_066).contains(&p50), "{p50}");
        assert_eq!(snowflake.max_ms, Some(60_000));
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
    fn percentiles_never_pass_the_longest_run() {
        // 60,100 ms lies low in its bucket, whose value is 61,412 ms: the estimate alone
        // would put the p95 above the max.
        let mut t = Tally::default();
        for ms in [1_000, 2_000, 60_100] {
            t.count(RunStatus::Succeeded, Some(ms), 1);
        }
        assert!(t.durations.percentile(95.0).unwrap() > 60_100);
        assert_eq!(t.percentile(95.0), Some(60_100));
        assert_eq!(t.percentile(100.0), t.max_ms);
        let stats = WarehouseStats::of(WarehouseType::Snowflake, &[t.clone(), t]);
        assert!(stats.p95_ms <= stats.max_ms);
        assert!(stats.bars.iter().all(|b| b.p95_ms <= stats.max_ms));
        assert_eq!(Tally::default().percentile(95.0), None);
    }

    #[test]
    fn histograms_add_up_and_read_percentiles_within_a_bucket() {
        let mut hours = [Histogram::default(), Histogram::default()];
        let values: Vec<i64> = (1..=2_000).map(|i| i * 37).collect();
        for (i, v) in values.iter().enumerate() {
            hours[i % 2].add(*v, 1);
        }
        let mut day = Histogram::decode(&hours[0].encode()).unwrap();
        day.merge(&Histogram::decode(&hours[1].encode()).unwrap());
        assert_eq!(day.count(), 2_000);
        for p in [50.0, 95.0, 99.0] {
            let exact = percentile(&values, p).unwrap() as f64;
            let read = day.percentile(p).unwrap() as f64;
            assert!(
                (read - exact).abs() / exact < 0.025,
                "p{p}: {read} vs {exact}"
            );
        }
        // A replaced run comes out again.
        day.add(37, -1);
        assert_eq!(day.count(), 1_999);
        assert_eq!(Histogram::default().percentile(50.0), None);
        assert!(Histogram::decode("3:x").is_err());
        let mut t = Tally::default();
        t.count(RunStatus::Failed, Some(10), 1);
        t.count(RunStatus::Running, None, 1);
        t.count(RunStatus::Failed, Some(10), -1);
        t.count(RunStatus::Succeeded, Some(20), 1);
        assert_eq!((t.runs, t.running, t.failed), (2, 1, 0));
        assert_eq!(t.durations.count(), 1);
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
