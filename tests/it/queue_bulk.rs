//! Bulk actions from the queue over HTTP: each answers with a redirect back to the queue
//! and a sentence saying what happened; a merge skips a ticket that changed since the
//! queue loaded; a choice that cannot be done keeps the agent on the queue, signed in,
//! with the message beside the bar and nothing changed.

use inspect_desk::domain::role::Role;
use serde_json::Value;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::triage::{api, seed};

on_both_backends!(
    bulk_merge_skips_a_ticket_changed_since_the_queue_loaded,
    bulk_mistakes_keep_the_agent_on_the_queue_signed_in,
    error_pages_show_the_signed_in_agent_as_signed_in,
);

/// `id:version` as the queue's tick box carries it.
fn tick(ticket: &Value) -> String {
    format!(
        "{}:{}",
        ticket["number"]
            .as_str()
            .unwrap()
            .trim_start_matches("INS-"),
        ticket["version"]
    )
}

/// Follow a 303 with `client` and return the page it leads to.
async fn follow(app: &TestApp, client: &reqwest::Client, response: reqwest::Response) -> String {
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let location = response.headers()["location"].to_str().unwrap().to_string();
    app.page_as(client, &location).await
}

/// The confirmation a page shows at its top.
fn flash_of(html: &str) -> &str {
    let start = html
        .find("<p class=\"flash\" role=\"status\">")
        .expect("a confirmation");
    let rest = &html[start..];
    let text = &rest[rest.find('>').unwrap() + 1..];
    &text[..text.find("</p>").unwrap()]
}

async fn bulk_merge_skips_a_ticket_changed_since_the_queue_loaded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tickets = seed(&app).await;
    let (agent, _) = app.signed_in(Role::Agent).await;
    let into = tickets[0]["number"].as_str().unwrap();
    let (fresh, stale) = (&tickets[1], &tickets[2]);
    // Someone else triages the third ticket after the agent's queue loaded.
    let (code, _) = api(
        &app,
        &[inspect_desk::domain::role::Scope::Write],
        reqwest::Method::PATCH,
        &format!("/api/v1/tickets/{}", stale["number"].as_str().unwrap()),
        Some(serde_json::json!({"status": "triaged", "version": stale["version"]})),
    )
    .await;
    assert_eq!(code, 200);
    let response = app
        .post_form_as(
            &agent,
            "/queue/bulk",
            &[
                ("ticket", &tick(fresh)),
                ("ticket", &tick(stale)),
                ("action", &format!("merge:{into}")),
                ("back", "category=failed_report"),
            ],
        )
        .await;
    assert_eq!(
        response.headers()["location"],
        "/queue?category=failed_report",
        "back to the queue with its filters"
    );
    let page = follow(&app, &agent, response).await;
    let (fresh_n, stale_n) = (
        fresh["number"].as_str().unwrap(),
        stale["number"].as_str().unwrap(),
    );
    assert_eq!(
        flash_of(&page),
        format!(
            "{fresh_n} merged into {into}; 1 skipped: {stale_n} changed since you loaded the queue."
        )
    );
    let merged = |number: &str| {
        let id = number.trim_start_matches("INS-");
        app.count(&format!(
            "tickets WHERE id = {id} AND merged_into IS NOT NULL"
        ))
    };
    assert_eq!(merged(fresh_n), 1, "the fresh ticket is merged");
    assert_eq!(merged(stale_n), 0, "the changed ticket is left as it is");
}

async fn bulk_mistakes_keep_the_agent_on_the_queue_signed_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tickets = seed(&app).await;
    let (agent, email) = app.signed_in(Role::Agent).await;
    let one = tick(&tickets[0]);
    let events_before = app.count("ticket_events");
    for (fields, message) in [
        (
            vec![("action", "assign:me")],
            "Tick at least one ticket, then choose what to do with them.",
        ),
        (
            vec![("ticket", one.as_str()), ("action", "status:done")],
            "Choose what to do from the list.",
        ),
        (
            vec![("ticket", one.as_str()), ("action", "assign:999999")],
            "That person cannot be assigned tickets; pick someone from the list.",
        ),
        (
            vec![("ticket", one.as_str()), ("action", "category:other")],
            "Say why the category is wrong in the reason box; it is logged on each ticket.",
        ),
        (
            vec![("ticket", one.as_str()), ("action", "team:nowhere")],
            "Pick a team from the list.",
        ),
    ] {
        let response = app.post_form_as(&agent, "/queue/bulk", &fields).await;
        assert_eq!(response.status(), 422, "{fields:?}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("id=\"bulk-error\" role=\"alert\">{message}</p>")),
            "{message}: {html}"
        );
        assert!(html.contains("id=\"queue-table\""), "still the queue");
        assert!(
            html.contains(&format!("<span class=\"who\">{email}</span>")),
            "signed in"
        );
        assert!(!html.contains("href=\"/login\""), "no sign-in link");
        if fields.len() > 1 {
            assert!(
                html.contains(&format!(
                    "value=\"{one}\" aria-label=\"Tick {}\" checked",
                    tickets[0]["number"].as_str().unwrap()
                )),
                "the tick is kept"
            );
        }
    }
    assert_eq!(app.count("ticket_events"), events_before, "nothing changed");
}

async fn error_pages_show_the_signed_in_agent_as_signed_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, email) = app.signed_in(Role::Agent).await;
    for (path, status) in [
        ("/tickets/INS-999999", 404),
        ("/no/such/page", 404),
        ("/admin", 403),
    ] {
        let response = agent.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("<span class=\"who\">{email}</span>"))
                && html.contains("Sign out"),
            "{path}: the top bar shows who is signed in: {html}"
        );
        assert!(!html.contains("href=\"/login\""), "{path}: no sign-in link");
        assert!(html.contains("Back to the queue"), "{path}");
    }
    // A form mistake outside the bulk bar: a saved view without a name is the queue
    // again, with its filters and the message beside the name.
    let response = app
        .post_form_as(
            &agent,
            "/queue/views",
            &[("name", " "), ("query", "severity=sev2")],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains(&format!("<span class=\"who\">{email}</span>")));
    assert!(html.contains(
        "id=\"view-error\" role=\"alert\">Give the view a name of 1 to 80 characters.</p>"
    ));
    assert!(
        html.contains("<option value=\"sev2\" selected>"),
        "filters kept"
    );
    // Signed out, the same page offers to sign in.
    let html = app.page_as(&app.new_client(), "/no/such/page").await;
    assert!(html.contains("href=\"/login\""));
}
