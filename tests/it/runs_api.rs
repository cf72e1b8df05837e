//! POST /api/v1/runs (JSON and NDJSON) and GET /api/v1/runs/{run_id}.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    single_run_round_trips,
    ndjson_batches_are_all_or_nothing,
    row_counts_are_kept_and_checked,
    the_same_new_run_posted_at_once_is_stored_once
);

/// Eight requests carry the same new run at the same moment (a retrying profiler): every
/// one succeeds, exactly one creates it.
async fn the_same_new_run_posted_at_once_is_stored_once(backend: Backend) {
    let app = std::sync::Arc::new(TestApp::spawn(backend).await);
    let run = json!({
        "run_id": "race-1", "warehouse_type": "snowflake", "table": "ANALYTICS.CRM.CONTACTS",
        "status": "succeeded", "started_at": "2026-11-20T10:00:00Z",
        "finished_at": "2026-11-20T10:00:30Z",
        "columns": [{"name": "email", "semantic_type": "email", "confidence": 0.9}]
    });
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (app, run) = (app.clone(), run.clone());
        tasks.push(tokio::spawn(async move {
            app.ingest("/api/v1/runs", &run).await.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses.sort();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 201),
        "{statuses:?}"
    );
    assert_eq!(app.count("runs WHERE run_id = 'race-1'"), 1);
    let stored: Value = app.api_json("/api/v1/runs/race-1").await;
    assert_eq!(
        stored["columns"],
        json!([{"name": "email", "semantic_type": "email", "confidence": 0.9}]),
        "{stored}"
    );
}

async fn row_counts_are_kept_and_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut run = json!({
        "run_id": "pg-rows", "warehouse_type": "postgres", "table": "public.orders",
        "status": "succeeded", "started_at": "2026-11-20T10:00:00Z",
        "finished_at": "2026-11-20T10:00:09Z", "row_count": 9001
    });
    assert_eq!(app.ingest("/api/v1/runs", &run).await.status(), 201);
    let stored: Value = app.api_json("/api/v1/runs/pg-rows").await;
    assert_eq!(stored["row_count"], 9001);
    run["row_count"] = json!(-1);
    let response = app.ingest("/api/v1/runs", &run).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("row_count"),
        "{problem}"
    );
    let stored: Value = app.api_json("/api/v1/runs/pg-rows").await;
    assert_eq!(stored["row_count"], 9001, "nothing stored half-way");
}

async fn single_run_round_trips(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let run = json!({
        "run_id": "bq-42",
        "warehouse_type": "bigquery",
        "table": "proj.core.users",
        "status": "failed",
        "started_at": "2026-11-20T10:00:00Z",
        "finished_at": "2026-11-20T10:02:30.500Z",
        "error": "Access Denied: User does not have bigquery.tables.getData permission",
        "columns": [
            {"name": "email", "semantic_type": "email", "confidence": 0.97},
            {"name": "signup_channel", "semantic_type": "categorical", "confidence": 0.6}
        ]
    });
    let response = app.ingest("/api/v1/runs", &run).await;
    assert_eq!(response.status(), 201);
    let counts: Value = response.json().await.unwrap();
    assert_eq!(counts, json!({"received": 1, "created": 1, "updated": 0}));
    let stored: Value = app.api_json("/api/v1/runs/bq-42").await;
    assert_eq!(stored["status"], "failed");
    assert_eq!(stored["table"], "proj.core.users");
    assert_eq!(stored["duration_ms"], 150_500);
    assert_eq!(stored["started_at"], "2026-11-20T10:00:00Z");
    assert_eq!(stored["columns"][0]["name"], "email");
    assert_eq!(stored["columns"].as_array().unwrap().len(), 2);
    // Sending the run again replaces it.
    let mut again = run.clone();
    again["status"] = json!("succeeded");
    again["columns"] = json!([]);
    let response = app.ingest("/api/v1/runs", &again).await;
    assert_eq!(response.status(), 200);
    let stored: Value = app.api_json("/api/v1/runs/bq-42").await;
    assert_eq!(stored["status"], "succeeded");
    assert_eq!(stored["columns"], json!([]));
    assert_eq!(app.api_get("/api/v1/runs/nope").await.status(), 404);
}

async fn ndjson_batches_are_all_or_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let line = |id: &str, status: &str| {
        json!({"run_id": id, "warehouse_type": "duckdb", "table": "local.main.trips", "status": status,
               "started_at": "2026-11-20T10:00:00Z"})
        .to_string()
    };
    let bad = format!(
        "{}\n{}\n",
        line("d-1", "succeeded"),
        line("d-2", "exploded")
    );
    let response = app.post_ndjson(bad).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert!(
        problem["errors"]["lines"]
            .as_str()
            .unwrap()
            .contains("line 2: status"),
        "{problem}"
    );
    assert_eq!(app.count("runs"), 0, "nothing stored from a bad batch");
    let good = format!(
        "{}\n\n{}\n",
        line("d-1", "succeeded"),
        line("d-2", "running")
    );
    let response = app
        .client
        .post(app.url("/api/v1/runs"))
        .bearer_auth(app.token(&[inspect_desk::domain::role::Scope::Ingest]))
        .header("content-type", "application/x-ndjson")
        .body(good)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let counts: Value = response.json().await.unwrap();
    assert_eq!(counts["created"], 2);
    assert_eq!(app.count("runs"), 2);
}
