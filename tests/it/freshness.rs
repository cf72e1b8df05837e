//! Freshness auto-resolution: a fresh successful profile resolves the stale-profile tickets
//! of its table, saying what changed; as deployed, off the request path.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::incidents::{at, events, incidents, run, spawn, ticket};
use crate::on_both_backends;

async fn fresh_profile_resolves_stale_tickets(backend: Backend) {
    let app = spawn(backend).await;
    let old = json!({
        "run_id": "duck-old", "warehouse_type": "duckdb", "table": "local.main.trips",
        "status": "succeeded", "started_at": at(&app, 4 * 1440), "finished_at": at(&app, 4 * 1440 - 3),
        "row_count": 1200,
        "columns": [
            {"name": "rider_email", "semantic_type": "email", "confidence": 0.9},
            {"name": "fare", "semantic_type": "currency", "confidence": 0.8}
        ]
    });
    app.post_run(old).await;
    let stale = app
        .file_report(json!({
            "reporter_email": "cy@example.com", "kind": "stale_profile", "warehouse_type": "duckdb",
            "table": "local.main.trips",
            "description": "The trips profile is four days old; it should refresh daily."
        }))
        .await;
    let number = stale["number"].as_str().unwrap().to_string();
    let other = app
        .file_report(json!({
            "reporter_email": "cy@example.com", "kind": "stale_profile", "warehouse_type": "duckdb",
            "table": "local.main.zones",
            "description": "The zones profile is stale too."
        }))
        .await;
    assert_eq!(stale["status"], "new");
    // A failed run changes nothing.
    app.post_run(run(
        &app,
        "duck-fail",
        "duckdb",
        "local.main.trips",
        "failed",
        2,
    ))
    .await;
    assert_eq!(ticket(&app, &number).await["status"], "new");
    // A fresh successful profile resolves it, saying what changed.
    let fresh = json!({
        "run_id": "duck-new", "warehouse_type": "duckdb", "table": "local.main.trips",
        "status": "succeeded", "started_at": at(&app, 1), "finished_at": at(&app, 0),
        "row_count": 1350,
        "columns": [
            {"name": "rider_email", "semantic_type": "phone_number", "confidence": 0.7},
            {"name": "pickup_zone", "semantic_type": "categorical", "confidence": 0.9}
        ]
    });
    app.post_run(fresh).await;
    assert_eq!(ticket(&app, &number).await["status"], "resolved");
    let note = events(&app, &number)
        .await
        .into_iter()
        .map(|e| e["detail"].as_str().unwrap().to_string())
        .find(|d| d.contains("fresh profile"))
        .expect("a note of what changed");
    assert!(note.contains("run duck-new"), "{note}");
    assert!(note.contains("against run duck-old"), "{note}");
    assert!(note.contains("row count 1200 → 1350"), "{note}");
    let stored: Value = app.api_json("/api/v1/runs/duck-new").await;
    assert_eq!(stored["row_count"], 1350);
    assert!(note.contains("columns added: pickup_zone"), "{note}");
    assert!(note.contains("columns removed: fare"), "{note}");
    assert!(note.contains("rider_email: email → phone_number"), "{note}");
    assert_eq!(
        app.count("outbox WHERE recipient = 'cy@example.com' AND template = 'resolved'"),
        1
    );
    // The other table's ticket is untouched.
    assert_eq!(
        ticket(&app, other["number"].as_str().unwrap()).await["status"],
        "new"
    );
}

/// With a debounce (as deployed), freshness runs on its worker after the ingest answered,
/// and threshold rules on their own thread: both still happen.
async fn background_freshness_and_rules(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.monitor_debounce_ms = 50).await;
    let stale = app
        .file_report(json!({
            "reporter_email": "fay@example.com", "kind": "stale_profile", "warehouse_type": "bigquery",
            "table": "proj.core.users", "description": "The users profile is days old."
        }))
        .await;
    let number = stale["number"].as_str().unwrap().to_string();
    app.post_run(run(
        &app,
        "bq-fresh",
        "bigquery",
        "proj.core.users",
        "succeeded",
        0,
    ))
    .await;
    app.post_run(run(
        &app,
        "bq-crit",
        "bigquery",
        "proj.finance.ledger",
        "timed_out",
        0,
    ))
    .await;
    let mut status = String::new();
    let mut open = Vec::new();
    for _ in 0..100 {
        status = ticket(&app, &number).await["status"]
            .as_str()
            .unwrap()
            .to_string();
        // The debounce may have swallowed the second ingest's evaluation: nudge it.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        app.post_run(run(
            &app,
            "bq-crit",
            "bigquery",
            "proj.finance.ledger",
            "timed_out",
            0,
        ))
        .await;
        open = incidents(&app).await;
        if status == "resolved" && !open.is_empty() {
            break;
        }
    }
    assert_eq!(
        status, "resolved",
        "the freshness worker resolved the stale ticket"
    );
    assert_eq!(
        open.len(),
        1,
        "the rules ran off the request path: {open:?}"
    );
}

on_both_backends!(
    background_freshness_and_rules,
    fresh_profile_resolves_stale_tickets,
);
