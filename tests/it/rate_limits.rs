//! Replies on the tracking page are limited per tracking link and per address.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(replies_are_limited_per_tracking_link_and_per_address,);

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
