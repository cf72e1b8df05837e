//! POST /api/v1/reports and GET /api/v1/tickets/{number}: shape, statuses, bad input.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    api_report_returns_the_ticket,
    ticket_lookup_has_the_same_shape,
    idempotency_key_returns_the_first_ticket,
    every_error_is_a_problem_document,
    bad_fields_are_named_and_nothing_is_stored,
    health_and_openapi,
);

fn report() -> Value {
    json!({
        "reporter_name": "Ana Lyst",
        "reporter_email": "ana@example.com",
        "kind": "unsure",
        "warehouse_type": "snowflake",
        "table": "ANALYTICS.EVENTS.IMPRESSIONS",
        "impact": "blocked",
        "description": "Run failed: SQL execution canceled: statement reached its statement or warehouse timeout of 3600 second(s)"
    })
}

async fn api_report_returns_the_ticket(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.post_json("/api/v1/reports", &report()).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["location"], "/api/v1/tickets/INS-1001");
    let ticket: Value = response.json().await.unwrap();
    assert_eq!(ticket["number"], "INS-1001");
    assert_eq!(ticket["status"], "new");
    assert_eq!(ticket["category"], "profiling_failure");
    assert_eq!(ticket["team"], "warehouse-connectors");
    assert_eq!(ticket["routing_rule"], "cloud-warehouse-profiling-failures");
    // blocked (sev2) on a critical ANALYTICS.EVENTS.* table (raised one level).
    assert_eq!(ticket["severity"], "sev1");
    let confidence = ticket["confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&confidence));
    assert!(!ticket["reasons"].as_array().unwrap().is_empty());
    assert_eq!(ticket["linked_runs"], json!([]));
    let tracking = ticket["tracking_url"].as_str().unwrap();
    assert!(
        tracking.starts_with(&app.address) && tracking.contains("/t/"),
        "{tracking}"
    );
    // sev1: 30 minutes to first response, 4 hours to resolution.
    let parse = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    let first = parse(&ticket["first_response_due"]);
    let resolution = parse(&ticket["resolution_due"]);
    assert_eq!((resolution - first).num_minutes(), 210);
    let tracking_page = app.client.get(tracking).send().await.unwrap();
    assert_eq!(tracking_page.status(), 200);
}

async fn ticket_lookup_has_the_same_shape(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let created = app.file_report(report()).await;
    let fetched: Value = app.api_json("/api/v1/tickets/INS-1001").await;
    assert_eq!(created, fetched);
    for field in [
        "number",
        "tracking_url",
        "status",
        "category",
        "confidence",
        "reasons",
        "severity",
        "team",
        "routing_rule",
        "linked_runs",
        "first_response_due",
        "resolution_due",
    ] {
        assert!(fetched.get(field).is_some(), "missing {field}");
    }
    let missing = app.api_get("/api/v1/tickets/INS-999999").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(app.api_get("/api/v1/tickets/garbage").await.status(), 404);
}

async fn idempotency_key_returns_the_first_ticket(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let send = || {
        app.client
            .post(app.url("/api/v1/reports"))
            .header("Idempotency-Key", "retry-1")
            .json(&report())
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let second = send().await.unwrap();
    assert_eq!(second.status(), 200);
    let (a, b): (Value, Value) = (first.json().await.unwrap(), second.json().await.unwrap());
    assert_eq!(a["number"], b["number"]);
    assert_eq!(app.count("tickets"), 1);
}

async fn every_error_is_a_problem_document(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let problem = |status: u16| {
        move |r: reqwest::Response| async move {
            assert_eq!(r.status(), status);
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["status"], status);
            assert!(
                body["title"].is_string() && body["detail"].is_string() && body["type"].is_string()
            );
            body
        }
    };
    let post = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(app.url("/api/v1/reports"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    // 400: malformed JSON, and invalid UTF-8 inside a string.
    let body = problem(400)(
        post(b"{\"kind\": ".to_vec(), "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("request body"));
    let mut bytes =
        br#"{"reporter_email":"a@example.com","kind":"other","description":"caf"#.to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"\"}");
    problem(400)(post(bytes, "application/json").await.unwrap()).await;
    // 413: larger than the body limit.
    let huge = serde_json::to_vec(&json!({"description": "x".repeat(100 * 1024)})).unwrap();
    problem(413)(post(huge, "application/json").await.unwrap()).await;
    // 415: not JSON.
    problem(415)(
        post(b"kind=other".to_vec(), "application/x-www-form-urlencoded")
            .await
            .unwrap(),
    )
    .await;
    // 422: JSON of the wrong shape, and missing required fields.
    problem(422)(
        post(b"{\"kind\": 5}".to_vec(), "application/json")
            .await
            .unwrap(),
    )
    .await;
    let body = problem(422)(post(b"{}".to_vec(), "application/json").await.unwrap()).await;
    for field in ["reporter_email", "kind", "description"] {
        assert!(body["errors"][field].is_string(), "{field} named: {body}");
    }
    // 404 for unknown API paths too.
    problem(404)(app.get("/api/v1/nothing-here").await).await;
    assert_eq!(app.count("tickets"), 0);
}

async fn bad_fields_are_named_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cases = [
        ("reporter_email", json!("ana@@example")),
        ("warehouse_type", json!("oracle")),
        ("table", json!("ANALYTICS..IMPRESSIONS")),
        ("table", json!("\"ANALYTICS.EVENTS")),
        ("table", json!("a.b.c.d")),
        ("description", json!("z".repeat(20 * 1024))),
        ("kind", json!("bug")),
        ("impact", json!("catastrophic")),
        ("run_id", json!("run id; drop table")),
    ];
    for (field, value) in cases {
        let mut body = report();
        body[field] = value;
        let response = app.post_json("/api/v1/reports", &body).await;
        assert_eq!(response.status(), 422, "{field}");
        let problem: Value = response.json().await.unwrap();
        let message = problem["errors"][field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} not named: {problem}"));
        assert!(!message.is_empty());
    }
    assert_eq!(app.count("tickets"), 0);
    assert_eq!(app.count("ticket_events"), 0);
    assert_eq!(app.count("outbox"), 0);
}

async fn health_and_openapi(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["migrations"], "current");
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/reports",
        "/api/v1/tickets/{number}",
        "/api/v1/runs",
        "/api/v1/runs/{run_id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    let response = app.get("/report").await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}
