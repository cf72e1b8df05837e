//! Table names as each warehouse writes them, through the form and the API: two-part
//! DuckDB names, quoted Snowflake names, stored in one canonical form that links a report
//! to the runs of its table however either spelled it.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, minutes_ago};
use crate::on_both_backends;

on_both_backends!(warehouse_names_are_accepted_and_link_in_canonical_form);

fn run(id: &str, warehouse: &str, table: &str) -> Value {
    json!({
        "run_id": id, "warehouse_type": warehouse, "table": table, "status": "failed",
        "started_at": minutes_ago(30), "finished_at": minutes_ago(25),
        "error": "statement timeout",
    })
}

/// The ticket of a tracking page, read back through the API.
async fn ticket_of(app: &TestApp, location: &str) -> Value {
    let token = location.rsplit('/').next().unwrap();
    let tickets: Value = app.api_json("/api/v1/tickets?limit=50").await;
    tickets["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tracking_url"].as_str().unwrap().ends_with(token))
        .cloned()
        .expect("the form's ticket is listed")
}

async fn warehouse_names_are_accepted_and_link_in_canonical_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post_run(run("duck-1", "duckdb", "Main.Sales")).await;
    app.post_run(run("sf-1", "snowflake", r#""Prod"."My Schema"."Orders""#))
        .await;
    app.post_run(run("sf-2", "snowflake", "analytics.sales.orders"))
        .await;

    // The form: DuckDB's two-part name, in another case than the run's.
    let response = app
        .post_form(
            "/report",
            &[
                ("reporter_email", "ana@example.com"),
                ("kind", "profiling_failure"),
                ("warehouse_type", "duckdb"),
                ("table", "main.SALES"),
                ("description", "Profiling main.sales fails every night"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let duck = ticket_of(&app, &location).await;
    assert_eq!(duck["table"], "main.sales");
    assert_eq!(duck["linked_runs"], json!(["duck-1"]));

    // The API: Snowflake's quoted parts kept exactly, doubled quotes and all.
    let quoted = app
        .file_report(json!({
            "reporter_email": "ben@example.com", "kind": "profiling_failure",
            "warehouse_type": "snowflake", "table": r#""Prod"."My Schema"."Orders""#,
            "description": "Profiling the Orders table fails",
        }))
        .await;
    assert_eq!(quoted["table"], r#""Prod"."My Schema"."Orders""#);
    assert_eq!(quoted["linked_runs"], json!(["sf-1"]));
    // Quoting what Snowflake folds anyway names the same table as the run's lower case.
    let folded = app
        .file_report(json!({
            "reporter_email": "ben@example.com", "kind": "profiling_failure",
            "warehouse_type": "snowflake", "table": r#""ANALYTICS".sales."ORDERS""#,
            "description": "Profiling ORDERS fails",
        }))
        .await;
    assert_eq!(folded["table"], "ANALYTICS.SALES.ORDERS");
    assert_eq!(folded["linked_runs"], json!(["sf-2"]));

    // A name the warehouse cannot have is still refused, beside the field.
    let refused = app
        .post_json(
            "/api/v1/reports",
            &json!({
                "reporter_email": "ben@example.com", "kind": "profiling_failure",
                "warehouse_type": "bigquery", "table": "sessions",
                "description": "Profiling sessions fails",
            }),
        )
        .await;
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    assert!(
        problem["errors"]["table"]
            .as_str()
            .unwrap()
            .contains("dataset.table"),
        "{problem}"
    );
}
