//! Run retention (`inspect-desk prune-runs`, and hourly with DESK_RUN_RETENTION): old runs
//! go with their lineage events; runs linked to a ticket and each table's latest run and
//! latest success stay; the hourly roll-ups keep their counts.

use serde_json::json;

use crate::helpers::{Backend, TestApp, desk_cli, minutes_ago};
use crate::on_both_backends;

on_both_backends!(
    old_runs_go_evidence_and_each_tables_latest_stay,
    the_server_prunes_old_runs_when_it_starts
);

fn days_ago(days: i64) -> String {
    minutes_ago(days * 24 * 60)
}

async fn stored(app: &TestApp, id: &str) -> bool {
    let status = app.api_get(&format!("/api/v1/runs/{id}")).await.status();
    assert!(status == 200 || status == 404, "{id}: {status}");
    status == 200
}

fn prune(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = desk_cli(&app.settings.database_url)
        .arg("prune-runs")
        .args(args)
        .output()
        .expect("run inspect-desk prune-runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn old_runs_go_evidence_and_each_tables_latest_stay(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    post_runs_of_three_tables(&app).await;
    post_an_old_lineage_run(&app).await;
    post_old_runs_of_a_hundred_tables(&app).await;
    let ticket = app
        .file_report(json!({
            "reporter_email": "ana@example.com",
            "kind": "failed_report",
            "run_id": "a-linked",
            "description": "The inspector report of ALPHA failed three weeks ago and still does",
        }))
        .await;
    assert_eq!(ticket["linked_runs"], json!(["a-linked"]));
    let hours = app.count("run_hours");
    assert_eq!(app.count("lineage_events"), 2);

    let (ok, text) = prune(&app, &[]);
    assert!(!ok && text.contains("no retention"), "{text}");
    let (ok, text) = prune(&app, &["--older-than", "3d"]);
    assert!(
        !ok && text.contains("--older-than") && text.contains("too short"),
        "{text}"
    );
    let (ok, text) = prune(&app, &["--older-than", "8d"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("pruned 2303 run(s)") && text.contains("2 lineage event(s); kept 103"),
        "{text}"
    );
    old_runs_went_and_the_ones_that_matter_stayed(&app, hours).await;
    let number = ticket["number"].as_str().unwrap();
    let shown: serde_json::Value = app
        .api_get(&format!("/api/v1/tickets/{number}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["linked_runs"], json!(["a-linked"]), "{shown}");
    // Again: nothing left to prune.
    let (ok, text) = prune(&app, &["--older-than", "8d"]);
    assert!(
        ok && text.contains("pruned 0 run(s)") && text.contains("kept 103"),
        "{text}"
    );
}

/// Old and new runs of ALPHA (one of them the evidence of a ticket filed later), BETA
/// (only old runs) and ORDERS (a new one).
async fn post_runs_of_three_tables(app: &TestApp) {
    let runs = [
        // (id, warehouse, table, status, started days ago)
        ("a-old", "snowflake", "DB.S.ALPHA", "succeeded", 20),
        ("a-linked", "snowflake", "DB.S.ALPHA", "failed", 19),
        ("a-last-ok", "snowflake", "DB.S.ALPHA", "succeeded", 18),
        ("a-new", "snowflake", "DB.S.ALPHA", "failed", 1),
        ("b-old", "bigquery", "proj.s.beta", "failed", 12),
        ("b-last", "bigquery", "proj.s.beta", "failed", 10),
        ("o-new", "duckdb", "shop.main.orders", "succeeded", 2),
    ];
    for (id, warehouse, table, status, days) in runs {
        app.post_run(json!({
            "run_id": id, "warehouse_type": warehouse, "table": table, "status": status,
            "started_at": days_ago(days),
            "finished_at": minutes_ago(days * 24 * 60 - 5),
            "error": if status == "failed" { Some("Statement reached its statement or warehouse timeout") } else { None },
        }))
        .await;
    }
}

/// An old run that arrived as OpenLineage events: they go with it.
async fn post_an_old_lineage_run(app: &TestApp) {
    let (ns, table) = ("duckdb:///data/shop.duckdb", "shop.main.orders");
    for (kind, minutes) in [("START", 21 * 24 * 60), ("COMPLETE", 21 * 24 * 60 - 3)] {
        let event = crate::lineage_api::event(kind, "o-lineage", &minutes_ago(minutes), ns, table);
        let response = app.ingest("/api/v1/lineage", &event).await;
        assert!(response.status().is_success(), "{}", response.status());
    }
}

/// Many old runs in chunks (runs that started together straddle the chunks' edges):
/// 2,400 over 100 tables, 30 to a start time; each table's last one stays.
async fn post_old_runs_of_a_hundred_tables(app: &TestApp) {
    let base = chrono::Utc::now() - chrono::TimeDelta::days(40);
    let bulk: String = (0..2_400)
        .map(|i| {
            let started = base + chrono::TimeDelta::minutes(i / 30);
            format!(
                "{}\n",
                json!({
                    "run_id": format!("bulk-{i:04}"), "warehouse_type": "redshift",
                    "table": format!("dw.bulk.t{}", i % 100), "status": "succeeded",
                    "started_at": started.to_rfc3339(),
                    "finished_at": (started + chrono::TimeDelta::seconds(30)).to_rfc3339(),
                })
            )
        })
        .collect();
    let response = app.post_ndjson(bulk).await;
    assert!(response.status().is_success(), "{}", response.status());
}

/// After pruning at 8 days: the old runs and their lineage events are gone; the linked
/// run, each table's latest run and latest success, and the `hours` roll-ups stay.
async fn old_runs_went_and_the_ones_that_matter_stayed(app: &TestApp, hours: i64) {
    for gone in ["a-old", "b-old", "o-lineage"] {
        assert!(!stored(app, gone).await, "{gone} pruned");
    }
    for kept in ["a-linked", "a-last-ok", "a-new", "b-last", "o-new"] {
        assert!(stored(app, kept).await, "{kept} kept");
    }
    assert_eq!(app.count("lineage_events"), 0);
    let bulk_left = app.count("runs WHERE run_id LIKE 'bulk-%'");
    assert_eq!(bulk_left, 100);
    assert_eq!(
        app.count("runs WHERE run_id LIKE 'bulk-%' AND run_id >= 'bulk-2300'"),
        100,
        "each table's latest run"
    );
    assert_eq!(app.count("run_hours"), hours, "roll-ups keep pruned hours");
}

/// The server's own clean-up (background jobs on, `DESK_RUN_RETENTION` set) prunes at its
/// first tick, then hourly: a server started on a database with old runs removes them.
async fn the_server_prunes_old_runs_when_it_starts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (id, days) in [("x-old", 20), ("x-new", 1)] {
        app.post_run(json!({
            "run_id": id, "warehouse_type": "postgres", "table": "public.orders",
            "status": "succeeded", "started_at": days_ago(days),
            "finished_at": minutes_ago(days * 24 * 60 - 5),
        }))
        .await;
    }
    // A second server on the same database, with its background jobs.
    let mut settings = app.settings.clone();
    settings.background_jobs = true;
    settings.run_retention = Some("10d".into());
    let server = inspect_desk::startup::Application::build(&settings, app.clock.clone())
        .expect("the second server builds");
    let running = tokio::spawn(server.run_until_stopped());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.count("runs WHERE run_id = 'x-old'") > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not prune the 20-day-old run within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(stored(&app, "x-new").await, "the newer run stays");
    running.abort();
}
