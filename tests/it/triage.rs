//! Agents' actions on a ticket over HTTP and the API: versions, reclassifying, rerouting,
//! assigning, comments, merges, replies and the clocks while a ticket waits.

use chrono::TimeDelta;
use inspect_desk::domain::role::{Role, Scope};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    api_changes_check_versions,
    reclassify_reroute_assign_and_verdicts,
    comments_merges_and_replies,
);

pub(crate) fn report(email: &str, kind: &str, impact: &str, description: &str) -> Value {
    json!({"reporter_email": email, "kind": kind, "impact": impact, "warehouse_type": "bigquery",
           "table": "proj.core.users", "description": description})
}

pub(crate) async fn seed(app: &TestApp) -> Vec<Value> {
    let mut tickets = Vec::new();
    for (i, (kind, impact, text)) in [
        (
            "failed_report",
            "blocked",
            "Report generation failed with code R-502",
        ),
        (
            "stale_profile",
            "minor",
            "The profile shows last week's row count",
        ),
        (
            "wrong_column_type",
            "degraded",
            "zip is detected as integer but it is a postal code",
        ),
        ("other", "minor", "Could the inspector show percentiles?"),
        ("failed_report", "degraded", "PDF export is blank"),
    ]
    .into_iter()
    .enumerate()
    {
        tickets.push(
            app.file_report(report(
                &format!("analyst{i}@example.com"),
                kind,
                impact,
                text,
            ))
            .await,
        );
    }
    tickets
}

pub(crate) async fn api(
    app: &TestApp,
    scopes: &[Scope],
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(app.token(scopes));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn api_changes_check_versions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ticket = app
        .file_report(report(
            "a@example.com",
            "failed_report",
            "degraded",
            "Report generation failed",
        ))
        .await;
    let path = format!("/api/v1/tickets/{}", ticket["number"].as_str().unwrap());
    let version = ticket["version"].as_i64().unwrap();
    let (status, changed) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        &path,
        Some(json!({"status": "triaged", "version": version})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["status"], "triaged");
    assert_eq!(changed["version"], version + 1);
    // A second writer still holding the old version gets 409 and what changed.
    let (status, conflict) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        &path,
        Some(json!({"status": "in_progress", "version": version})),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(conflict["current_version"], version + 1);
    assert!(
        conflict["changes"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("new → triaged"),
        "{conflict}"
    );
    // If-Match works too.
    let response = app
        .client
        .patch(app.url(&path))
        .bearer_auth(app.token(&[Scope::Write]))
        .header("If-Match", format!("\"{}\"", version + 1))
        .json(&json!({"status": "in_progress"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, _) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        &path,
        Some(json!({"status": "new", "version": version + 2})),
    )
    .await;
    assert_eq!(status, 422, "nothing goes back to new");
    let (status, _) = api(
        &app,
        &[Scope::Read],
        reqwest::Method::PATCH,
        &path,
        Some(json!({"status": "resolved", "version": version + 2})),
    )
    .await;
    assert_eq!(status, 403, "read tokens cannot write");
    let (status, events) = api(
        &app,
        &[Scope::Read],
        reqwest::Method::GET,
        &format!("{path}/events"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "status_changed")
    );
}

async fn reclassify_reroute_assign_and_verdicts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user("agent@inspect.example", Role::Agent, "a-long-test-password");
    let ticket = app
        .file_report(report(
            "a@example.com",
            "stale_profile",
            "minor",
            "The inspector shows old numbers for zip",
        ))
        .await;
    let path = format!("/api/v1/tickets/{}", ticket["number"].as_str().unwrap());
    let v = ticket["version"].as_i64().unwrap();
    let first_due = reclassify_with_a_reason_restarts_the_clock(&app, &path, v).await;
    reroute_keeps_the_clock_and_auto_assigns(&app, &path, v + 1, &first_due).await;
    let (status, _) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        &path,
        Some(json!({"team": "nobody", "version": v + 2})),
    )
    .await;
    assert_eq!(status, 422);
    // The agent confirms the wrong type on the ticket page.
    let (agent, _) = app.signed_in(Role::Agent).await;
    let number = ticket["number"].as_str().unwrap();
    let response = app
        .post_form_as(
            &agent,
            &format!("/tickets/{number}/verdict"),
            &[("verdict", "confirmed")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, t) = api(&app, &[Scope::Read], reqwest::Method::GET, &path, None).await;
    assert_eq!(t["type_verdict"], "confirmed");
    no_type_verdict_on_another_category(&app, &agent).await;
}

/// Reclassifying needs a reason; with one, the new severity's clock runs from creation.
/// Returns the first-response due time it set.
async fn reclassify_with_a_reason_restarts_the_clock(app: &TestApp, path: &str, v: i64) -> Value {
    let (status, problem) = api(
        app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        path,
        Some(json!({"category": "wrong_column_type", "version": v})),
    )
    .await;
    assert_eq!(status, 422);
    assert!(problem["errors"]["reason"].is_string());
    let body = json!({"category": "wrong_column_type", "severity": "sev2", "reason": "zip is typed as integer", "version": v});
    let (status, t) = api(
        app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        path,
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["category"], "wrong_column_type");
    // sev2: two hours to first response from creation.
    let created = chrono::DateTime::parse_from_rfc3339(t["created_at"].as_str().unwrap()).unwrap();
    let due =
        chrono::DateTime::parse_from_rfc3339(t["first_response_due"].as_str().unwrap()).unwrap();
    assert_eq!((due - created).num_minutes(), 120);
    t["first_response_due"].clone()
}

/// Rerouting to `reports` by hand keeps the clock and auto-assigns the team's member, who
/// is told.
async fn reroute_keeps_the_clock_and_auto_assigns(
    app: &TestApp,
    path: &str,
    version: i64,
    first_due: &Value,
) {
    let (status, t) = api(
        app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        path,
        Some(json!({"team": "reports", "assignee": "auto", "version": version})),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["team"], "reports");
    assert_eq!(t["routing_rule"], "manual");
    assert_eq!(
        &t["first_response_due"], first_due,
        "rerouting keeps the clock"
    );
    assert_eq!(
        t["assignee"], "agent@inspect.example",
        "auto-assigned to the team member"
    );
    assert_eq!(
        app.count("outbox WHERE template = 'assignment' AND recipient = 'agent@inspect.example'"),
        1,
        "the assignee is told"
    );
}

/// A type verdict on a ticket that is not about a column type is refused.
async fn no_type_verdict_on_another_category(app: &TestApp, agent: &reqwest::Client) {
    let other = app
        .file_report(report(
            "b@example.com",
            "other",
            "minor",
            "Dark mode please",
        ))
        .await;
    let response = app
        .post_form_as(
            agent,
            &format!("/tickets/{}/verdict", other["number"].as_str().unwrap()),
            &[("verdict", "confirmed")],
        )
        .await;
    assert_eq!(response.status(), 422);
}

async fn comments_merges_and_replies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let original = app
        .file_report(report(
            "first@example.com",
            "failed_report",
            "degraded",
            "Report generation failed",
        ))
        .await;
    let duplicate = app
        .file_report(report(
            "second@example.com",
            "failed_report",
            "degraded",
            "Report fails for me too",
        ))
        .await;
    let (n1, n2) = (
        original["number"].as_str().unwrap(),
        duplicate["number"].as_str().unwrap(),
    );
    let outbox_before = app.count("outbox");
    only_public_comments_reach_the_reporter(&app, &original, outbox_before).await;
    // Merge the duplicate: it closes and its reporter is told once.
    let (status, merged) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{n2}/merge"),
        Some(json!({"into": n1})),
    )
    .await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["status"], "closed");
    assert_eq!(merged["merged_into"], n1);
    assert_eq!(app.count("outbox"), outbox_before + 2);
    let (status, _) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{n2}/merge"),
        Some(json!({"into": n1})),
    )
    .await;
    assert_eq!(status, 422, "already merged");
    let dup_page = tracking_page(&app, &duplicate).await;
    assert!(dup_page.contains("id=\"merged-notice\""));
    a_reply_reopens_the_resolved_ticket(&app, &original).await;
}

/// The reporter's tracking page.
async fn tracking_page(app: &TestApp, ticket: &Value) -> String {
    app.client
        .get(ticket["tracking_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// An internal and a public comment: only the public one is emailed and shown to the
/// reporter; a blank comment is refused.
async fn only_public_comments_reach_the_reporter(
    app: &TestApp,
    ticket: &Value,
    outbox_before: i64,
) {
    let number = ticket["number"].as_str().unwrap();
    let (status, _) = api(
        app,
        &[Scope::Write],
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{number}/comments"),
        Some(json!({"body": "Internal: looking at R-502 logs"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, t) = api(
        app,
        &[Scope::Write],
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{number}/comments"),
        Some(json!({"body": "We found the cause; a fix ships today.", "public": true})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(t["sla"]["state"], "on_track");
    assert_eq!(
        app.count("outbox"),
        outbox_before + 1,
        "only the public comment is emailed"
    );
    let tracking = tracking_page(app, ticket).await;
    assert!(tracking.contains("a fix ships today"));
    assert!(
        !tracking.contains("looking at R-502 logs"),
        "internal comments stay internal"
    );
    let (status, _) = api(
        app,
        &[Scope::Write],
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{number}/comments"),
        Some(json!({"body": "  "})),
    )
    .await;
    assert_eq!(status, 422);
}

/// Resolved, then the reporter replies from the tracking page: it reopens.
async fn a_reply_reopens_the_resolved_ticket(app: &TestApp, ticket: &Value) {
    let path = format!("/api/v1/tickets/{}", ticket["number"].as_str().unwrap());
    let (_, t) = api(app, &[Scope::Read], reqwest::Method::GET, &path, None).await;
    let (status, _) = api(
        app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        &path,
        Some(json!({"status": "resolved", "version": t["version"]})),
    )
    .await;
    assert_eq!(status, 200);
    let token = ticket["tracking_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let reply = app
        .post_form(
            &format!("/t/{token}/reply"),
            &[("body", "Still broken for the Q3 table")],
        )
        .await;
    assert_eq!(reply.status(), 303);
    let (_, t) = api(app, &[Scope::Read], reqwest::Method::GET, &path, None).await;
    assert_eq!(t["status"], "triaged", "reopened by the reply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_on_the_reporter_pauses_the_clocks() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // A failed report for team `reports`: round the clock.
    let ticket = app
        .file_report(report(
            "a@example.com",
            "failed_report",
            "degraded",
            "Report generation failed",
        ))
        .await;
    let number = ticket["number"].as_str().unwrap();
    let path = format!("/api/v1/tickets/{number}");
    let due = |t: &Value, field: &str| {
        chrono::DateTime::parse_from_rfc3339(t[field].as_str().unwrap()).unwrap()
    };
    let (_, waiting) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        &path,
        Some(json!({"status": "waiting_on_reporter", "version": ticket["version"]})),
    )
    .await;
    assert_eq!(waiting["sla"]["state"], "paused");
    assert_eq!(
        app.count("outbox WHERE template = 'status_change'"),
        1,
        "the reporter is asked for more"
    );
    assert!(waiting["sla"]["paused"].as_bool().unwrap());
    app.clock.advance(TimeDelta::hours(3));
    let token = ticket["tracking_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let reply = app
        .post_form(
            &format!("/t/{token}/reply"),
            &[("body", "Here is the failing report id: R-77")],
        )
        .await;
    assert_eq!(reply.status(), 303);
    let (_, resumed) = api(&app, &[Scope::Read], reqwest::Method::GET, &path, None).await;
    assert_eq!(resumed["status"], "in_progress", "the reply resumes work");
    assert!(!resumed["sla"]["paused"].as_bool().unwrap());
    // Moving to waiting counted as the first response; resolution moved by the 3 hours paused.
    assert_eq!(
        (due(&resumed, "resolution_due") - due(&waiting, "resolution_due")).num_minutes(),
        180
    );
}
