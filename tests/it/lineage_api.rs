//! POST /api/v1/lineage with hand-written OpenLineage events: mapping, out-of-order and
//! repeated events, malformed events.

use inspect_desk::domain::role::Scope;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    row_count_from_the_data_quality_facet,
    out_of_order_and_repeated_events_converge,
    failures_timeouts_aborts_and_semantic_types,
    malformed_events_name_the_field
);

/// A RunEvent as the OpenLineage Python client serialises it.
pub(crate) fn event(kind: &str, run_id: &str, time: &str, namespace: &str, name: &str) -> Value {
    json!({
        "eventType": kind,
        "eventTime": time,
        "producer": "https://github.com/inspect/profiler",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": {}},
        "job": {"namespace": "inspect", "name": "profile", "facets": {}},
        "inputs": [{
            "namespace": namespace,
            "name": name,
            "facets": {
                "schema": {
                    "_producer": "https://github.com/inspect/profiler",
                    "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
                    "fields": [{"name": "id", "type": "INTEGER"}, {"name": "email", "type": "VARCHAR"}]
                },
                "vendor_unknownFacet": {"whatever": {"deeply": ["nested"]}}
            },
            "inputFacets": {}
        }],
        "outputs": []
    })
}

async fn row_count_from_the_data_quality_facet(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = "0176a8c2-fe01-7439-87e6-56a1a1b40300";
    let (ns, table) = ("duckdb:///data/shop.duckdb", "shop.main.orders");
    let start = event("START", id, "2026-11-20T10:00:00Z", ns, table);
    let mut complete = event("COMPLETE", id, "2026-11-20T10:01:00Z", ns, table);
    complete["inputs"][0]["inputFacets"] = json!({
        "dataQualityMetrics": {
            "_producer": "https://github.com/inspect/profiler",
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-2/DataQualityMetricsInputDatasetFacet.json",
            "rowCount": 48213, "columnMetrics": {}
        }
    });
    assert_eq!(send(&app, &start).await.0, 201);
    assert_eq!(run(&app, id).await["row_count"], Value::Null);
    assert_eq!(send(&app, &complete).await.0, 200);
    let stored = run(&app, id).await;
    assert_eq!(stored["row_count"], 48213);
    assert_eq!(stored["status"], "succeeded");
}

async fn send(app: &TestApp, body: &Value) -> (u16, Value) {
    let response = app.ingest("/api/v1/lineage", body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn run(app: &TestApp, id: &str) -> Value {
    let response = app.api_get(&format!("/api/v1/runs/{id}")).await;
    assert_eq!(response.status(), 200, "run {id} stored");
    response.json().await.unwrap()
}

async fn out_of_order_and_repeated_events_converge(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = "0176a8c2-fe01-7439-87e6-56a1a1b4029f";
    let (ns, table) = ("postgres://db.internal:5432", "shop.public.orders");
    let start = event("START", id, "2026-11-20T10:00:00.000000+00:00", ns, table);
    let complete = event(
        "COMPLETE",
        id,
        "2026-11-20T10:02:30.500000+00:00",
        ns,
        table,
    );
    // COMPLETE first: the run exists at once, provisionally started when it ended.
    let (status, body) = send(&app, &complete).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "succeeded");
    let early = run(&app, id).await;
    assert_eq!(early["duration_ms"], 0);
    let (status, _) = send(&app, &start).await;
    assert_eq!(status, 200);
    let settled = run(&app, id).await;
    assert_eq!(settled["warehouse_type"], "postgres");
    assert_eq!(settled["table"], table);
    assert_eq!(settled["status"], "succeeded");
    assert_eq!(settled["started_at"], "2026-11-20T10:00:00Z");
    assert_eq!(settled["duration_ms"], 150_500);
    // Columns come back by name.
    assert_eq!(settled["columns"][0]["name"], "email");
    assert_eq!(settled["columns"][1]["name"], "id");
    // The same events again, and a late RUNNING: nothing changes.
    for again in [&start, &complete, &complete] {
        assert_eq!(send(&app, again).await.0, 200);
    }
    let running = event("RUNNING", id, "2026-11-20T10:01:00Z", ns, table);
    assert_eq!(send(&app, &running).await.0, 200);
    assert_eq!(run(&app, id).await, settled);
    // The reverse order on another run lands on the same record.
    let other = "7f0e1d2c-0000-4000-8000-000000000001";
    for e in [&start, &running, &complete] {
        let mut e = e.clone();
        e["run"]["runId"] = json!(other);
        send(&app, &e).await;
    }
    let mut same = run(&app, other).await;
    same["run_id"] = json!(id);
    assert_eq!(same, settled);
    assert_eq!(app.count("lineage_events"), 6);
}

async fn failures_timeouts_aborts_and_semantic_types(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cases = [
        (
            "FAIL",
            "snowflake://acme-prod",
            "ANALYTICS.SALES.ORDERS",
            Some("SQL access control error: Insufficient privileges"),
            "failed",
        ),
        (
            "FAIL",
            "bigquery",
            "proj.core.users",
            Some("Job timed out after 21600 seconds"),
            "timed_out",
        ),
        (
            "ABORT",
            "redshift://c1.eu-west-1:5439",
            "dev.public.events",
            None,
            "cancelled",
        ),
        (
            "COMPLETE",
            "databricks://adb-1.azuredatabricks.net",
            "main.sales.items",
            None,
            "succeeded",
        ),
    ];
    for (index, (kind, ns, table, error, expected)) in cases.into_iter().enumerate() {
        let id = format!("00000000-0000-4000-8000-00000000000{index}");
        send(
            &app,
            &event("START", &id, "2026-11-20T10:00:00Z", ns, table),
        )
        .await;
        let mut end = event(kind, &id, "2026-11-20T10:10:00Z", ns, table);
        if let Some(message) = error {
            end["run"]["facets"]["errorMessage"] = json!({
                "_producer": "https://github.com/inspect/profiler",
                "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
                "message": message, "programmingLanguage": "PYTHON"
            });
        }
        end["inputs"][0]["facets"]["inspect_semanticTypes"] = json!({
            "_producer": "https://github.com/inspect/profiler",
            "_schemaURL": "https://inspect-desk.dev/spec/facets/1-0-0/InspectSemanticTypesDatasetFacet.json",
            "columns": {"email": {"type": "email", "confidence": 0.97}, "id": {"type": "identifier"}}
        });
        let (status, body) = send(&app, &end).await;
        assert_eq!(status, 200, "{body}");
        let stored = run(&app, &id).await;
        assert_eq!(stored["status"], expected, "{kind} on {ns}");
        assert_eq!(stored["error"].as_str(), error);
        assert_eq!(stored["duration_ms"], 600_000);
        assert_eq!(stored["columns"][0]["semantic_type"], "email");
        assert_eq!(stored["columns"][0]["confidence"], 0.97);
        assert_eq!(stored["columns"][1]["semantic_type"], "identifier");
    }
    // An event naming no table yet is kept, and the run appears when one does.
    let id = "11111111-0000-4000-8000-000000000000";
    let mut bare = event(
        "COMPLETE",
        id,
        "2026-11-20T11:00:00Z",
        "duckdb:///x.db",
        "x.main.t",
    );
    bare["inputs"] = json!([]);
    let (status, body) = send(&app, &bare).await;
    assert_eq!((status, body["stored"].as_str()), (202, Some("pending")));
    assert_eq!(
        app.api_get(&format!("/api/v1/runs/{id}")).await.status(),
        404
    );
    let start = event(
        "START",
        id,
        "2026-11-20T10:59:00Z",
        "duckdb:///x.db",
        "x.main.t",
    );
    assert_eq!(send(&app, &start).await.0, 201);
    assert_eq!(run(&app, id).await["status"], "succeeded");
}

async fn malformed_events_name_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let good = event("START", "r-1", "2026-11-20T10:00:00Z", "bigquery", "p.d.t");
    let with = |pointer: &str, value: Value| {
        let mut e = good.clone();
        *e.pointer_mut(pointer).unwrap() = value;
        e
    };
    let cases = [
        (with("/eventType", json!("EXPLODED")), "eventType"),
        (with("/eventTime", json!("last tuesday")), "eventTime"),
        (with("/run", json!({"facets": {}})), "run.runId"),
        (
            with("/inputs/0/namespace", json!("mysql://db")),
            "inputs[0].namespace",
        ),
        (
            with("/inputs/0/name", json!("just_a_table")),
            "inputs[0].name",
        ),
        (
            with("/run/facets", json!({"errorMessage": {"message": 42}})),
            "errorMessage.message",
        ),
        (
            with(
                "/inputs/0/inputFacets",
                json!({"dataQualityMetrics": {"rowCount": -5}}),
            ),
            "inputs[0].inputFacets.dataQualityMetrics.rowCount",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = send(&app, &body).await;
        assert_eq!(status, 422, "{field}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{field}: {problem}"
        );
    }
    let token = app.token(&[Scope::Ingest]);
    let raw = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/api/v1/lineage"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let response = raw("{\"eventType\": \"START\",", "application/json")
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(raw("{}", "text/plain").await.unwrap().status(), 415);
    assert_eq!(app.count("lineage_events"), 0);
    let anonymous = app.post_json("/api/v1/lineage", &good).await;
    assert_eq!(anonymous.status(), 401);
}
