//! Outcomes of requests and their summary: throughput, nearest-rank percentiles, errors,
//! and the CPU the server and the load generator used meanwhile.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// How one request ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Any 2xx or 3xx.
    Ok,
    /// Any other status, with the start of the first such body seen.
    Status(u16, String),
    /// No response: connect, timeout, reset, or the client's own in-flight cap.
    Transport(String),
}

/// Everything the measured window produced.
#[derive(Debug, Default)]
pub struct Tally {
    /// Latency of each successful request, in microseconds.
    pub latencies_us: Vec<u64>,
    /// Error kind → count.
    pub errors: BTreeMap<String, u64>,
    /// Error kind → a sample of what the server said.
    pub samples: BTreeMap<String, String>,
    /// Every request: (sent or due, from the window's start; latency; ok), for `--trace`.
    pub trace: Vec<(Duration, Duration, bool)>,
}

impl Tally {
    pub fn record(&mut self, at: Duration, latency: Duration, outcome: Outcome) {
        self.trace
            .push((at, latency, matches!(outcome, Outcome::Ok)));
        match outcome {
            Outcome::Ok => self.latencies_us.push(latency.as_micros() as u64),
            Outcome::Status(status, body) => self.error(format!("HTTP {status}"), body),
            Outcome::Transport(kind) => self.error(kind, String::new()),
        }
    }

    pub fn error(&mut self, kind: String, sample: String) {
        *self.errors.entry(kind.clone()).or_default() += 1;
        if !sample.is_empty() {
            self.samples.entry(kind).or_insert(sample);
        }
    }

    pub fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        self.trace.extend(other.trace);
        for (kind, count) in other.errors {
            *self.errors.entry(kind).or_default() += count;
        }
        for (kind, sample) in other.samples {
            self.samples.entry(kind).or_insert(sample);
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// CPU seconds used so far by all of these processes; `None` when none could be read.
pub fn cpu_seconds_sum(pids: &[String]) -> Option<f64> {
    let seconds: Vec<f64> = pids.iter().filter_map(|p| cpu_seconds(p)).collect();
    (!seconds.is_empty()).then(|| seconds.iter().sum())
}

/// The processes whose command name is `name`, from /proc/PID/comm.
pub fn pids_named(name: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .collect()
}

/// CPU seconds a process used so far (user + system), from /proc/PID/stat.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some((utime + stime) / 100.0)
}

/// CPU seconds this process's finished (waited-for) children used so far: the desk
/// processes `loadgen pipe-mail` ran.
pub fn children_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // cutime and cstime are fields 16 and 17.
    let cutime: f64 = fields.get(13)?.parse().ok()?;
    let cstime: f64 = fields.get(14)?.parse().ok()?;
    Some((cutime + cstime) / 100.0)
}

/// CPU seconds the whole machine spent busy so far (all cores; not idle, not iowait).
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let total: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((total - idle) / 100.0)
}

/// The summary printed for people and appended as one TSV row for `bench/run`.
pub struct Summary {
    pub label: String,
    pub load: String,
    pub window: Duration,
    pub tally: Tally,
    /// Server and load generator CPU over the window, as % of one core.
    pub server_cpu: Option<f64>,
    pub loadgen_cpu: Option<f64>,
    /// The database server's processes (PostgreSQL), when given.
    pub database_cpu: Option<f64>,
    /// Whole machine (all processes, all cores), as % of one core: the rest is other work.
    pub machine_cpu: Option<f64>,
}

/// Column names of the TSV rows (`bench/run` prints them as the table header).
pub const TSV_HEADER: &str = "scenario\tload\tok\terrors\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tsrv cpu%\tgen cpu%\tdb cpu%\tbox cpu%";

impl Summary {
    fn percentile_ms(&self, sorted: &[u64], p: f64) -> String {
        if sorted.is_empty() {
            return "-".into();
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        let value = sorted[rank.clamp(1, sorted.len()) - 1];
        format!("{:.2}", value as f64 / 1000.0)
    }

    pub fn tsv_row(&self) -> String {
        let mut sorted = self.tally.latencies_us.clone();
        sorted.sort_unstable();
        let rate = sorted.len() as f64 / self.window.as_secs_f64();
        let cpu = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.0}"));
        [
            self.label.clone(),
            self.load.clone(),
            sorted.len().to_string(),
            self.tally.error_count().to_string(),
            format!("{rate:.0}"),
            self.percentile_ms(&sorted, 50.0),
            self.percentile_ms(&sorted, 90.0),
            self.percentile_ms(&sorted, 99.0),
            self.percentile_ms(&sorted, 100.0),
            cpu(self.server_cpu),
            cpu(self.loadgen_cpu),
            cpu(self.database_cpu),
            cpu(self.machine_cpu),
        ]
        .join("\t")
    }

    pub fn human(&self) -> String {
        let mut text = String::new();
        let row = self.tsv_row();
        for (name, value) in TSV_HEADER.split('\t').zip(row.split('\t')) {
            let _ = write!(text, "{name}={value}  ");
        }
        let _ = write!(text, "(window {:.1} s)", self.window.as_secs_f64());
        for (kind, count) in &self.tally.errors {
            let _ = write!(text, "\n  error {kind}: {count}");
            if let Some(sample) = self.tally.samples.get(kind) {
                let _ = write!(text, " — e.g. {sample}");
            }
        }
        text
    }
}
