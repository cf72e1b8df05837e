//! Run times no profiling run can have are refused on every ingest path, with the field
//! named, and change nothing: no run, no roll-up, no ticket resolved by a run from the
//! year 9999.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(impossible_run_times_are_refused_on_every_path);

fn run(id: &str, started_at: &str, finished_at: Option<&str>) -> Value {
    json!({
        "run_id": id, "warehouse_type": "snowflake", "table": "ANALYTICS.SALES.ORDERS",
        "status": "succeeded", "started_at": started_at, "finished_at": finished_at,
    })
}

fn lineage(kind: &str, id: &str, time: &str) -> Value {
    json!({
        "eventType": kind, "eventTime": time,
        "producer": "https://github.com/inspect/profiler",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": id, "facets": {}},
        "job": {"namespace": "inspect", "name": "profile", "facets": {}},
        "inputs": [{"namespace": "snowflake://acme", "name": "ANALYTICS.SALES.ORDERS", "facets": {}}],
        "outputs": []
    })
}

/// The problem document's message for `field`.
async fn refused(response: reqwest::Response, field: &str) -> String {
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    problem["errors"][field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} not named: {problem}"))
        .to_string()
}

async fn impossible_run_times_are_refused_on_every_path(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.monitor_debounce_ms = 0).await;
    let stale = app
        .file_report(json!({
            "reporter_email": "ana@example.com", "kind": "stale_profile",
            "warehouse_type": "snowflake", "table": "ANALYTICS.SALES.ORDERS",
            "description": "The profile of ORDERS is from last week."
        }))
        .await;
    let at = |days: i64| inspect_desk::clock::rfc3339(app.clock.now() + TimeDelta::days(days));
    // JSON: far future, before 2000, a month long, a day and more ahead.
    for (body, field, words) in [
        (
            run("far", "9999-12-30T00:00:00Z", None),
            "started_at",
            "ahead",
        ),
        (
            run("old", "0001-01-01T00:00:00Z", None),
            "started_at",
            "before 2000-01-01",
        ),
        (
            run("long", &at(-40), Some(&at(-5))),
            "finished_at",
            "at most 30 days",
        ),
        (run("ahead", &at(-1), Some(&at(2))), "finished_at", "ahead"),
    ] {
        let message = refused(app.ingest("/api/v1/runs", &body).await, field).await;
        assert!(message.contains(words), "{body}: {message}");
    }
    // NDJSON: the batch is refused with the line and the field.
    let lines = [
        run("fine", &at(-1), None),
        run("far-2", "9999-12-30T00:00:00Z", None),
    ];
    let body: Vec<String> = lines.iter().map(Value::to_string).collect();
    let response = app.post_ndjson(body.join("\n")).await;
    assert_eq!(response.status(), 422);
    let text = response.text().await.unwrap();
    assert!(text.contains("line 2: started_at"), "{text}");
    // OpenLineage: an event time out of bounds, and events that together make a run of
    // more than 30 days (the second is refused and not kept).
    let id = "0176a8c2-fe01-7439-87e6-56a1a1b40aaa";
    let far = lineage("COMPLETE", id, "9999-12-30T00:00:00Z");
    let message = refused(app.ingest("/api/v1/lineage", &far).await, "eventTime").await;
    assert!(message.contains("ahead"), "{message}");
    let start = app
        .ingest("/api/v1/lineage", &lineage("START", id, &at(-40)))
        .await;
    assert_eq!(start.status(), 201);
    let end = app
        .ingest("/api/v1/lineage", &lineage("COMPLETE", id, &at(-1)))
        .await;
    let message = refused(end, "eventTime").await;
    assert!(message.contains("at most 30 days"), "{message}");
    assert_eq!(
        app.count("lineage_events"),
        1,
        "the refused event is not kept"
    );
    // Nothing but the running START went in, and the stale profile is still open.
    assert_eq!(app.count("runs"), 1);
    let number = stale["number"].as_str().unwrap();
    let ticket: Value = app.api_json(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(ticket["status"], "new", "{ticket}");
}
