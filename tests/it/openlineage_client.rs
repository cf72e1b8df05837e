//! The real openlineage-python client (HttpTransport, default endpoint) against the desk:
//! START then FAIL, START then COMPLETE, an ABORT, a COMPLETE sent before its START and
//! gzip-compressed events, on every warehouse type. The client lives in a virtualenv made
//! once in `target/ol-venv` (`python3 -m venv` + `pip install openlineage-python`).
//! Without python, venv or PyPI the test says `SKIPPED (openlineage)`; with `CI` set it
//! fails instead.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;

use inspect_desk::domain::role::Scope;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, manifest_dir};
use crate::on_both_backends;

on_both_backends!(the_python_client_records_runs);

/// One venv per test process, made at most once; its python.
fn venv() -> &'static Result<PathBuf, String> {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    VENV.get_or_init(|| {
        crate::venv::python_venv(
            "ol-venv",
            "openlineage-python",
            "import openlineage.client.transport.http",
        )
        .map(|dir| dir.join("bin/python"))
    })
}

/// The runs the script sends, and what the desk must make of them.
fn plan() -> Vec<(Value, Value)> {
    let id = || uuid::Uuid::new_v4().to_string();
    let timeout =
        "Statement reached its statement or warehouse timeout of 3,600 second(s) and was canceled.";
    vec![
        (
            json!({"run_id": id(), "namespace": "snowflake://acme-prod", "name": "ANALYTICS.SALES.ORDERS",
                   "start": "2026-11-20T09:00:00+00:00", "end": "2026-11-20T10:00:00+00:00",
                   "end_type": "FAIL", "error": timeout}),
            json!({"warehouse_type": "snowflake", "status": "timed_out", "duration_ms": 3_600_000, "error": timeout}),
        ),
        (
            json!({"run_id": id(), "namespace": "bigquery", "name": "proj.core.users",
                   "start": "2026-11-20T09:00:00.250000+00:00", "end": "2026-11-20T09:02:00.750000+00:00",
                   "end_type": "COMPLETE", "schema": ["email", "signup_channel", "id"],
                   "semantic_types": {"email": ["email", 0.97], "signup_channel": ["categorical", 0.6]}}),
            json!({"warehouse_type": "bigquery", "status": "succeeded", "duration_ms": 120_500, "error": null}),
        ),
        (
            json!({"run_id": id(), "namespace": "redshift://c1.eu-west-1:5439", "name": "dev.public.events",
                   "start": "2026-11-20T09:00:00+00:00", "end": "2026-11-20T09:00:05+00:00",
                   "end_type": "FAIL", "error": "permission denied for relation events"}),
            json!({"warehouse_type": "redshift", "status": "failed", "duration_ms": 5_000,
                   "error": "permission denied for relation events"}),
        ),
        (
            json!({"run_id": id(), "namespace": "postgres://db.internal:5432", "name": "shop.public.orders",
                   "start": "2026-11-20T09:00:00+00:00", "end": "2026-11-20T09:01:00+00:00",
                   "end_type": "COMPLETE", "end_first": true, "gzip": true}),
            json!({"warehouse_type": "postgres", "status": "succeeded", "duration_ms": 60_000, "error": null}),
        ),
        (
            json!({"run_id": id(), "namespace": "databricks://adb-1.azuredatabricks.net", "name": "main.sales.items",
                   "start": "2026-11-20T09:00:00+00:00", "end": "2026-11-20T09:00:30+00:00", "end_type": "ABORT"}),
            json!({"warehouse_type": "databricks", "status": "cancelled", "duration_ms": 30_000, "error": null}),
        ),
        (
            json!({"run_id": id(), "namespace": "duckdb:///data/local.duckdb", "name": "local.main.trips",
                   "start": "2026-11-20T09:00:00+00:00", "end": "2026-11-20T09:00:01+00:00",
                   "end_type": "COMPLETE", "gzip": true}),
            json!({"warehouse_type": "duckdb", "status": "succeeded", "duration_ms": 1_000, "error": null}),
        ),
    ]
}

async fn the_python_client_records_runs(backend: Backend) {
    let python = match tokio::task::spawn_blocking(venv).await.unwrap() {
        Ok(python) => python.clone(),
        Err(reason) if std::env::var_os("CI").is_some() => {
            panic!("CI is set but the openlineage-python client is unavailable: {reason}")
        }
        Err(reason) => {
            eprintln!("SKIPPED (openlineage): {reason}; the python client test did not run");
            return;
        }
    };
    let app = TestApp::spawn(backend).await;
    let plan = plan();
    let runs: Vec<&Value> = plan.iter().map(|(run, _)| run).collect();
    let mut child = tokio::process::Command::new(&python)
        .arg(manifest_dir().join("tests/it/openlineage_client.py"))
        .arg(app.url("/"))
        .arg(app.token(&[Scope::Ingest]))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the python client");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(json!(runs).to_string().as_bytes())
            .await
            .unwrap();
    }
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        child.wait_with_output(),
    )
    .await
    .expect("the python client finished within 2 minutes")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python client failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("sent 12 events for 6 runs"), "{stdout}");
    for (sent, expected) in &plan {
        let id = sent["run_id"].as_str().unwrap();
        let response = app.api_get(&format!("/api/v1/runs/{id}")).await;
        assert_eq!(response.status(), 200, "run {id} stored");
        let stored: Value = response.json().await.unwrap();
        for field in ["warehouse_type", "status", "duration_ms", "error"] {
            assert_eq!(stored[field], expected[field], "{field} of {sent}");
        }
        assert_eq!(stored["table"], sent["name"]);
        assert_eq!(
            stored["started_at"].as_str().unwrap()[..19],
            sent["start"].as_str().unwrap()[..19]
        );
    }
    let typed = app
        .api_get(&format!(
            "/api/v1/runs/{}",
            plan[1].0["run_id"].as_str().unwrap()
        ))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        typed["columns"],
        json!([
            {"name": "email", "semantic_type": "email", "confidence": 0.97},
            {"name": "id", "semantic_type": null, "confidence": null},
            {"name": "signup_channel", "semantic_type": "categorical", "confidence": 0.6}
        ])
    );
}
