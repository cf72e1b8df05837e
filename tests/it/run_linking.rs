//! Reports linked to the profiler's run records, and the evidence runs give.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, minutes_ago};
use crate::on_both_backends;

on_both_backends!(
    explicit_run_id_is_linked,
    recent_runs_of_the_table_are_linked_with_reasons,
    a_failed_latest_run_is_profiling_failure_evidence,
    an_old_last_success_is_stale_evidence,
    the_last_success_is_found_behind_recent_failures,
);

fn run(
    run_id: &str,
    table: &str,
    status: &str,
    started_minutes_ago: i64,
    error: Option<&str>,
) -> Value {
    json!({
        "run_id": run_id,
        "warehouse_type": "snowflake",
        "table": table,
        "status": status,
        "started_at": minutes_ago(started_minutes_ago),
        "finished_at": minutes_ago(started_minutes_ago - 5),
        "error": error,
    })
}

async fn explicit_run_id_is_linked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post_run(run(
        "sf-1",
        "ANALYTICS.CRM.CONTACTS",
        "succeeded",
        120,
        None,
    ))
    .await;
    let ticket = app
        .file_report(json!({
            "reporter_email": "ana@example.com",
            "kind": "wrong_column_type",
            "run_id": "sf-1",
            "column": "EMAIL_ADDR",
            "detected_type": "text",
            "expected_type": "email",
            "description": "EMAIL_ADDR is detected as free text instead of email",
        }))
        .await;
    assert_eq!(ticket["linked_runs"], json!(["sf-1"]));
    // An inspector URL carrying a run id the desk has not received yet still links it.
    let ticket = app
        .file_report(json!({
            "reporter_email": "ana@example.com",
            "kind": "failed_report",
            "run_id": "https://inspect.example/tables/x?run_id=future-run-9",
            "description": "Report generation failed (code R-502)",
        }))
        .await;
    assert_eq!(ticket["linked_runs"], json!(["future-run-9"]));
}

async fn recent_runs_of_the_table_are_linked_with_reasons(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (i, age) in [600, 400, 200, 100].iter().enumerate() {
        app.post_run(run(
            &format!("orders-{i}"),
            "ANALYTICS.SALES.ORDERS",
            "succeeded",
            *age,
            None,
        ))
        .await;
    }
    app.post_run(run(
        "other-table",
        "ANALYTICS.SALES.REFUNDS",
        "succeeded",
        50,
        None,
    ))
    .await;
    let ticket = app
        .file_report(json!({
            "reporter_email": "ana@example.com",
            "kind": "failed_report",
            "warehouse_type": "snowflake",
            "table": "ANALYTICS.SALES.ORDERS",
            "description": "Clicking 'Generate inspector report' fails with code R-502",
        }))
        .await;
    assert_eq!(
        ticket["linked_runs"],
        json!(["orders-3", "orders-2", "orders-1"]),
        "the three most recent, newest first"
    );
    // The reasons are on the ticket's timeline, for agents (the reporter's tracking page
    // shows the conversation, not the desk's bookkeeping).
    let events: Value = app
        .api_json(&format!(
            "/api/v1/tickets/{}/events",
            ticket["number"].as_str().unwrap()
        ))
        .await;
    assert!(
        events
            .to_string()
            .contains("latest run of ANALYTICS.SALES.ORDERS before the report"),
        "link reason recorded: {events}"
    );
}

async fn a_failed_latest_run_is_profiling_failure_evidence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post_run(run(
        "ok-1",
        "ANALYTICS.EVENTS.PAGEVIEWS",
        "succeeded",
        300,
        None,
    ))
    .await;
    app.post_run(run(
        "to-1",
        "ANALYTICS.EVENTS.PAGEVIEWS",
        "timed_out",
        60,
        Some("statement reached its statement or warehouse timeout of 3600 second(s)"),
    ))
    .await;
    let ticket = app
        .file_report(json!({
            "reporter_email": "ana@example.com",
            "kind": "unsure",
            "warehouse_type": "snowflake",
            "table": "ANALYTICS.EVENTS.PAGEVIEWS",
            "impact": "degraded",
            "description": "There is no profile for PAGEVIEWS at all today.",
        }))
        .await;
    assert_eq!(ticket["category"], "profiling_failure", "{ticket}");
    assert_eq!(ticket["linked_runs"][0], "to-1");
    // degraded (sev3), critical table (sev2), failing latest run (sev1).
    assert_eq!(ticket["severity"], "sev1", "{}", ticket["severity_reasons"]);
    let reasons = ticket["reasons"].to_string();
    assert!(
        reasons.contains("timed_out") || reasons.contains("run"),
        "run evidence named: {reasons}"
    );
}

async fn an_old_last_success_is_stale_evidence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Default freshness target is 24h; the last success is three days old.
    app.post_run(run(
        "old-ok",
        "ANALYTICS.CRM.ACCOUNTS",
        "succeeded",
        3 * 24 * 60,
        None,
    ))
    .await;
    let ticket = app
        .file_report(json!({
            "reporter_email": "ana@example.com",
            "kind": "unsure",
            "warehouse_type": "snowflake",
            "table": "ANALYTICS.CRM.ACCOUNTS",
            "description": "The numbers in the inspector do not match what we see in the warehouse.",
        }))
        .await;
    assert_eq!(ticket["category"], "stale_profile", "{ticket}");
    assert_eq!(ticket["team"], "profiler-core");
}

/// The last success decides freshness even when the linked (most recent) runs all failed:
/// one table's success before them is recent, another's is days old.
async fn the_last_success_is_found_behind_recent_failures(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    const STALE_REASON: &str = "last successful run is older than the freshness target";
    for (table, success_minutes_ago) in [
        ("ANALYTICS.CRM.LEADS", 4 * 60),
        ("ANALYTICS.CRM.DEALS", 3 * 24 * 60),
    ] {
        app.post_run(run(
            &format!("{table}-ok"),
            table,
            "succeeded",
            success_minutes_ago,
            None,
        ))
        .await;
        for minutes in [90, 60, 30] {
            app.post_run(run(
                &format!("{table}-fail-{minutes}"),
                table,
                "failed",
                minutes,
                Some("permission denied for table"),
            ))
            .await;
        }
    }
    let report = |table: &str| {
        json!({
            "reporter_email": "ana@example.com",
            "kind": "unsure",
            "warehouse_type": "snowflake",
            "table": table,
            "description": "The numbers in the inspector do not match the warehouse.",
        })
    };
    let fresh = app.file_report(report("ANALYTICS.CRM.LEADS")).await;
    assert_eq!(fresh["linked_runs"].as_array().unwrap().len(), 3, "{fresh}");
    let reasons = fresh["reasons"].to_string();
    assert!(
        !reasons.contains(STALE_REASON),
        "success 4 h ago: {reasons}"
    );
    let stale = app.file_report(report("ANALYTICS.CRM.DEALS")).await;
    let reasons = stale["reasons"].to_string();
    assert!(
        reasons.contains(STALE_REASON),
        "success 3 days ago: {reasons}"
    );
}
