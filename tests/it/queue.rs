//! The triage queue: filters, sorting, counts, pages, saved views and bulk actions.

use chrono::TimeDelta;
use inspect_desk::domain::role::{Role, Scope};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::triage::{api, seed};

on_both_backends!(
    queue_filters_sorts_counts_and_pages,
    pages_refuse_lost_updates_and_bulk_skips_stale_rows,
    saved_views_for_me_and_my_team,
);

async fn queue_filters_sorts_counts_and_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tickets = seed(&app).await;
    let (agent, _) = app.signed_in(Role::Agent).await;
    let html = app.page_as(&agent, "/queue").await;
    // SLA due first: the sev2 (blocked) report's deadline is the nearest.
    let first = html.find(tickets[0]["number"].as_str().unwrap()).unwrap();
    let other = html.find(tickets[3]["number"].as_str().unwrap()).unwrap();
    assert!(first < other, "nearest deadline first");
    assert!(html.contains("New: 5"), "counts per status");
    assert!(html.contains("On track: 5"), "counts per SLA state");
    let failed = app.page_as(&agent, "/queue?category=failed_report").await;
    assert_eq!(failed.matches("class=\"ticket-link\"").count(), 2);
    let search = app.page_as(&agent, "/queue?q=POSTAL").await;
    assert_eq!(
        search.matches("class=\"ticket-link\"").count(),
        1,
        "case-insensitive text search"
    );
    let bad = agent.get(app.url("/queue?sla=late")).send().await.unwrap();
    assert_eq!(bad.status(), 422);
    // JSON: keyset pages of two cover everything once.
    let mut seen = Vec::new();
    let mut path = "/api/v1/tickets?limit=2".to_string();
    loop {
        let (status, page) = api(&app, &[Scope::Read], reqwest::Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        for t in page["tickets"].as_array().unwrap() {
            seen.push(t["number"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/tickets?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5, "no ticket twice");
    let (_, sev) = api(
        &app,
        &[Scope::Read],
        reqwest::Method::GET,
        "/api/v1/tickets?sort=severity&severity=sev4",
        None,
    )
    .await;
    assert!(
        sev["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["severity"] == "sev4")
    );
    // Move time past every first-response deadline (the support team's clock runs in
    // office hours, so give it a long weekend and a holiday): all are breached.
    app.clock.advance(TimeDelta::days(10));
    let (_, breached) = api(
        &app,
        &[Scope::Read],
        reqwest::Method::GET,
        "/api/v1/tickets?sla=breached",
        None,
    )
    .await;
    assert_eq!(breached["tickets"].as_array().unwrap().len(), 5);
    assert_eq!(breached["tickets"][0]["sla"]["state"], "breached");
    let (status, problem) = api(
        &app,
        &[Scope::Read],
        reqwest::Method::GET,
        "/api/v1/tickets?limit=0",
        None,
    )
    .await;
    assert_eq!(status, 422, "{problem}");
}

async fn pages_refuse_lost_updates_and_bulk_skips_stale_rows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tickets = seed(&app).await;
    let number = tickets[0]["number"].as_str().unwrap();
    let (alice, _) = app.signed_in(Role::Agent).await;
    let (bob, _) = app.signed_in(Role::Agent).await;
    let url = app.url(&format!("/tickets/{number}"));
    let page = |client: reqwest::Client| {
        let url = url.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let seen = crate::helpers::hidden_field(&page(alice.clone()).await, "version");
    let _ = page(bob.clone()).await;
    let form = |status: &'static str| {
        vec![
            ("version", seen.clone()),
            ("status", status.to_string()),
            ("category", "failed_report".to_string()),
        ]
    };
    let fields: Vec<(&str, String)> = form("in_progress");
    let as_refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        app.post_form_as(&alice, &format!("/tickets/{number}/update"), &as_refs)
            .await
            .status(),
        303
    );
    let fields = form("resolved");
    let as_refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let second = app
        .post_form_as(&bob, &format!("/tickets/{number}/update"), &as_refs)
        .await;
    assert_eq!(second.status(), 409);
    let html = second.text().await.unwrap();
    assert!(
        html.contains("changed since you opened it") && html.contains("In progress"),
        "says what changed"
    );
    // Bulk: a stale version is skipped and named, the rest is done.
    let fresh = format!(
        "{}:{}",
        tickets[1]["number"]
            .as_str()
            .unwrap()
            .trim_start_matches("INS-"),
        tickets[1]["version"]
    );
    let stale = format!("{}:{}", number.trim_start_matches("INS-"), seen);
    let result = app
        .post_form_as(
            &alice,
            "/queue/bulk",
            &[
                ("ticket", &fresh),
                ("ticket", &stale),
                ("action", "assign"),
                ("value", "me"),
            ],
        )
        .await;
    assert_eq!(result.status(), 303);
    let html = app.page_as(&alice, "/queue").await;
    assert!(
        html.contains(&format!("{number} changed since you loaded the queue")),
        "stale row named"
    );
    let mine = app.page_as(&alice, "/queue?assignee=me").await;
    assert_eq!(mine.matches("class=\"ticket-link\"").count(), 1);
}

async fn saved_views_for_me_and_my_team(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user("agent@inspect.example", Role::Agent, "a-long-test-password");
    let agent = app.new_client();
    app.sign_in(&agent, "agent@inspect.example", "a-long-test-password")
        .await;
    let saved = app
        .post_form_as(
            &agent,
            "/queue/views",
            &[
                ("name", "Failing reports"),
                ("query", "category=failed_report"),
                ("team", "reports"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let mine = app
        .post_form_as(
            &agent,
            "/queue/views",
            &[
                ("name", "My sev1s"),
                ("query", "severity=sev1"),
                ("team", ""),
            ],
        )
        .await;
    assert_eq!(mine.status(), 303);
    let html = app.page_as(&agent, "/queue").await;
    assert!(html.contains("Failing reports") && html.contains("My sev1s"));
    let (stranger, _) = app.signed_in(Role::Agent).await;
    let html = app.page_as(&stranger, "/queue").await;
    assert!(
        !html.contains("Failing reports") && !html.contains("My sev1s"),
        "not their team, not theirs"
    );
    let refused = app
        .post_form_as(
            &stranger,
            "/queue/views",
            &[("name", "x"), ("query", ""), ("team", "reports")],
        )
        .await;
    assert_eq!(
        refused.status(),
        403,
        "cannot share with a team one is not in"
    );
}
