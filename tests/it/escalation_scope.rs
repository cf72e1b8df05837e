//! Owners act on their own teams' escalations; admins on all. An owner acknowledging
//! another team's ticket is refused (403) and nothing changes.

use inspect_desk::db::models::ticket::Ticket;
use inspect_desk::domain::role::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(owners_acknowledge_only_their_teams_escalations);

const PASSWORD: &str = "a-long-test-password";

fn acknowledged(app: &TestApp, ticket: &Value) -> bool {
    let number = ticket["number"].as_str().unwrap();
    let id = number.trim_start_matches("INS-").parse().unwrap();
    let mut conn = app.desk.pool.get().unwrap();
    Ticket::find(&mut conn, id)
        .unwrap()
        .acknowledged_at
        .is_some()
}

async fn owners_acknowledge_only_their_teams_escalations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // The lead of Semantic Types in the shipped support model.
    app.create_user("ravi.menon@inspect.example", Role::Owner, PASSWORD);
    app.create_user("root@example.com", Role::Admin, PASSWORD);
    let connectors = app
        .file_report(json!({
            "reporter_email": "ana@example.com", "kind": "profiling_failure",
            "warehouse_type": "snowflake", "table": "ANALYTICS.SALES.ORDERS",
            "description": "Profiling ORDERS fails with a warehouse timeout every night."
        }))
        .await;
    let types = app
        .file_report(json!({
            "reporter_email": "ben@example.com", "kind": "wrong_column_type",
            "warehouse_type": "snowflake", "table": "ANALYTICS.SALES.ORDERS",
            "column": "POSTAL_CODE", "detected_type": "integer", "expected_type": "postal_code",
            "description": "POSTAL_CODE is typed as an integer; leading zeros are lost."
        }))
        .await;
    assert_eq!(connectors["team"], "warehouse-connectors");
    assert_eq!(types["team"], "semantic-types");
    let owner = app.new_client();
    app.sign_in(&owner, "ravi.menon@inspect.example", PASSWORD)
        .await;
    let ack = |client: &reqwest::Client, ticket: &Value| {
        let path = format!("/escalations/{}/ack", ticket["number"].as_str().unwrap());
        let client = client.clone();
        let app = &app;
        async move { app.post_form_as(&client, &path, &[]).await.status() }
    };
    assert_eq!(ack(&owner, &connectors).await, 403, "another team's ticket");
    assert!(!acknowledged(&app, &connectors), "nothing changes");
    assert_eq!(ack(&owner, &types).await, 303, "their own team's ticket");
    assert!(acknowledged(&app, &types));
    let admin = app.new_client();
    app.sign_in(&admin, "root@example.com", PASSWORD).await;
    assert_eq!(
        ack(&admin, &connectors).await,
        303,
        "an admin acts on any team"
    );
    assert!(acknowledged(&app, &connectors));
}
