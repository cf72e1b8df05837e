//! The hourly roll-ups `/telemetry` reads for a day or a week agree with the runs
//! themselves, however the runs arrived: one at a time, in batches naming a run twice,
//! replaced by later records (also into another hour), as OpenLineage events out of
//! order; after a rebuild from the runs; and without a drill's runs.

use chrono::TimeDelta;
use diesel::prelude::*;
use inspect_desk::domain::run::RunStatus;
use inspect_desk::domain::run_stats::{RunSample, WarehouseStats, summarize};
use inspect_desk::domain::warehouse::WarehouseType;
use inspect_desk::domain::window::Window;
use inspect_desk::services::{rollups, run_telemetry};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, minutes_ago};
use crate::on_both_backends;

on_both_backends!(
    hourly_rollups_match_the_runs,
    table_health_and_typed_columns_only_move_forward
);

fn run(id: &str, warehouse: &str, status: &str, started: i64, minutes: i64) -> Value {
    let mut run = json!({"run_id": id, "warehouse_type": warehouse, "table": "A.B.C",
        "status": status, "started_at": minutes_ago(started)});
    if status != "running" {
        run["finished_at"] = json!(minutes_ago(started - minutes));
    }
    run
}

fn lineage(kind: &str, id: &str, minutes_ago_: i64) -> Value {
    json!({
        "eventType": kind, "eventTime": minutes_ago(minutes_ago_),
        "producer": "https://github.com/inspect/profiler",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": id, "facets": {}},
        "job": {"namespace": "inspect", "name": "profile", "facets": {}},
        "inputs": [{"namespace": "snowflake://acme", "name": "A.B.C", "facets": {}}],
        "outputs": []
    })
}

/// Totals per warehouse type: what the day's roll-ups say, and what the runs say.
fn both_ways(app: &TestApp) -> (Vec<WarehouseStats>, Vec<WarehouseStats>) {
    let mut conn = app.desk.pool.get().unwrap();
    let now = app.desk.clock.now();
    let since = now - TimeDelta::hours(24);
    let from_rollups = run_telemetry::read(&mut conn, &app.desk.model, Window::Day, 24, now)
        .unwrap()
        .warehouses;
    use inspect_desk::db::schema::runs;
    let rows: Vec<(String, String, chrono::NaiveDateTime, Option<i64>)> = runs::table
        .filter(runs::started_at.ge(since))
        .filter(runs::started_at.le(now))
        .filter(runs::drill.eq(0))
        .select((
            runs::warehouse_type,
            runs::status,
            runs::started_at,
            runs::duration_ms,
        ))
        .load(&mut *conn)
        .unwrap();
    let samples: Vec<RunSample> = rows
        .into_iter()
        .map(|(w, s, started_at, duration_ms)| RunSample {
            warehouse_type: WarehouseType::parse(&w).unwrap(),
            status: RunStatus::parse(&s).unwrap(),
            started_at,
            duration_ms,
        })
        .collect();
    (from_rollups, summarize(&samples, since, now, 1))
}

fn assert_agree(app: &TestApp, when: &str) {
    let (rolled, raw) = both_ways(app);
    for (r, w) in rolled.iter().zip(&raw) {
        assert_eq!(
            (
                r.runs,
                r.finished,
                r.failed,
                r.timed_out,
                r.p50_ms,
                r.p95_ms,
                r.max_ms
            ),
            (
                w.runs,
                w.finished,
                w.failed,
                w.timed_out,
                w.p50_ms,
                w.p95_ms,
                w.max_ms
            ),
            "{when}: {:?}",
            r.warehouse_type
        );
    }
    assert!(rolled.iter().any(|r| r.runs > 0), "{when}: nothing counted");
}

async fn hourly_rollups_match_the_runs(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // One at a time, over the day, each kind of outcome.
    for (i, status) in ["succeeded", "failed", "timed_out", "cancelled", "running"]
        .iter()
        .cycle()
        .take(25)
        .enumerate()
    {
        let warehouse = ["snowflake", "bigquery", "postgres"][i % 3];
        app.post_run(run(
            &format!("one-{i}"),
            warehouse,
            status,
            30 + i as i64 * 55,
            3 + i as i64,
        ))
        .await;
    }
    // Replaced: running → failed; failed → succeeded an hour and a half earlier.
    app.post_run(run("one-4", "bigquery", "failed", 30 + 4 * 55, 9))
        .await;
    app.post_run(run("one-1", "bigquery", "succeeded", 30 + 55 + 90, 2))
        .await;
    // A batch naming a run twice (the later record wins) and a run from another batch.
    let batch = [
        run("batch-1", "duckdb", "running", 200, 0),
        run("batch-2", "duckdb", "failed", 400, 7),
        run("batch-1", "duckdb", "succeeded", 200, 4),
        run("one-7", "duckdb", "timed_out", 700, 60),
    ]
    .map(|r| r.to_string())
    .join("\n");
    let response = app.post_ndjson(batch).await;
    assert!(response.status().is_success());
    // OpenLineage, COMPLETE before START, the START an hour before the COMPLETE.
    let id = "0176a8c2-fe01-7439-87e6-56a1a1b40999";
    for (kind, at) in [("COMPLETE", 100), ("START", 170), ("COMPLETE", 100)] {
        let response = app.ingest("/api/v1/lineage", &lineage(kind, id, at)).await;
        assert!(response.status().is_success(), "{kind}");
    }
    assert_agree(&app, "after ingest");

    // A drill's runs stay out.
    {
        let mut conn = app.desk.pool.get().unwrap();
        let record = inspect_desk::domain::run_record::RunRecord::parse(
            &serde_json::from_value(run("drill-1", "snowflake", "failed", 20, 5)).unwrap(),
            app.desk.clock.now(),
        )
        .unwrap();
        inspect_desk::services::runs::store(&mut conn, &[record], app.desk.clock.now(), 7).unwrap();
    }
    assert_agree(&app, "after a drill's run");

    // Rebuilt from the runs (a database from before the roll-ups): the same figures.
    {
        let mut conn = app.desk.pool.get().unwrap();
        diesel::sql_query("DELETE FROM run_hours")
            .execute(&mut *conn)
            .unwrap();
        assert!(rollups::backfill(&mut conn).unwrap() > 0);
        assert_eq!(rollups::backfill(&mut conn).unwrap(), 0, "only once");
    }
    assert_agree(&app, "after a rebuild");
}

/// A table's last run and last success, and a column's latest typing, keep the newest
/// instant whatever order the runs arrive in: an older run posted late changes nothing,
/// a newer one moves what it is newer for.
async fn table_health_and_typed_columns_only_move_forward(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let typed = |id: &str, status: &str, started: i64| {
        let mut r = run(id, "snowflake", status, started, 1);
        r["table"] = json!("F.W.D");
        r["columns"] = json!([{"name": "email", "semantic_type": "email", "confidence": 0.9}]);
        r
    };
    let state = |app: &TestApp| {
        let mut conn = app.desk.pool.get().unwrap();
        let now = app.desk.clock.now();
        let since = now - TimeDelta::hours(24);
        let health = rollups::tables_profiled(&mut conn, since, now, 100)
            .unwrap()
            .into_iter()
            .find(|t| t.table_name == "F.W.D")
            .unwrap();
        let columns =
            rollups::typed_in_tables(&mut conn, &["F.W.D".to_string()], since, now).unwrap();
        assert_eq!(columns.len(), 1);
        let minutes = |at: chrono::NaiveDateTime| (now - at).num_minutes();
        (
            minutes(health.last_run_at),
            health.last_success_started_at.map(minutes),
            minutes(columns[0].last_typed_at),
        )
    };
    // (minutes ago of: the last run, the last success, the latest typing)
    app.post_run(typed("fwd-1", "succeeded", 60)).await;
    assert_eq!(state(&app), (60, Some(60), 60));
    app.post_run(typed("fwd-2", "failed", 30)).await;
    assert_eq!(state(&app), (30, Some(60), 30));
    // Older than both, posted late: nothing moves.
    app.post_run(typed("fwd-3", "succeeded", 120)).await;
    assert_eq!(state(&app), (30, Some(60), 30));
    // Older than the last run but newer than the last success: only the success moves.
    // In a batch with more tables than go one by one (one multi-row statement).
    let mut batch = vec![typed("fwd-4", "succeeded", 45)];
    for i in 0..12 {
        let mut other = typed(&format!("fwd-other-{i}"), "succeeded", 50);
        other["table"] = json!(format!("F.W.T{i}"));
        batch.push(other);
    }
    let response = app
        .post_ndjson(
            batch
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .await;
    assert!(response.status().is_success());
    assert_eq!(state(&app), (30, Some(45), 30));
    app.post_run(typed("fwd-6", "succeeded", 10)).await;
    assert_eq!(state(&app), (10, Some(10), 10));
}
