//! A submission key (the API's `Idempotency-Key`, the form's hidden key) is bound to who
//! sent it and what they sent: only the same requester with the same report gets the first
//! ticket back; anyone else, or another report, is refused and learns nothing about it.

use inspect_desk::domain::role::Scope;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, hidden_field};
use crate::on_both_backends;

on_both_backends!(
    an_api_key_returns_its_ticket_only_to_its_requester_and_body,
    a_form_key_returns_its_ticket_only_to_its_requester_and_body,
);

/// Behind a trusted proxy, so each request can say which client it comes from.
async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| s.trusted_proxies = vec!["127.0.0.0/8".into()]).await
}

fn report(description: &str) -> Value {
    json!({"reporter_email": "ana@example.com", "kind": "other", "description": description})
}

/// Stored rows that a refused request must leave alone.
fn stored(app: &TestApp) -> [i64; 3] {
    [
        app.count("tickets"),
        app.count("ticket_events"),
        app.count("outbox"),
    ]
}

async fn an_api_key_returns_its_ticket_only_to_its_requester_and_body(backend: Backend) {
    let app = spawn(backend).await;
    let send = |client: &'static str, bearer: Option<String>, key: &str, body: Value| {
        let mut request = app
            .client
            .post(app.url("/api/v1/reports"))
            .header("X-Forwarded-For", client)
            .header("Idempotency-Key", key)
            .json(&body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let (first_body, other_body) = (report("Report R-1 failed"), report("Mine is broken too"));
    let first = send("203.0.113.1", None, "k-1", first_body.clone())
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let tracking = first["tracking_url"].as_str().unwrap().to_string();
    let token_part = tracking.rsplit('/').next().unwrap().to_string();
    let before = stored(&app);
    // Another body from the same client, the same body from another client, another body
    // from another client: refused, and nothing of the first ticket is shown.
    for (client, body) in [
        ("203.0.113.1", &other_body),
        ("203.0.113.2", &first_body),
        ("203.0.113.2", &other_body),
    ] {
        let response = send(client, None, "k-1", body.clone()).await.unwrap();
        assert_eq!(response.status(), 422, "{client} {body}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert!(response.headers().get("location").is_none());
        let text = response.text().await.unwrap();
        let problem: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            problem["type"],
            "https://inspect-desk.dev/problems/idempotency-key-reused"
        );
        for secret in [first["number"].as_str().unwrap(), &token_part, "assignee"] {
            assert!(!text.contains(secret), "{secret} revealed: {text}");
        }
    }
    assert_eq!(stored(&app), before, "nothing stored");
    // The same client with the same body: its ticket.
    let again = send("203.0.113.1", None, "k-1", first_body.clone())
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["number"], first["number"]);

    // With a token the token is the requester, wherever it calls from.
    let (mine, theirs) = (app.token(&[Scope::Write]), app.token(&[Scope::Write]));
    let created = send("203.0.113.3", Some(mine.clone()), "k-2", first_body.clone())
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let moved = send("203.0.113.4", Some(mine), "k-2", first_body.clone())
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    assert_eq!(
        moved.json::<Value>().await.unwrap()["number"],
        created["number"]
    );
    let before = stored(&app);
    for (bearer, client) in [(Some(theirs), "203.0.113.3"), (None, "203.0.113.3")] {
        let response = send(client, bearer, "k-2", first_body.clone())
            .await
            .unwrap();
        assert_eq!(response.status(), 422);
    }
    assert_eq!(stored(&app), before, "nothing stored");

    // Two requesters racing with one new key: one ticket, the other refused (on
    // PostgreSQL the loser meets the unique key inside its write).
    let (a, b) = tokio::join!(
        send("203.0.113.5", None, "k-3", first_body.clone()),
        send("203.0.113.6", None, "k-3", other_body.clone())
    );
    let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 422]);
}

async fn a_form_key_returns_its_ticket_only_to_its_requester_and_body(backend: Backend) {
    let app = spawn(backend).await;
    let form = app.get("/report").await.text().await.unwrap();
    let key = hidden_field(&form, "submission_key");
    let post = |client: reqwest::Client, from: &'static str, description: &'static str| {
        let app = &app;
        let key = key.clone();
        async move {
            let csrf = app.csrf_token(&client).await;
            client
                .post(app.url("/report"))
                .header("X-Forwarded-For", from)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("submission_key", key.as_str()),
                    ("reporter_email", "ana@example.com"),
                    ("kind", "other"),
                    ("description", description),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let first = post(app.client.clone(), "203.0.113.1", "Report R-1 failed").await;
    assert_eq!(first.status(), 303);
    let location = first.headers()["location"].to_str().unwrap().to_string();
    let before = stored(&app);
    for (client, from, description) in [
        (app.client.clone(), "203.0.113.1", "Something else entirely"),
        (app.new_client(), "203.0.113.2", "Report R-1 failed"),
    ] {
        let response = post(client, from, description).await;
        assert_eq!(response.status(), 422, "{from}");
        let html = response.text().await.unwrap();
        assert!(html.contains("id=\"submission_key-error\""), "{html}");
        assert!(html.contains("class=\"report-form\""), "the form again");
        assert!(html.contains(description), "what was typed is kept");
        assert!(!html.contains(&location) && !html.contains("INS-1001"));
        assert_ne!(
            hidden_field(&html, "submission_key"),
            key,
            "a fresh key, so sending it again files a report"
        );
    }
    assert_eq!(stored(&app), before, "nothing stored");
    let again = post(app.client.clone(), "203.0.113.1", "Report R-1 failed").await;
    assert_eq!(again.status(), 303);
    assert_eq!(again.headers()["location"], location.as_str());
}
