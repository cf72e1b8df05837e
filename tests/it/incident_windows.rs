//! Threshold rules over a time window (failure rate over the last hour, p95 duration
//! against the day before), each with the evidence runs it links.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::incidents::{incidents, sorted_numbers};
use crate::on_both_backends;

/// The support model with the rules over windows: failure rate over the last hour, and
/// p95 duration over the last hour against the day before it.
fn window_rules_model(dir: &std::path::Path) -> std::path::PathBuf {
    let model = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/support-model.toml"),
    )
    .unwrap();
    let rules = model
        .find("[[incidents.rules]]")
        .expect("the model has rules");
    let path = dir.join("support-model.toml");
    std::fs::write(
        &path,
        format!(
            "{}{}",
            &model[..rules],
            r#"[[incidents.rules]]
name = "failure-rate-hour"
signal = "failure_rate"
threshold_percent = 30
window = "1h"
min_runs = 5
severity = "sev2"

[[incidents.rules]]
name = "slow-profiling"
signal = "duration_regression"
factor = 2.0
window = "1h"
baseline = "24h"
min_runs = 10
severity = "sev3"
"#
        ),
    )
    .unwrap();
    path
}

/// A run that started `ago` minutes ago and took `seconds`.
fn timed_run(
    app: &TestApp,
    id: &str,
    warehouse: &str,
    status: &str,
    ago: i64,
    seconds: i64,
) -> Value {
    let started = app.clock.now() - TimeDelta::minutes(ago);
    json!({
        "run_id": id, "warehouse_type": warehouse, "table": "dw.public.orders",
        "status": status, "started_at": inspect_desk::clock::rfc3339(started),
        "finished_at": inspect_desk::clock::rfc3339(started + TimeDelta::seconds(seconds)),
    })
}

async fn post_batch(app: &TestApp, runs: &[Value]) {
    let batch = runs
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    let response = app.post_ndjson(batch).await;
    assert!(response.status().is_success(), "{}", response.status());
}

/// Rules over a time window read the window's statuses and durations alone and look up
/// their evidence runs only once crossed: the failed runs of the hour, the five slowest.
async fn window_rules_link_their_evidence(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let model = window_rules_model(dir.path());
    let app = TestApp::spawn_with(backend, |s| {
        s.monitor_debounce_ms = 0;
        s.support_model = model;
    })
    .await;
    post_batch(&app, &redshift_day_before(&app)).await;
    assert!(incidents(&app).await.is_empty());
    post_batch(&app, &redshift_slow_hour(&app)).await;
    slow_hour_opens_a_duration_regression(&app).await;
    post_batch(&app, &postgres_failing_hour(&app)).await;
    failing_hour_opens_a_failure_rate(&app).await;
}

/// Redshift's day before the last hour: twelve one-minute runs, and a failure long ago.
fn redshift_day_before(app: &TestApp) -> Vec<Value> {
    let mut baseline: Vec<Value> = (0..12)
        .map(|i| {
            timed_run(
                app,
                &format!("rs-day-{i}"),
                "redshift",
                "succeeded",
                120 + 60 * i,
                60,
            )
        })
        .collect();
    baseline.push(timed_run(
        app,
        "rs-day-failed",
        "redshift",
        "failed",
        300,
        60,
    ));
    baseline
}

/// The last hour: twelve runs of 3 to 14 minutes, one failure (1 of 13: under 30%).
fn redshift_slow_hour(app: &TestApp) -> Vec<Value> {
    let mut hour: Vec<Value> = (0..12)
        .map(|i| {
            timed_run(
                app,
                &format!("rs-hour-{i}"),
                "redshift",
                "succeeded",
                50 - i,
                180 + 60 * i,
            )
        })
        .collect();
    hour.push(timed_run(
        app,
        "rs-hour-failed",
        "redshift",
        "failed",
        10,
        30,
    ));
    hour
}

/// The one open incident is Redshift's slow hour, with the five slowest runs.
async fn slow_hour_opens_a_duration_regression(app: &TestApp) {
    let open = incidents(app).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["signal"], "duration_regression");
    assert_eq!(open[0]["signal_key"], "slow-profiling:redshift");
    assert!(
        open[0]["measurement"]
            .as_str()
            .unwrap()
            .starts_with("redshift p95 duration 840000 ms over the last 1h against 60000 ms"),
        "{}",
        open[0]["measurement"]
    );
    assert_eq!(
        sorted_numbers(&open[0]["linked_runs"]),
        [
            "rs-hour-10",
            "rs-hour-11",
            "rs-hour-7",
            "rs-hour-8",
            "rs-hour-9"
        ],
        "the five slowest runs of the hour"
    );
}

/// Postgres: 4 of 10 runs of the hour failed (40%), one more failed before the hour.
fn postgres_failing_hour(app: &TestApp) -> Vec<Value> {
    let mut runs: Vec<Value> = (0..10)
        .map(|i| {
            let status = if i % 3 == 0 { "failed" } else { "succeeded" };
            timed_run(app, &format!("pg-{i}"), "postgres", status, 55 - i, 60)
        })
        .collect();
    runs.push(timed_run(
        app,
        "pg-old-failed",
        "postgres",
        "failed",
        90,
        60,
    ));
    runs
}

/// Postgres's failure rate incident links the hour's four failures, not the older one.
async fn failing_hour_opens_a_failure_rate(app: &TestApp) {
    let open = incidents(app).await;
    let failing: Vec<&Value> = open
        .iter()
        .filter(|i| i["signal"] == "failure_rate")
        .collect();
    assert_eq!(failing.len(), 1, "{open:?}");
    assert_eq!(failing[0]["signal_key"], "failure-rate-hour:postgres");
    assert!(
        failing[0]["measurement"]
            .as_str()
            .unwrap()
            .starts_with("4 of 10 postgres runs in the last 1h failed or timed out (40%"),
        "{}",
        failing[0]["measurement"]
    );
    assert_eq!(
        sorted_numbers(&failing[0]["linked_runs"]),
        ["pg-0", "pg-3", "pg-6", "pg-9"]
    );
}

on_both_backends!(window_rules_link_their_evidence);
