//! The analyst's tracking page: the conversation with the desk, replies, and what the
//! page says after each action.

use std::time::Duration;

use fantoccini::{Client, Locator};
use inspect_desk::domain::role::Role;
use serde_json::{Value, json};

use crate::browser::{browser, start_driver};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::reader::{check_page, visible_text};

on_both_backends!(
    a_blank_reply_comes_back_to_the_tracking_page,
    a_late_joiner_reads_the_conversation_in_a_browser,
);

fn report() -> Value {
    json!({"reporter_email": "ana@example.com", "kind": "failed_report", "impact": "degraded",
           "warehouse_type": "postgres", "table": "public.orders",
           "description": "Report generation failed (R-502)"})
}

/// `/t/{token}` of a ticket's tracking URL.
pub fn tracking_path(ticket: &Value) -> String {
    let url = ticket["tracking_url"].as_str().unwrap();
    url[url.find("/t/").unwrap()..].to_string()
}

/// A reply of only spaces and line breaks stays on the tracking page, with the message
/// beside the box and nothing recorded; the address the browser then shows is the
/// tracking page's own, so reopening it shows the page, not an error.
async fn a_blank_reply_comes_back_to_the_tracking_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ticket = app.file_report(report()).await;
    let path = tracking_path(&ticket);
    let events = app.count("ticket_events");
    let page = app.page_as(&app.client, &path).await;
    let action = form_action(&page, "reply-form");
    let response = app.post_form(&action, &[("body", "  \r\n \t ")]).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("id=\"reply-form\""),
        "the tracking page: {html}"
    );
    assert!(
        html.contains("id=\"reply-body-error\"") && html.contains("Write something first"),
        "the message beside the box: {html}"
    );
    assert_eq!(app.count("ticket_events"), events, "nothing recorded");
    // The browser shows the form's address: opening it again is the tracking page.
    let again = app.client.get(app.url(&action)).send().await.unwrap();
    assert_eq!(again.status(), 200, "{action}");
    assert!(again.text().await.unwrap().contains("id=\"reply-form\""));
}

/// The `action` of the form with this id.
pub fn form_action(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no form {id}"));
    let tag = &html[html[..at].rfind("<form").expect("the form's tag")..];
    let start = tag.find("action=\"").unwrap() + "action=\"".len();
    let end = tag[start..].find('"').unwrap() + start;
    tag[start..end].to_string()
}

/// An agent's form on a ticket page, answered with a redirect.
async fn agent_posts(app: &TestApp, agent: &reqwest::Client, path: &str, fields: &[(&str, &str)]) {
    let response = app.post_form_as(agent, path, fields).await;
    assert_eq!(response.status(), 303, "{path}");
}

/// The text of the element with this id.
async fn text_of(client: &Client, id: &str) -> String {
    client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("no #{id}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn wait_for_path_prefix(client: &Client, prefix: &str) {
    for _ in 0..50 {
        if client
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with(prefix)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the browser never reached {prefix}");
}

/// An incident with one update; an analyst sees it on the form as a known issue with its
/// latest update, joins it, and reads the conversation on the tracking page: the update
/// posted before they joined, the next one, the team's reply and their own, in order,
/// the newest from the team at the top, in words for people at 1280 and 375 px.
async fn a_late_joiner_reads_the_conversation_in_a_browser(backend: Backend) {
    let Some(driver) = start_driver() else { return };
    let app = TestApp::spawn(backend).await;
    let lead = app
        .file_report(
            json!({"reporter_email": "lead@example.com", "kind": "wrong_column_type",
            "warehouse_type": "bigquery", "table": "proj.core.users", "column": "zip",
            "detected_type": "integer", "expected_type": "postal_code", "impact": "blocked",
            "description": "zip is detected as integer but it is a postal code"}),
        )
        .await;
    let inc = lead["number"].as_str().unwrap().to_string();
    let (agent, _) = app.signed_in(Role::Agent).await;
    let incident_path = format!("/tickets/{inc}/incident");
    agent_posts(&app, &agent, &incident_path, &[("action", "declare")]).await;
    let first = "We found the cause: a type rule for US zip codes. A fix is being tested.";
    agent_posts(
        &app,
        &agent,
        &incident_path,
        &[("action", "update"), ("body", first)],
    )
    .await;

    let client = browser(&driver).await;
    client.goto(&app.url("/report")).await.unwrap();
    check_page(&client, "the report form with a known issue").await;
    let banner = text_of(&client, &format!("known-{inc}")).await;
    assert!(banner.to_lowercase().contains("known issue"), "{banner}");
    assert!(
        banner.contains("Wrong column type on proj.core.users"),
        "{banner}"
    );
    assert!(banner.contains("Latest update"), "{banner}");
    assert!(banner.contains(first), "{banner}");
    let role = client
        .find(Locator::Id("known-issues"))
        .await
        .unwrap()
        .attr("aria-labelledby")
        .await
        .unwrap();
    assert_eq!(role.as_deref(), Some("known-issues-title"));

    // Join from the banner: the tracking page, with a confirmation.
    client
        .find(Locator::Id(&format!("join-email-{inc}")))
        .await
        .unwrap()
        .send_keys("dee@example.com")
        .await
        .unwrap();
    client
        .find(Locator::Id(&format!("join-{inc}")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path_prefix(&client, "/t/").await;
    let tracking = client.current_url().await.unwrap().path().to_string();
    let joined = visible_text(&client).await;
    assert!(
        joined.contains(&format!("You are following the known issue {inc}")),
        "{joined}"
    );
    assert!(
        joined.contains(first),
        "the update from before joining: {joined}"
    );

    // More news, a reply from the team and one from the reporter.
    let second = "The fix is live; profiles refresh tonight.";
    agent_posts(
        &app,
        &agent,
        &incident_path,
        &[("action", "update"), ("body", second)],
    )
    .await;
    let own = {
        let mut conn = app.desk.pool.get().unwrap();
        inspect_desk::db::models::ticket::Ticket::for_reporter(&mut conn, "dee@example.com", 1)
            .unwrap()
            .remove(0)
            .number()
            .to_string()
    };
    agent_posts(
        &app,
        &agent,
        &format!("/tickets/{own}/comment"),
        &[
            ("body", "Thanks Dee, your table is in tonight's refresh."),
            ("visibility", "public"),
        ],
    )
    .await;
    client.goto(&app.url(&tracking)).await.unwrap();
    client
        .find(Locator::Id("reply-body"))
        .await
        .unwrap()
        .send_keys("Thanks, I will check tomorrow.")
        .await
        .unwrap();
    client
        .find(Locator::Css("#reply-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..50 {
        if visible_text(&client).await.contains("Your reply is sent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(client.current_url().await.unwrap().path(), tracking);
    check_page(&client, "the tracking page").await;
    let text = visible_text(&client).await;
    assert!(
        text.contains("Your reply is sent"),
        "the confirmation: {text}"
    );
    assert!(
        text.contains("What happens next: Updates on the known issue appear here"),
        "what happens next, for a report of a known issue: {text}"
    );
    assert!(
        text.contains("Received"),
        "the status in the reporter's words: {text}"
    );
    assert!(
        text.contains("Semantic Types"),
        "the team by its name: {text}"
    );
    let latest = text_of(&client, "latest-update").await;
    assert!(
        latest.contains("your table is in tonight's refresh"),
        "{latest}"
    );
    let conversation = text_of(&client, "conversation").await;
    let order: Vec<usize> = [
        first,
        second,
        "your table is in tonight's refresh",
        "I will check tomorrow",
    ]
    .iter()
    .map(|t| {
        conversation
            .find(t)
            .unwrap_or_else(|| panic!("{t} missing: {conversation}"))
    })
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "in order: {conversation}"
    );
    for internal in [
        "confidence",
        "Routing",
        "Why it was filed",
        "First response",
        "Resolution due",
    ] {
        assert!(
            !text.contains(internal),
            "{internal} on the tracking page: {text}"
        );
    }
    client.close().await.ok();
}
