//! One set of field rules on every entry point: names, single-line fields and free text
//! refuse what the report form refuses (line breaks where one line is meant, NUL and other
//! control characters anywhere) with a 422 naming the field, on both databases and before
//! either sees the text; addresses are those the mailer can send to; a bad assignee is
//! named.

use inspect_desk::domain::role::{Role, Scope};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    joining_a_known_issue_refuses_names_the_form_refuses,
    nul_is_refused_in_every_text_field_with_the_field_named,
    replies_that_are_not_utf8_are_refused,
    addresses_the_mailer_cannot_use_are_refused,
    a_bad_assignee_is_named_and_nothing_changes,
);

fn report() -> Value {
    json!({"reporter_email": "ana@example.com", "kind": "other", "description": "Report R-1 failed"})
}

/// A 422 problem naming `field`; its message.
async fn named(response: reqwest::Response, field: &str) -> String {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 422, "{field}: {body}");
    body["errors"][field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} not named: {body}"))
        .to_string()
}

async fn joining_a_known_issue_refuses_names_the_form_refuses(backend: Backend) {
    let app = crate::incidents::spawn(backend).await;
    app.post_run(crate::incidents::run(
        &app,
        "rs-timeout",
        "redshift",
        "dw.finance.invoices",
        "timed_out",
        3,
    ))
    .await;
    let open = crate::incidents::incidents(&app).await;
    let number = open[0]["number"].as_str().unwrap().to_string();
    let before = app.count("tickets");
    for name in ["Dee\r\nBcc: everyone@example.com", "Dee\u{0}", "Dee\u{7}"] {
        let response = app
            .post_form(
                &format!("/known-issues/{number}/join"),
                &[
                    ("reporter_email", "dee@example.com"),
                    ("reporter_name", name),
                ],
            )
            .await;
        assert_eq!(response.status(), 422, "{name:?}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("id=\"reporter_name-error\""),
            "message beside the name for {name:?}"
        );
        assert!(html.contains("value=\"dee@example.com\""), "email kept");
    }
    assert_eq!(app.count("tickets"), before, "nothing stored");
    // The report form refuses the same names with the same message.
    let mut body = report();
    body["reporter_name"] = json!("Dee\r\nBcc: everyone@example.com");
    named(
        app.post_json("/api/v1/reports", &body).await,
        "reporter_name",
    )
    .await;
}

async fn nul_is_refused_in_every_text_field_with_the_field_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ticket = app.file_report(report()).await;
    let number = ticket["number"].as_str().unwrap().to_string();
    let token = app.token(&[Scope::Ingest, Scope::Read, Scope::Write]);
    let api = |method: reqwest::Method, path: &str, body: Value| {
        app.client
            .request(method, app.url(path))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let events_before = app.count("ticket_events");
    let comment = api(
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{number}/comments"),
        json!({"body": "a\u{0}b", "public": true}),
    )
    .await
    .unwrap();
    assert!(named(comment, "body").await.contains("NUL"));
    let reason = api(
        reqwest::Method::PATCH,
        &format!("/api/v1/tickets/{number}"),
        json!({"category": "other", "reason": "why\u{0}", "version": ticket["version"]}),
    )
    .await
    .unwrap();
    assert!(named(reason, "reason").await.contains("NUL"));
    let run = json!({"run_id": "r-1", "warehouse_type": "duckdb", "table": "local.main.t",
        "status": "failed", "started_at": "2026-11-20T10:00:00Z"});
    let mut with_error = run.clone();
    with_error["error"] = json!("bad\u{0}thing");
    let error = api(reqwest::Method::POST, "/api/v1/runs", with_error)
        .await
        .unwrap();
    assert!(named(error, "error").await.contains("NUL"));
    let mut with_column = run.clone();
    with_column["columns"] = json!([{"name": "a\u{0}b"}]);
    let column = api(reqwest::Method::POST, "/api/v1/runs", with_column)
        .await
        .unwrap();
    named(column, "columns").await;
    let mut lineage = crate::lineage_api::event(
        "FAIL",
        "0176a8c2-fe01-7439-87e6-56a1a1b40301",
        "2026-11-20T10:00:00Z",
        "duckdb:///data/shop.duckdb",
        "shop.main.orders",
    );
    lineage["run"]["facets"]["errorMessage"] = json!({"message": "bad\u{0}thing"});
    let lineage = api(reqwest::Method::POST, "/api/v1/lineage", lineage)
        .await
        .unwrap();
    named(lineage, "run.facets").await;
    // Pages: an agent's comment, the reporter's reply, a token's name.
    let (agent, _) = app.signed_in(Role::Agent).await;
    let page = app
        .post_form_as(
            &agent,
            &format!("/tickets/{number}/comment"),
            &[("body", "a\u{0}b"), ("visibility", "public")],
        )
        .await;
    assert_eq!(page.status(), 422);
    assert!(page.text().await.unwrap().contains("NUL"));
    let tracking = ticket["tracking_url"].as_str().unwrap();
    let reply = app
        .post_form(
            &format!("{}/reply", path_of(tracking)),
            &[("body", "a\u{0}b")],
        )
        .await;
    assert_eq!(reply.status(), 422);
    let html = reply.text().await.unwrap();
    assert!(
        html.contains("id=\"reply-body-error\"") && html.contains("NUL"),
        "{html}"
    );
    let (admin, _) = app.signed_in(Role::Admin).await;
    let tokens_before = app.count("api_tokens");
    let named_token = app
        .post_form_as(
            &admin,
            "/admin/tokens",
            &[("name", "profiler\u{0}"), ("scope", "read")],
        )
        .await;
    assert_eq!(named_token.status(), 422);
    assert_eq!(app.count("api_tokens"), tokens_before);
    assert_eq!(app.count("ticket_events"), events_before, "nothing stored");
    assert_eq!(app.count("runs"), 0);
}

/// `/t/{token}` of a tracking URL.
fn path_of(url: &str) -> &str {
    &url[url.find("/t/").unwrap()..]
}

async fn replies_that_are_not_utf8_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ticket = app.file_report(report()).await;
    let path = format!(
        "{}/reply",
        path_of(ticket["tracking_url"].as_str().unwrap())
    );
    let csrf = app.csrf_token(&app.client).await;
    let mut body = format!("csrf_token={csrf}&").into_bytes();
    body.extend_from_slice(b"body=caf%FF%FE");
    let response = app
        .client
        .post(app.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("not valid UTF-8"));
    assert_eq!(app.count("ticket_events WHERE kind = 'reporter_reply'"), 0);
}

async fn addresses_the_mailer_cannot_use_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for address in [
        "\"<script>alert(1)</script>\"@example.com",
        "ann@[127.0.0.1]",
        "\"ann lyst\"@example.com",
    ] {
        let mut body = report();
        body["reporter_email"] = json!(address);
        named(
            app.post_json("/api/v1/reports", &body).await,
            "reporter_email",
        )
        .await;
        let form = app
            .post_form(
                "/report",
                &[
                    ("reporter_email", address),
                    ("kind", "other"),
                    ("description", "Report R-1 failed"),
                ],
            )
            .await;
        assert_eq!(form.status(), 422, "{address}");
        assert!(
            form.text()
                .await
                .unwrap()
                .contains("id=\"reporter_email-error\""),
            "{address}"
        );
    }
    assert_eq!(app.count("tickets"), 0);
    assert_eq!(app.count("outbox"), 0);
}

async fn a_bad_assignee_is_named_and_nothing_changes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ticket = app.file_report(report()).await;
    let number = ticket["number"].as_str().unwrap();
    let token = app.token(&[Scope::Read, Scope::Write]);
    for assignee in [json!(1.5), json!(12345678901234567890_u64), json!(-1e30)] {
        let response = app
            .client
            .patch(app.url(&format!("/api/v1/tickets/{number}")))
            .bearer_auth(&token)
            .json(&json!({"assignee": assignee, "version": ticket["version"]}))
            .send()
            .await
            .unwrap();
        named(response, "assignee").await;
    }
    let after: Value = app.api_json(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(after["version"], ticket["version"], "nothing changed");
}
