//! Threshold incidents (the `[incidents]` rules of config/support-model.toml) and the known
//! issues they show, through the API as the profiler and analysts use it.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

/// Rules evaluated after every ingest (no debounce), as the tests need to see each step.
pub(crate) async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| s.monitor_debounce_ms = 0).await
}

pub(crate) fn at(app: &TestApp, minutes_ago: i64) -> String {
    inspect_desk::clock::rfc3339(app.clock.now() - TimeDelta::minutes(minutes_ago))
}

pub(crate) fn run(
    app: &TestApp,
    id: &str,
    warehouse: &str,
    table: &str,
    status: &str,
    ago: i64,
) -> Value {
    json!({
        "run_id": id, "warehouse_type": warehouse, "table": table, "status": status,
        "started_at": at(app, ago), "finished_at": at(app, ago - 1),
        "error": if status == "timed_out" { json!("Statement reached its statement or warehouse timeout of 3600 second(s)") } else { Value::Null },
    })
}

/// A JSON list of ticket numbers, sorted.
pub(crate) fn sorted_numbers(list: &Value) -> Vec<String> {
    let mut numbers: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    numbers.sort();
    numbers
}

pub(crate) async fn incidents(app: &TestApp) -> Vec<Value> {
    let response = app.api_get("/api/v1/incidents").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["incidents"].as_array().unwrap().clone()
}

pub(crate) async fn ticket(app: &TestApp, number: &str) -> Value {
    app.api_json(&format!("/api/v1/tickets/{number}")).await
}

pub(crate) async fn events(app: &TestApp, number: &str) -> Vec<Value> {
    app.api_json(&format!("/api/v1/tickets/{number}/events"))
        .await
}

async fn evaluate(app: &TestApp) -> inspect_desk::services::monitor::Evaluation {
    let desk = app.desk.clone();
    tokio::task::spawn_blocking(move || {
        inspect_desk::services::monitor::evaluate(
            &desk,
            &Default::default(),
            desk.clock.now(),
            None,
        )
    })
    .await
    .unwrap()
    .expect("evaluation")
}

async fn burst_of_timeouts_opens_one_incident_that_recovery_resolves(backend: Backend) {
    let app = spawn(backend).await;
    // An analyst noticed first.
    let report = app
        .file_report(json!({
            "reporter_email": "ana@example.com", "kind": "profiling_failure", "impact": "blocked",
            "warehouse_type": "snowflake", "table": "ANALYTICS.SALES.ORDERS",
            "description": "The profiling job for ORDERS keeps failing with a timeout since this morning."
        }))
        .await;
    let report_number = report["number"].as_str().unwrap().to_string();
    // Snowflake is healthy otherwise: the failure rate stays under its 20% threshold.
    for i in 1..=30 {
        app.post_run(run(
            &app,
            &format!("sf-ok-{i}"),
            "snowflake",
            "ANALYTICS.CRM.CONTACTS",
            "succeeded",
            i,
        ))
        .await;
    }
    assert!(incidents(&app).await.is_empty());

    critical_orders_time_out(&app).await;
    let number = one_critical_timeout_incident(&app, &report_number).await;
    incident_is_a_ticket_like_any_other(&app, &number, &report_number).await;
    let later_number =
        more_timeouts_and_a_later_report_join_it(&app, &number, &report_number).await;
    resolves_once_the_cool_down_passes(&app, &number).await;
    reporters_hear_once_and_reports_resolve_with_it(&app, &number, [&report_number, &later_number])
        .await;
    // A new burst later opens a new incident.
    app.post_run(run(
        &app,
        "sf-timeout-20",
        "snowflake",
        "ANALYTICS.EVENTS.PAGEVIEWS",
        "timed_out",
        1,
    ))
    .await;
    let open = incidents(&app).await;
    assert_eq!(open.len(), 1);
    assert_ne!(open[0]["number"], number);
}

/// Four timeouts of the critical ORDERS table, and one of a table nobody marked critical.
async fn critical_orders_time_out(app: &TestApp) {
    for i in 0..4 {
        app.post_run(run(
            app,
            &format!("sf-timeout-{i}"),
            "snowflake",
            "ANALYTICS.SALES.ORDERS",
            "timed_out",
            20 - i,
        ))
        .await;
    }
    // A timeout on a table nobody marked critical is not this signal.
    app.post_run(run(
        app,
        "sf-other",
        "snowflake",
        "RAW.EVENTS.CLICKS",
        "timed_out",
        5,
    ))
    .await;
}

/// The burst opened one critical-timeout incident with the ORDERS runs and the analyst's
/// report as its evidence. Returns its number.
async fn one_critical_timeout_incident(app: &TestApp, report_number: &str) -> String {
    let open = incidents(app).await;
    assert_eq!(open.len(), 1, "one incident for the burst: {open:?}");
    let incident = &open[0];
    assert_eq!(incident["signal"], "critical_timeout");
    assert_eq!(incident["rule"], "critical-timeout");
    assert_eq!(incident["signal_key"], "critical-timeout:snowflake");
    assert_eq!(incident["warehouse_type"], "snowflake");
    assert_eq!(incident["severity"], "sev1");
    assert!(incident["opened_at"].as_str().unwrap().ends_with('Z'));
    let linked_runs: Vec<&str> = incident["linked_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(linked_runs.contains(&"sf-timeout-0"), "{linked_runs:?}");
    assert!(!linked_runs.contains(&"sf-other"), "{linked_runs:?}");
    assert_eq!(incident["linked_tickets"], json!([report_number]));
    assert_eq!(
        incident["runbook_url"],
        "/runbooks/profiling-failure#critical_timeout"
    );
    incident["number"].as_str().unwrap().to_string()
}

/// The incident is a ticket like any other: routed, on the queue, with its reasons.
async fn incident_is_a_ticket_like_any_other(app: &TestApp, number: &str, report_number: &str) {
    let parent = ticket(app, number).await;
    assert_eq!(parent["is_incident"], true);
    assert_eq!(
        parent["runbook_url"],
        "/runbooks/profiling-failure#critical_timeout"
    );
    assert_eq!(
        ticket(app, report_number).await["runbook_url"],
        "/runbooks/profiling-failure"
    );
    assert_eq!(parent["category"], "profiling_failure");
    assert_eq!(parent["warehouse_type"], "snowflake");
    assert!(!parent["team"].as_str().unwrap().is_empty());
    assert_eq!(ticket(app, report_number).await["incident"], number);
}

/// More timeouts and a later report: still one incident; the report joins it. Returns the
/// later report's number.
async fn more_timeouts_and_a_later_report_join_it(
    app: &TestApp,
    number: &str,
    report_number: &str,
) -> String {
    app.post_run(run(
        app,
        "sf-timeout-9",
        "snowflake",
        "ANALYTICS.SALES.ORDERS",
        "timed_out",
        2,
    ))
    .await;
    let later = app
        .file_report(json!({
            "reporter_email": "bo@example.com", "kind": "failed_report", "impact": "degraded",
            "warehouse_type": "snowflake", "table": "ANALYTICS.SALES.ORDERS",
            "description": "My inspector report for ORDERS failed to generate."
        }))
        .await;
    let later_number = later["number"].as_str().unwrap().to_string();
    let open = incidents(app).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["number"], number);
    assert_eq!(app.count("signal_incidents"), 1);
    let mut expected = vec![report_number.to_string(), later_number.clone()];
    expected.sort();
    assert_eq!(sorted_numbers(&open[0]["linked_tickets"]), expected);
    later_number
}

/// Past the window the incident stays open through the cool-down, then resolves, saying
/// why on its timeline.
async fn resolves_once_the_cool_down_passes(app: &TestApp, number: &str) {
    // Still inside the cool-down after the window has passed: stays open.
    app.clock.advance(TimeDelta::minutes(62));
    let evaluation = evaluate(app).await;
    assert!(evaluation.resolved.is_empty(), "{:?}", evaluation.lines);
    // The signal now says "no timeouts in the last hour"; 30 minutes of that resolves it.
    app.clock.advance(TimeDelta::minutes(31));
    // Nothing crossed for the cool-down since the last breach (62 + 31 minutes ago).
    let evaluation = evaluate(app).await;
    assert_eq!(
        evaluation.resolved,
        vec![number.to_string()],
        "{:?}",
        evaluation.lines
    );
    assert!(incidents(app).await.is_empty());
    assert_eq!(ticket(app, number).await["status"], "resolved");
    let timeline = events(app, number).await;
    assert!(
        timeline.iter().any(|e| e["detail"]
            .as_str()
            .unwrap()
            .contains("stayed below its threshold")),
        "{timeline:?}"
    );
}

async fn reporters_hear_once_and_reports_resolve_with_it(
    app: &TestApp,
    number: &str,
    reports: [&str; 2],
) {
    // Each reporter of an attached ticket heard once.
    for reporter in ["ana@example.com", "bo@example.com"] {
        assert_eq!(
            app.count(&format!(
                "outbox WHERE recipient = '{reporter}' AND template = 'incident_update'"
            )),
            1,
            "{reporter}"
        );
    }
    // Its reports resolved with it, each saying so, without a "resolved" email each.
    for report in reports {
        assert_eq!(ticket(app, report).await["status"], "resolved", "{report}");
        let timeline = events(app, report).await;
        let note = format!("resolved with incident {number}");
        assert!(
            timeline
                .iter()
                .any(|e| e["detail"].as_str().unwrap().contains(&note)),
            "{timeline:?}"
        );
    }
    assert_eq!(app.count("outbox WHERE template = 'resolved'"), 0);
}

async fn failure_rate_over_the_last_runs(backend: Backend) {
    let app = spawn(backend).await;
    // 2 of 10 failing is 20%: not above the 20% threshold.
    for i in 0..10 {
        let status = if i >= 8 { "failed" } else { "succeeded" };
        app.post_run(run(
            &app,
            &format!("bq-{i}"),
            "bigquery",
            "proj.core.users",
            status,
            100 - i,
        ))
        .await;
    }
    assert!(incidents(&app).await.is_empty());
    // A third failure: 3 of 11.
    app.post_run(run(
        &app,
        "bq-10",
        "bigquery",
        "proj.web.events",
        "failed",
        50,
    ))
    .await;
    let open = incidents(&app).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["signal"], "failure_rate");
    assert_eq!(open[0]["signal_key"], "failure-rate:bigquery");
    assert!(
        open[0]["measurement"]
            .as_str()
            .unwrap()
            .starts_with("3 of the last 11 finished bigquery runs failed or timed out (27%"),
        "{}",
        open[0]["measurement"]
    );
    assert_eq!(open[0]["linked_runs"].as_array().unwrap().len(), 3);
    // Other warehouse types are not affected.
    app.post_run(run(&app, "pg-1", "postgres", "public.orders", "failed", 5))
        .await;
    assert_eq!(incidents(&app).await.len(), 1);
    // Recovery: twenty good runs push the failures out of the last 20.
    for i in 0..20 {
        app.post_run(run(
            &app,
            &format!("bq-ok-{i}"),
            "bigquery",
            "proj.core.users",
            "succeeded",
            30 - i,
        ))
        .await;
    }
    assert_eq!(
        incidents(&app).await.len(),
        1,
        "open until the cool-down passes"
    );
    app.clock.advance(TimeDelta::minutes(31));
    let evaluation = evaluate(&app).await;
    assert_eq!(evaluation.resolved.len(), 1, "{:?}", evaluation.lines);
    assert!(incidents(&app).await.is_empty());
}

async fn a_burst_of_reports_is_an_incident(backend: Backend) {
    let app = spawn(backend).await;
    let mut numbers = Vec::new();
    for (i, table) in [
        "main.ops.shipments",
        "main.ops.orders",
        "main.ml.features",
        "main.ops.returns",
        "main.ops.stock",
    ]
    .iter()
    .enumerate()
    {
        let t = app
            .file_report(json!({
                "reporter_email": format!("analyst{i}@example.com"), "kind": "stale_profile",
                "warehouse_type": "databricks", "table": table,
                "description": "The profile is stale: it was last refreshed days ago and the row counts are old."
            }))
            .await;
        assert_eq!(t["category"], "stale_profile");
        numbers.push(t["number"].as_str().unwrap().to_string());
        if i < 4 {
            assert!(incidents(&app).await.is_empty(), "not yet at {}", i + 1);
        }
    }
    let open = incidents(&app).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["signal"], "report_burst");
    assert_eq!(
        open[0]["signal_key"],
        "report-burst:databricks:stale_profile"
    );
    numbers.sort();
    assert_eq!(sorted_numbers(&open[0]["linked_tickets"]), numbers);
    let parent = ticket(&app, open[0]["number"].as_str().unwrap()).await;
    assert_eq!(parent["category"], "stale_profile");
}

async fn known_issue_banner_and_one_click_join(backend: Backend) {
    let app = spawn(backend).await;
    let page = app.get("/report").await.text().await.unwrap();
    assert!(
        !page.contains("id=\"known-issues\""),
        "no incident, no banner"
    );
    app.post_run(run(
        &app,
        "rs-timeout",
        "redshift",
        "dw.finance.invoices",
        "timed_out",
        3,
    ))
    .await;
    let open = incidents(&app).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let number = open[0]["number"].as_str().unwrap().to_string();
    let page = app.get("/report").await.text().await.unwrap();
    assert!(page.contains(&format!("id=\"known-{number}\"")), "{page}");
    assert!(
        page.contains("Redshift profiling timing out on critical tables"),
        "{page}"
    );
    assert!(page.contains("0 reports"), "{page}");

    // A bad address: the form again, with the message, and nothing stored.
    let tickets_before = app.count("tickets");
    let response = app
        .post_form(
            &format!("/known-issues/{number}/join"),
            &[("reporter_email", "not an address")],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("not an address"));
    assert_eq!(app.count("tickets"), tickets_before);

    // One click: the analyst's own ticket, attached to the incident.
    let response = app
        .post_form(
            &format!("/known-issues/{number}/join"),
            &[
                ("reporter_email", "dee@example.com"),
                ("reporter_name", "Dee"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/t/"), "{location}");
    let tracking = app.get(&location).await.text().await.unwrap();
    assert!(
        tracking.contains("Your report is part of this issue"),
        "{tracking}"
    );
    let open = incidents(&app).await;
    assert_eq!(open[0]["linked_tickets"].as_array().unwrap().len(), 1);
    let page = app.get("/report").await.text().await.unwrap();
    assert!(page.contains("1 report "), "{page}");
    assert_eq!(
        app.count("outbox WHERE recipient = 'dee@example.com' AND template = 'confirmation'"),
        1
    );

    // Recovery: the banner goes.
    app.clock.advance(TimeDelta::minutes(61));
    evaluate(&app).await;
    app.clock.advance(TimeDelta::minutes(31));
    evaluate(&app).await;
    assert!(incidents(&app).await.is_empty());
    let page = app.get("/report").await.text().await.unwrap();
    assert!(!page.contains("id=\"known-issues\""), "{page}");
    // Joining a resolved issue is refused with a message.
    let response = app
        .post_form(
            &format!("/known-issues/{number}/join"),
            &[("reporter_email", "eve@example.com")],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("not an open known issue")
    );
}

on_both_backends!(
    known_issue_banner_and_one_click_join,
    burst_of_timeouts_opens_one_incident_that_recovery_resolves,
    failure_rate_over_the_last_runs,
    a_burst_of_reports_is_an_incident,
);
