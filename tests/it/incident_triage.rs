//! Incidents an agent runs: declaring, attaching, updates that reach each reporter once,
//! and resolving an incident with its reports.

use inspect_desk::domain::role::{Role, Scope};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::triage::{api, report};

on_both_backends!(
    incident_updates_reach_each_reporter_once,
    bulk_resolving_an_incident_and_its_reports,
);

async fn incident_updates_reach_each_reporter_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (incident, children) = file_a_lead_report_and_three_more(&app).await;
    let (agent, _) = app.signed_in(Role::Agent).await;
    let inc = incident["number"].as_str().unwrap();
    declare_and_attach(&app, &agent, inc, &children).await;
    an_update_reaches_each_reporter_once(&app, &agent, inc, &children).await;

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
    resolve_the_incident(&app, inc).await;
    assert_eq!(app.count("outbox"), before + 3, "lead, x once, y once");
    assert_eq!(
        app.count("outbox WHERE template = 'resolved'"),
        1,
        "only y's own resolution"
    );
    each_report_resolved_with_the_incident(&app, inc, &children, y_report).await;
    let mail = app.count(
        "outbox WHERE template = 'incident_update' AND body_text LIKE '%Resolved: warehouse resized%'",
    );
    assert_eq!(mail, 3);
}

/// The report that becomes the incident, then three more: two from x, one from y.
async fn file_a_lead_report_and_three_more(app: &TestApp) -> (Value, Vec<Value>) {
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
    (incident, children)
}

/// The agent declares `inc` an incident and attaches each of `children` to it.
async fn declare_and_attach(app: &TestApp, agent: &reqwest::Client, inc: &str, children: &[Value]) {
    assert_eq!(
        app.post_form_as(
            agent,
            &format!("/tickets/{inc}/incident"),
            &[("action", "declare")]
        )
        .await
        .status(),
        303
    );
    for child in children {
        let number = child["number"].as_str().unwrap();
        let response = app
            .post_form_as(
                agent,
                &format!("/tickets/{number}/incident"),
                &[("action", "attach"), ("incident", inc)],
            )
            .await;
        assert_eq!(response.status(), 303);
    }
}

/// An incident update goes to each reporter once (x filed twice) and shows on every
/// attached report.
async fn an_update_reaches_each_reporter_once(
    app: &TestApp,
    agent: &reqwest::Client,
    inc: &str,
    children: &[Value],
) {
    let before = app.count("outbox");
    let page = app
        .post_form_as(
            agent,
            &format!("/tickets/{inc}/incident"),
            &[
                ("action", "update"),
                ("body", "Warehouse resized; reruns started at 10:40."),
            ],
        )
        .await;
    assert_eq!(page.status(), 303);
    let location = page.headers()["location"].to_str().unwrap().to_string();
    assert!(
        app.page_as(agent, &location)
            .await
            .contains("sent to 3 reporters")
    );
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
        app,
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
}

/// Resolve the incident through the API; the answer carries the stored version.
async fn resolve_the_incident(app: &TestApp, inc: &str) {
    let current: Value = app.api_json(&format!("/api/v1/tickets/{inc}")).await;
    let (code, resolved) = api(
        app,
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
}

/// Every report is resolved and carries the incident's reason; those still open when it
/// resolved (all but y's) also say they resolved with it.
async fn each_report_resolved_with_the_incident(
    app: &TestApp,
    inc: &str,
    children: &[Value],
    y_report: &str,
) {
    for child in children {
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
    assert_eq!(result.status(), 303);
    let html = app.page_as(&agent, "/queue").await;
    assert!(
        html.contains(&format!("{} tickets moved to Resolved.", numbers.len())),
        "{html}"
    );
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
