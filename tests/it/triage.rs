//! The triage queue and every action on a ticket, over HTTP.

use chrono::TimeDelta;
use inspect_desk::domain::role::{Role, Scope};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    queue_filters_sorts_counts_and_pages,
    api_changes_check_versions,
    reclassify_reroute_assign_and_verdicts,
    comments_merges_and_replies,
    incident_updates_reach_each_reporter_once,
    bulk_resolving_an_incident_and_its_reports,
    pages_refuse_lost_updates_and_bulk_skips_stale_rows,
    saved_views_for_me_and_my_team,
);

fn report(email: &str, kind: &str, impact: &str, description: &str) -> Value {
    json!({"reporter_email": email, "kind": kind, "impact": impact, "warehouse_type": "bigquery",
           "table": "proj.core.users", "description": description})
}

async fn seed(app: &TestApp) -> Vec<Value> {
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

async fn api(
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
    let (status, problem) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        &path,
        Some(json!({"category": "wrong_column_type", "version": v})),
    )
    .await;
    assert_eq!(status, 422);
    assert!(problem["errors"]["reason"].is_string());
    let body = json!({"category": "wrong_column_type", "severity": "sev2", "reason": "zip is typed as integer", "version": v});
    let (status, t) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        &path,
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
    let first_due = t["first_response_due"].clone();
    let (status, t) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        &path,
        Some(json!({"team": "reports", "assignee": "auto", "version": v + 1})),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["team"], "reports");
    assert_eq!(t["routing_rule"], "manual");
    assert_eq!(
        t["first_response_due"], first_due,
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
            &agent,
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
    let (status, _) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{n1}/comments"),
        Some(json!({"body": "Internal: looking at R-502 logs"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, t) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{n1}/comments"),
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
    let tracking = app
        .client
        .get(original["tracking_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(tracking.contains("a fix ships today"));
    assert!(
        !tracking.contains("looking at R-502 logs"),
        "internal comments stay internal"
    );
    let (status, _) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{n1}/comments"),
        Some(json!({"body": "  "})),
    )
    .await;
    assert_eq!(status, 422);
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
    let dup_page = app
        .client
        .get(duplicate["tracking_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dup_page.contains("id=\"merged-notice\""));
    // Resolved, then the reporter replies: it reopens.
    let (_, t) = api(
        &app,
        &[Scope::Read],
        reqwest::Method::GET,
        &format!("/api/v1/tickets/{n1}"),
        None,
    )
    .await;
    let (status, _) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        &format!("/api/v1/tickets/{n1}"),
        Some(json!({"status": "resolved", "version": t["version"]})),
    )
    .await;
    assert_eq!(status, 200);
    let token = original["tracking_url"]
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
    let (_, t) = api(
        &app,
        &[Scope::Read],
        reqwest::Method::GET,
        &format!("/api/v1/tickets/{n1}"),
        None,
    )
    .await;
    assert_eq!(t["status"], "triaged", "reopened by the reply");
}

async fn incident_updates_reach_each_reporter_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let incident = app
        .file_report(report(
            "lead@example.com",
            "profiling_failure",
            "blocked",
            "Snowflake profiling runs time out",
        ))
        .await;
    let mut children = Vec::new();
    for email in ["x@example.com", "x@example.com", "y@example.com"] {
        children.push(
            app.file_report(report(
                email,
                "profiling_failure",
                "blocked",
                "no profile, timeout",
            ))
            .await,
        );
    }
    let (agent, _) = app.signed_in(Role::Agent).await;
    let inc = incident["number"].as_str().unwrap();
    assert_eq!(
        app.post_form_as(
            &agent,
            &format!("/tickets/{inc}/incident"),
            &[("action", "declare")]
        )
        .await
        .status(),
        303
    );
    for child in &children {
        let number = child["number"].as_str().unwrap();
        let response = app
            .post_form_as(
                &agent,
                &format!("/tickets/{number}/incident"),
                &[("action", "attach"), ("incident", inc)],
            )
            .await;
        assert_eq!(response.status(), 303);
    }
    let before = app.count("outbox");
    let page = app
        .post_form_as(
            &agent,
            &format!("/tickets/{inc}/incident"),
            &[
                ("action", "update"),
                ("body", "Warehouse resized; reruns started at 10:40."),
            ],
        )
        .await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("sent to 3 reporter(s)"));
    assert_eq!(app.count("outbox"), before + 3, "lead, x once, y once");
    let child_page = app
        .client
        .get(children[1]["tracking_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(child_page.contains("Warehouse resized"));
    let (_, json) = api(
        &app,
        &[Scope::Read],
        reqwest::Method::GET,
        &format!(
            "/api/v1/tickets/{}",
            children[0]["number"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(json["incident"], inc);

    // y's report was answered on its own already; x's second waits on x.
    let x_second = children[1]["number"].as_str().unwrap();
    let y_report = children[2]["number"].as_str().unwrap();
    for (number, status) in [(y_report, "resolved"), (x_second, "waiting_on_reporter")] {
        let current: Value = app.api_json(&format!("/api/v1/tickets/{number}")).await;
        let (code, body) = api(
            &app,
            &[Scope::Write],
            reqwest::Method::PATCH,
            &format!("/api/v1/tickets/{number}"),
            Some(json!({"status": status, "version": current["version"]})),
        )
        .await;
        assert_eq!(code, 200, "{body}");
    }
    // Resolving the incident resolves its reports still open, each noting why; every
    // reporter hears once, in the incident's update, and no one gets a per-ticket
    // "resolved" email besides the one y had.
    let before = app.count("outbox");
    let current: Value = app.api_json(&format!("/api/v1/tickets/{inc}")).await;
    let (code, resolved) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        &format!("/api/v1/tickets/{inc}"),
        Some(json!({
            "status": "resolved", "version": current["version"],
            "reason": "warehouse resized; every table profiled again"
        })),
    )
    .await;
    assert_eq!(code, 200, "{resolved}");
    assert_eq!(resolved["status"], "resolved");
    let stored: Value = app.api_json(&format!("/api/v1/tickets/{inc}")).await;
    assert_eq!(
        resolved["version"], stored["version"],
        "the answer carries the version the next change needs"
    );
    assert_eq!(app.count("outbox"), before + 3, "lead, x once, y once");
    assert_eq!(
        app.count("outbox WHERE template = 'resolved'"),
        1,
        "only y's own resolution"
    );
    for child in &children {
        let number = child["number"].as_str().unwrap();
        let t: Value = app.api_json(&format!("/api/v1/tickets/{number}")).await;
        assert_eq!(t["status"], "resolved", "{number}");
        let events: Vec<Value> = app
            .api_json(&format!("/api/v1/tickets/{number}/events"))
            .await;
        let with_incident = events
            .iter()
            .filter(|e| {
                e["detail"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("resolved with incident {inc}"))
            })
            .count();
        assert_eq!(with_incident, usize::from(number != y_report), "{number}");
        assert!(
            events.iter().any(|e| e["detail"]
                .as_str()
                .unwrap()
                .starts_with("Resolved: warehouse resized")),
            "{number}: {events:?}"
        );
    }
    let mail = app.count(
        "outbox WHERE template = 'incident_update' AND body_text LIKE '%Resolved: warehouse resized%'",
    );
    assert_eq!(mail, 3);
}

/// Three reports, the first declared an incident and the others attached to it, by
/// `agent`: their numbers.
async fn incident_with_reports(app: &TestApp, agent: &reqwest::Client) -> Vec<String> {
    let mut numbers = Vec::new();
    for email in ["lead@example.com", "x@example.com", "y@example.com"] {
        let t = app
            .file_report(report(
                email,
                "profiling_failure",
                "blocked",
                "Profiling runs time out",
            ))
            .await;
        numbers.push(t["number"].as_str().unwrap().to_string());
    }
    let incident = &numbers[0];
    let declare = [("action", "declare")];
    let path = format!("/tickets/{incident}/incident");
    assert_eq!(app.post_form_as(agent, &path, &declare).await.status(), 303);
    for number in &numbers[1..] {
        let attach = [("action", "attach"), ("incident", incident.as_str())];
        let path = format!("/tickets/{number}/incident");
        assert_eq!(app.post_form_as(agent, &path, &attach).await.status(), 303);
    }
    numbers
}

async fn status_of(app: &TestApp, number: &str) -> Value {
    let t: Value = app.api_json(&format!("/api/v1/tickets/{number}")).await;
    t["status"].clone()
}

/// Ticking an incident and its reports and resolving them in bulk: the incident resolves
/// its reports first, and the queue does not call them changed and skipped.
async fn bulk_resolving_an_incident_and_its_reports(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.signed_in(Role::Agent).await;
    let numbers = incident_with_reports(&app, &agent).await;
    let mut ticked = Vec::new();
    for number in &numbers {
        let t: Value = app.api_json(&format!("/api/v1/tickets/{number}")).await;
        ticked.push(format!(
            "{}:{}",
            number.trim_start_matches("INS-"),
            t["version"]
        ));
    }
    let mut form: Vec<(&str, &str)> = ticked.iter().map(|t| ("ticket", t.as_str())).collect();
    form.extend([("action", "status"), ("value", "resolved")]);
    let result = app.post_form_as(&agent, "/queue/bulk", &form).await;
    assert_eq!(result.status(), 200);
    let html = result.text().await.unwrap();
    assert!(html.contains("Bulk status done."), "{html}");
    for number in &numbers {
        assert_eq!(status_of(&app, number).await, "resolved", "{number}");
    }
    // Closing an incident outright ends its reports the same way.
    let numbers = incident_with_reports(&app, &agent).await;
    let incident: Value = app
        .api_json(&format!("/api/v1/tickets/{}", numbers[0]))
        .await;
    let (code, body) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        &format!("/api/v1/tickets/{}", numbers[0]),
        Some(json!({"status": "closed", "version": incident["version"]})),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(status_of(&app, &numbers[0]).await, "closed");
    for number in &numbers[1..] {
        assert_eq!(status_of(&app, number).await, "resolved", "{number}");
    }
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
        html.contains("changed since you opened it") && html.contains("in_progress"),
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
    assert_eq!(result.status(), 200);
    let html = result.text().await.unwrap();
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
