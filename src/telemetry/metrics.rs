//! Prometheus metrics. One recorder per process, installed by `install` (the app calls it
//! when it is built; tests build many apps in one process, so later calls reuse the first
//! recorder). Counters and histograms live in the recorder; gauges that are facts about
//! the database are read at scrape time and written by `gauge_text`, so two apps in one
//! process never mix their numbers.
//!
//! Every label value comes from a small set fixed by code or configuration (route
//! patterns, statuses, warehouse types, team keys), never from a raw path or user text.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::run::RunStatus;

pub const HTTP_REQUEST_DURATION: &str = "desk_http_request_duration_seconds";
pub const RUN_DURATION: &str = "desk_profiler_run_duration_seconds";
pub const RUNS_FINISHED: &str = "desk_profiler_runs_finished_total";
pub const SLA_BREACHES: &str = "desk_sla_breaches_total";
pub const ESCALATION_EMAILS: &str = "desk_escalation_emails_total";

/// Request latency, 5 ms to 10 s.
const HTTP_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Profiling runs take seconds to hours.
const RUN_BUCKETS: [f64; 12] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0,
];

/// Without the exporter's HTTP listener nothing drains raw histogram samples between
/// scrapes; a small thread does it.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Install the process-wide recorder once and return its handle. Metrics recorded before
/// the first call are lost, so the app calls this while it is built.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_REQUEST_DURATION.into()), &HTTP_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(RUN_DURATION.into()), &RUN_BUCKETS))
            .map(PrometheusBuilder::build_recorder)
            // Only an empty bucket list fails, and both lists are constants.
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        if let Err(e) = metrics::set_global_recorder(recorder) {
            tracing::warn!(error = %e, "another metrics recorder is installed; /metrics will miss its counters");
        }
        describe();
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
        }
        handle
    })
}

fn describe() {
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "HTTP request latency by method, route pattern and status"
    );
    describe_histogram!(
        RUN_DURATION,
        Unit::Seconds,
        "Duration of finished profiling runs by warehouse type, recorded on ingest"
    );
    describe_counter!(
        RUNS_FINISHED,
        "Profiling runs that reached an end status, by warehouse type and outcome"
    );
    describe_counter!(
        SLA_BREACHES,
        "Tickets whose SLA was breached, by owning team"
    );
    describe_counter!(
        ESCALATION_EMAILS,
        "Escalation emails by outcome (sent, failed)"
    );
}

/// One HTTP request. `route` is the matched pattern (`/tickets/{number}`), or `unmatched`.
pub fn http_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    histogram!(
        HTTP_REQUEST_DURATION,
        "method" => method.to_string(),
        "route" => route.to_string(),
        "status" => status.to_string()
    )
    .record(elapsed.as_secs_f64());
}

/// A profiling run that reached an end status with this write.
pub fn run_finished(warehouse_type: &'static str, status: RunStatus, duration_ms: Option<i64>) {
    counter!(RUNS_FINISHED, "warehouse_type" => warehouse_type, "outcome" => status.as_str())
        .increment(1);
    if let Some(ms) = duration_ms {
        run_duration(warehouse_type, ms);
    }
}

/// The duration of a finished run, when it is known only after its end was counted.
pub fn run_duration(warehouse_type: &'static str, duration_ms: i64) {
    histogram!(RUN_DURATION, "warehouse_type" => warehouse_type)
        .record(duration_ms as f64 / 1000.0);
}

/// A ticket's SLA was breached; `team` is the owning team's key.
pub fn sla_breach(team: &str) {
    counter!(SLA_BREACHES, "team" => team.to_string()).increment(1);
}

/// An escalation email was sent or failed (`"sent"`, `"failed"`).
pub fn escalation_email(outcome: &'static str) {
    counter!(ESCALATION_EMAILS, "outcome" => outcome).increment(1);
}

/// One gauge sample: label pairs and the value.
pub type Sample = (Vec<(&'static str, String)>, f64);

/// A gauge in the Prometheus text format, with its HELP and TYPE lines.
pub fn gauge_text(name: &str, help: &str, samples: &[Sample]) -> String {
    let mut out = format!("# HELP {name} {help}\n# TYPE {name} gauge\n");
    for (labels, value) in samples {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
            .collect();
        let _ = writeln!(out, "{name}{{{}}} {value}", labels.join(","));
    }
    out
}

/// Label values escape backslash, double quote and newline.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_render_in_the_text_format() {
        let text = gauge_text(
            "desk_outbox_messages",
            "Outbox messages by status",
            &[(vec![("status", "pen\"ding".into())], 3.0)],
        );
        assert_eq!(
            text,
            "# HELP desk_outbox_messages Outbox messages by status\n\
             # TYPE desk_outbox_messages gauge\n\
             desk_outbox_messages{status=\"pen\\\"ding\"} 3\n"
        );
    }
}
