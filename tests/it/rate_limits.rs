//! Replies on the tracking page are limited per tracking link and per address; programs
//! with a `write` token are not held to the anonymous report limit, and a wrong token is
//! refused rather than taken for an anonymous caller.

use inspect_desk::domain::role::Scope;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    replies_are_limited_per_tracking_link_and_per_address,
    write_tokens_are_not_held_to_the_anonymous_report_limit,
);

fn report() -> Value {
    json!({"reporter_email": "ana@example.com", "kind": "other", "description": "Report R-1 failed"})
}

async fn replies_are_limited_per_tracking_link_and_per_address(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.reply_rate_per_minute = 2;
        s.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let mut links = Vec::new();
    for _ in 0..3 {
        let url = app.file_report(report()).await["tracking_url"]
            .as_str()
            .unwrap()
            .to_string();
        links.push(url[url.find("/t/").unwrap()..].to_string());
    }
    let csrf = app.csrf_token(&app.client).await;
    let reply = |link: &str, from: &'static str, text: &'static str| {
        app.client
            .post(app.url(&format!("{link}/reply")))
            .header("X-Forwarded-For", from)
            .form(&[("csrf_token", csrf.as_str()), ("body", text)])
            .send()
    };
    let mut statuses = Vec::new();
    // One link from two addresses: its limit is the link's.
    for from in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let response = reply(&links[0], from, "Still broken this morning")
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let html = response.text().await.unwrap();
            assert!(
                html.contains("id=\"reply-form\""),
                "still the tracking page"
            );
            assert!(
                html.contains("id=\"reply-body-error\""),
                "a message by the box"
            );
            assert!(
                html.contains("Still broken this morning"),
                "the reply is kept"
            );
        }
    }
    assert_eq!(statuses, [303, 303, 429]);
    // One address over two other links: its limit is the address's.
    let mut statuses = Vec::new();
    for link in [&links[1], &links[2], &links[1]] {
        statuses.push(
            reply(link, "203.0.113.9", "Any news?")
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [303, 303, 429]);
    assert_eq!(app.count("ticket_events WHERE kind = 'reporter_reply'"), 4);
}

async fn write_tokens_are_not_held_to_the_anonymous_report_limit(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.report_rate_per_minute = 2).await;
    let post = |bearer: Option<&str>| {
        let request = app.client.post(app.url("/api/v1/reports")).json(&report());
        match bearer {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
    };
    // A wrong token is refused, not taken for an anonymous caller (nor counted as one).
    for _ in 0..3 {
        let wrong = post(Some("desk_nope_nope")).await.unwrap();
        assert_eq!(wrong.status(), 401);
        assert_eq!(wrong.headers()["www-authenticate"], "Bearer");
    }
    assert_eq!(app.count("tickets"), 0);
    let write = app.token(&[Scope::Write]);
    for _ in 0..5 {
        assert_eq!(post(Some(&write)).await.unwrap().status(), 201);
    }
    // Anonymous callers, and tokens that cannot write, share the address's limit.
    let read = app.token(&[Scope::Read]);
    let mut statuses = Vec::new();
    for bearer in [None, Some(read.as_str()), None] {
        statuses.push(post(bearer).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [201, 201, 429]);
    assert_eq!(post(Some(&write)).await.unwrap().status(), 201);
    assert_eq!(app.count("tickets"), 8);
}
