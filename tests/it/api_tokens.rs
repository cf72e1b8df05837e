//! Bearer tokens and scopes on the JSON API; the anonymous report rate limit; admin pages.

use inspect_desk::domain::role::{Role, Scope};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, hidden_field};
use crate::on_both_backends;

on_both_backends!(
    tokens_need_the_right_scope,
    anonymous_reports_are_rate_limited,
    behind_a_trusted_proxy_each_client_is_limited_alone,
    admin_pages_manage_tokens_and_links
);

async fn tokens_need_the_right_scope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let run = json!({"run_id": "t-1", "warehouse_type": "duckdb", "table": "a.b.c", "status": "running", "started_at": "2026-11-20T10:00:00Z"});
    let none = app
        .client
        .post(app.url("/api/v1/runs"))
        .json(&run)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    let read = app.token(&[Scope::Read]);
    let wrong = app
        .client
        .post(app.url("/api/v1/runs"))
        .bearer_auth(&read)
        .json(&run)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let problem: Value = wrong.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("scope"));
    let ingest = app.token(&[Scope::Ingest, Scope::Read]);
    let ok = app
        .client
        .post(app.url("/api/v1/runs"))
        .bearer_auth(&ingest)
        .json(&run)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    let garbage = app
        .client
        .get(app.url("/api/v1/runs/t-1"))
        .bearer_auth("desk_nope_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 401);
    // A session cookie does not open the API.
    let (admin, _) = app.signed_in(Role::Admin).await;
    assert_eq!(
        admin
            .get(app.url("/api/v1/runs/t-1"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.client
            .get(app.url("/api/v1/runs/t-1"))
            .bearer_auth(&ingest)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn anonymous_reports_are_rate_limited(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.report_rate_per_minute = 3).await;
    let body = json!({"reporter_email": "a@example.com", "kind": "other", "description": "flood"});
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            app.post_json("/api/v1/reports", &body)
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429]);
    let limited = app.post_json("/api/v1/reports", &body).await;
    assert_eq!(limited.headers()["retry-after"], "60");
    assert_eq!(app.count("tickets"), 3);
}

/// Behind a load balancer (`DESK_TRUSTED_PROXIES`) the limit is per client, as the proxy
/// forwards it; from anywhere else `X-Forwarded-For` is the client's own claim, ignored.
async fn behind_a_trusted_proxy_each_client_is_limited_alone(backend: Backend) {
    let body = json!({"reporter_email": "a@example.com", "kind": "other", "description": "flood"});
    let post = |app: &TestApp, forwarded: &'static str| {
        let request = app
            .client
            .post(app.url("/api/v1/reports"))
            .header("X-Forwarded-For", forwarded)
            .json(&body);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let proxied = TestApp::spawn_with(backend.clone(), |s| {
        s.report_rate_per_minute = 2;
        s.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let mut statuses = Vec::new();
    for forwarded in [
        "203.0.113.1",
        "203.0.113.2",
        "203.0.113.1",
        "203.0.113.2",
        "203.0.113.1",
        // The left-most entry is the client's to write: still 203.0.113.2.
        "198.51.100.7, 203.0.113.2",
        "203.0.113.3",
    ] {
        statuses.push(post(&proxied, forwarded).await);
    }
    assert_eq!(statuses, [201, 201, 201, 201, 429, 429, 201]);
    // The audit log names the client too (a token's first use is logged).
    let token = proxied.token(&[Scope::Read]);
    let response = proxied
        .client
        .get(proxied.url("/api/v1/tickets"))
        .bearer_auth(token)
        .header("X-Forwarded-For", "203.0.113.5")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(proxied.count("audit_log WHERE ip = '203.0.113.5'"), 1);

    let direct = TestApp::spawn_with(backend, |s| s.report_rate_per_minute = 2).await;
    let mut statuses = Vec::new();
    for forwarded in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        statuses.push(post(&direct, forwarded).await);
    }
    assert_eq!(statuses, [201, 201, 429], "one address, whatever it claims");
}

async fn admin_pages_manage_tokens_and_links(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ticket = app
        .file_report(
            json!({"reporter_email": "a@example.com", "kind": "other", "description": "link"}),
        )
        .await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    for page in [
        "/admin",
        "/admin/users",
        "/admin/tokens",
        "/admin/support-model",
        "/admin/outbox",
        "/admin/audit",
    ] {
        let response = admin.get(app.url(page)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{page}");
    }
    let model = app.page_as(&admin, "/admin/support-model").await;
    assert!(
        model.contains("warehouse-connectors")
            && model.contains("snowflake-raw-zone")
            && model.contains("Valid")
    );
    let outbox = app.page_as(&admin, "/admin/outbox").await;
    assert!(
        outbox.contains("data-template=\"confirmation\"") && outbox.contains("Waiting to send: 2"),
        "{outbox}"
    );
    // Create a token on the page; it is shown once and works.
    let csrf = app.csrf_token(&admin).await;
    let created = admin
        .post(app.url("/admin/tokens"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "profiler"),
            ("scope", "ingest"),
            ("scope", "read"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = created.find("desk_").expect("token shown");
    let token: String = created[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert_eq!(
        app.client
            .get(app.url("/api/v1/runs/none"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let listed = app.page_as(&admin, "/admin/tokens").await;
    assert!(!listed.contains(&token), "the secret is never shown again");
    // Revoke the tracking link: the old one is gone, the new one works.
    let old = ticket["tracking_url"].as_str().unwrap().to_string();
    let page = app
        .post_form_as(
            &admin,
            "/admin/tracking-links/revoke",
            &[("number", ticket["number"].as_str().unwrap())],
        )
        .await;
    let html = page.text().await.unwrap();
    let start = html
        .find(&format!("{}/t/", app.address))
        .expect("new link shown");
    let new: String = html[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '<')
        .collect();
    assert_ne!(old, new);
    assert_eq!(app.client.get(&old).send().await.unwrap().status(), 404);
    assert_eq!(app.client.get(&new).send().await.unwrap().status(), 200);
    let audit = app.page_as(&admin, "/admin/audit").await;
    for action in [
        "sign_in",
        "token_created",
        "tracking_link_revoked",
        "token_used",
    ] {
        assert!(audit.contains(action), "{action} audited");
    }
    let _ = hidden_field;
}
