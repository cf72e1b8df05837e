//! How soon an incident opens under the shipped debounce: the rules after ingest run at
//! most every 2 s per warehouse type, on both edges, so the event that crosses a threshold
//! in the middle of a burst opens its incident within seconds, with no background sweep.

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::incidents::incidents;
use crate::on_both_backends;

on_both_backends!(a_burst_opens_its_incident_within_seconds_of_the_crossing_event);

/// What the issue promises: within 3 s of the event that crossed the threshold.
const WITHIN: Duration = Duration::from_secs(3);

fn run(app: &TestApp, id: &str, status: &str, minutes_ago: i64) -> Value {
    let at = |m: i64| inspect_desk::clock::rfc3339(app.clock.now() - TimeDelta::minutes(m));
    json!({
        "run_id": id, "warehouse_type": "snowflake", "table": "RAW.EVENTS.CLICKS",
        "status": status, "started_at": at(minutes_ago), "finished_at": at(minutes_ago - 1),
    })
}

async fn a_burst_opens_its_incident_within_seconds_of_the_crossing_event(backend: Backend) {
    // The shipped debounce (2 s) and no background jobs: only the rules after ingest can
    // open the incident.
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.settings.monitor_debounce_ms, 2000);
    // Twenty healthy runs in one batch: one hand-off, whose rules run at once.
    let healthy: Vec<String> = (0..20)
        .map(|i| run(&app, &format!("ok-{i}"), "succeeded", 60 - i).to_string())
        .collect();
    let response = app.post_ndjson(healthy.join("\n")).await;
    assert_eq!(response.status(), 201);
    // Then a burst of timeouts, one request each, within the debounce interval. The
    // failure-rate rule looks at the last 20 finished runs and crosses above 20%: the
    // fifth timeout crosses it.
    let mut crossed_at = None;
    for i in 0..13 {
        app.post_run(run(&app, &format!("timeout-{i}"), "timed_out", 30 - i))
            .await;
        if i == 4 {
            crossed_at = Some(Instant::now());
        }
    }
    let crossed_at = crossed_at.expect("the fifth timeout was posted");
    let opened = loop {
        let open = incidents(&app).await;
        if let Some(incident) = open.first() {
            break Some((crossed_at.elapsed(), incident.clone()));
        }
        if crossed_at.elapsed() > WITHIN * 3 {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (waited, incident) = opened.expect("no incident opened after the burst");
    assert_eq!(incident["signal"], "failure_rate", "{incident}");
    assert!(
        waited <= WITHIN,
        "the incident opened {waited:?} after the crossing event (at most {WITHIN:?})"
    );
}
