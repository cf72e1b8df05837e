//! `/telemetry`: per-warehouse rates and durations over 1h/24h/7d, stale tables and
//! semantic-type accuracy; old history does not leak into a window.

use inspect_desk::domain::role::{Role, Scope};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, minutes_ago};
use crate::on_both_backends;

on_both_backends!(telemetry_per_window);

fn run(id: &str, warehouse: &str, table: &str, status: &str, started: i64, minutes: i64) -> Value {
    json!({"run_id": id, "warehouse_type": warehouse, "table": table, "status": status,
           "started_at": minutes_ago(started), "finished_at": minutes_ago(started - minutes)})
}

/// The text of the table row with this id.
fn row<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id}"));
    let end = html[start..].find("</tr>").unwrap() + start;
    &html[start..end]
}

/// The text of the table with this id.
fn table<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id}"));
    let end = html[start..].find("</table>").unwrap() + start;
    &html[start..end]
}

async fn telemetry_per_window(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let orders = "ANALYTICS.SALES.ORDERS";
    let clicks = "RAW.EVENTS.CLICKS"; // freshness target 6h
    for body in [
        run("s-1", "snowflake", orders, "succeeded", 50, 1),
        run("s-2", "snowflake", orders, "succeeded", 40, 2),
        run("s-3", "snowflake", clicks, "failed", 30, 3),
        run("s-4", "snowflake", clicks, "timed_out", 20, 60),
        run("s-5", "snowflake", clicks, "succeeded", 8 * 60, 4),
        run(
            "b-1",
            "bigquery",
            "proj.core.users",
            "failed",
            2 * 24 * 60,
            5,
        ),
    ] {
        app.post_run(body).await;
    }
    post_a_month_of_old_failures(&app, orders).await;
    let agent = typed_columns_with_a_confirmed_wrong_type(&app).await;

    let (status, hour) = telemetry_page(&app, &agent, "1h").await;
    assert_eq!(status, 200);
    last_hour_shows_rates_staleness_and_accuracy(&hour);

    let (_, day) = telemetry_page(&app, &agent, "24h").await;
    assert!(
        row(&day, "telemetry-snowflake").contains(">6</td>"),
        "s-5 joins"
    );
    let (_, week) = telemetry_page(&app, &agent, "7d").await;
    let bigquery = row(&week, "telemetry-bigquery");
    assert!(
        bigquery.contains(">1</td>") && bigquery.contains("100.0%"),
        "{bigquery}"
    );
    assert!(week.contains("proj.core.users"), "never succeeded: stale");
    // The month-old failures stay out of every window.
    assert!(row(&week, "telemetry-snowflake").contains(">6</td>"));

    let (status, body) = telemetry_page(&app, &agent, "all").await;
    assert_eq!(status, 422);
    assert!(body.contains("1h, 24h or 7d"));
    assert_eq!(telemetry_page(&app, &agent, "fortnight").await.0, 422);
}

/// A month of old history, in one NDJSON batch: outside every window.
async fn post_a_month_of_old_failures(app: &TestApp, table: &str) {
    let old: Vec<String> = (0..300)
        .map(|i| {
            run(
                &format!("old-{i}"),
                "snowflake",
                table,
                "failed",
                30 * 24 * 60 + i,
                1,
            )
            .to_string()
        })
        .collect();
    let response = app
        .client
        .post(app.url("/api/v1/runs"))
        .bearer_auth(app.token(&[Scope::Ingest]))
        .header("content-type", "application/x-ndjson")
        .body(old.join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

/// Typed columns, and one wrong type an agent confirms. Returns the agent's signed-in
/// client.
async fn typed_columns_with_a_confirmed_wrong_type(app: &TestApp) -> reqwest::Client {
    let mut typed = run(
        "s-6",
        "snowflake",
        "CRM.PUBLIC.CONTACTS",
        "succeeded",
        10,
        1,
    );
    typed["columns"] = json!([
        {"name": "email", "semantic_type": "email", "confidence": 0.99},
        {"name": "contact", "semantic_type": "email", "confidence": 0.55},
        {"name": "zip", "semantic_type": "postal_code", "confidence": 0.9}
    ]);
    app.post_run(typed).await;
    let ticket = app
        .file_report(json!({
            "reporter_email": "ana@example.com", "kind": "wrong_column_type",
            "warehouse_type": "snowflake", "table": "CRM.PUBLIC.CONTACTS", "column": "contact",
            "detected_type": "email", "expected_type": "phone_number", "impact": "degraded",
            "description": "contact is detected as email but it holds phone numbers"
        }))
        .await;
    assert_eq!(ticket["category"], "wrong_column_type", "{ticket}");
    let number = ticket["number"].as_str().unwrap();
    let (agent, _) = app.signed_in(Role::Agent).await;
    let verdict = app
        .post_form_as(
            &agent,
            &format!("/tickets/{number}/verdict"),
            &[("verdict", "confirmed")],
        )
        .await;
    assert!(
        verdict.status().is_success() || verdict.status() == 303,
        "{}",
        verdict.status()
    );
    agent
}

/// `/telemetry` over `window` as the agent sees it: status and HTML.
async fn telemetry_page(app: &TestApp, agent: &reqwest::Client, window: &str) -> (u16, String) {
    let url = app.url(&format!("/telemetry?window={window}"));
    let response = agent.get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn last_hour_shows_rates_staleness_and_accuracy(hour: &str) {
    let snowflake = row(hour, "telemetry-snowflake");
    // s-1, s-2, s-3, s-4 and s-6 (typed): 5 runs, 1 failed, 1 timed out.
    assert!(snowflake.contains(">5</td>"), "{snowflake}");
    assert!(snowflake.contains("20.0%"), "{snowflake}");
    assert!(snowflake.contains("1\u{a0}h<"), "max duration: {snowflake}");
    assert!(snowflake.contains("<svg"), "chart drawn");
    assert!(row(hour, "telemetry-bigquery").contains(">0</td>"));
    assert!(
        hour.contains("RAW.EVENTS.CLICKS"),
        "stale: last success 8h ago, target 6h"
    );
    assert!(
        !hour.contains("<code>ANALYTICS.SALES.ORDERS</code>"),
        "orders are fresh"
    );
    let accuracy = table(hour, "type-accuracy");
    assert!(accuracy.contains("<td>email</td><td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">50.0%</td>"), "{accuracy}");
    assert!(accuracy.contains("<td>postal_code</td><td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num\">100.0%</td>"), "{accuracy}");
}
