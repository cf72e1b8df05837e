//! What reporters receive, read back from a real SMTP server: the reporters of merged
//! tickets follow the ticket they were merged into, each address once.

use inspect_desk::domain::role::{Role, Scope};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::smtp::{Received, SmtpSink, app_with_smtp};
use crate::triage::{api, report};

on_both_backends!(
    merged_reporters_hear_every_later_update_and_the_resolution,
    an_incident_update_sent_twice_is_taken_once,
    reporter_emails_read_for_people,
);

/// Deliver what is queued; the messages that arrived since the last call.
pub async fn new_mail(app: &TestApp, sink: &SmtpSink, seen: &mut usize) -> Vec<Received> {
    let sent = app.deliver().await.sent;
    let all = sink.wait_for(*seen + sent);
    let fresh = all[*seen..].to_vec();
    *seen = all.len();
    fresh
}

/// How many of `mail` went to `address`.
pub fn to(mail: &[Received], address: &str) -> Vec<Received> {
    mail.iter()
        .filter(|m| m.header("To").as_deref() == Some(address))
        .cloned()
        .collect()
}

async fn merged_reporters_hear_every_later_update_and_the_resolution(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    let file = |email: &'static str| {
        let app = &app;
        async move {
            app.file_report(report(email, "profiling_failure", "blocked", "no profile"))
                .await
        }
    };
    let (kept, ben, ana_again, incident) = (
        file("ana@example.com").await,
        file("ben@example.com").await,
        file("ana@example.com").await,
        file("cleo@example.com").await,
    );
    let number = |t: &Value| t["number"].as_str().unwrap().to_string();
    let kept_number = number(&kept);
    for duplicate in [&ben, &ana_again] {
        let (status, body) = api(
            &app,
            &[Scope::Write],
            reqwest::Method::POST,
            &format!("/api/v1/tickets/{}/merge", number(duplicate)),
            Some(json!({"into": kept_number})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let mut seen = 0;
    new_mail(&app, &sink, &mut seen).await;

    // A public reply on the surviving ticket: its reporter and Ben, once each (Ana's
    // second report is hers too).
    let (status, body) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{kept_number}/comments"),
        Some(json!({"body": "We found the cause: a warehouse timeout.", "public": true})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let mail = new_mail(&app, &sink, &mut seen).await;
    assert_eq!(to(&mail, "ana@example.com").len(), 1, "{mail:#?}");
    let to_ben = to(&mail, "ben@example.com");
    assert_eq!(to_ben.len(), 1);
    assert!(to_ben[0].text().contains("We found the cause"));
    assert!(
        to_ben[0].header("Subject").unwrap().contains(&number(&ben)),
        "Ben's email is about his own report, whose link he has"
    );

    // An incident the surviving ticket belongs to: its update reaches Cleo, Ana and Ben.
    let (agent, _) = app.signed_in(Role::Agent).await;
    let inc = number(&incident);
    for (path, fields) in [
        (inc.clone(), vec![("action", "declare")]),
        (
            kept_number.clone(),
            vec![("action", "attach"), ("incident", inc.as_str())],
        ),
    ] {
        let response = app
            .post_form_as(&agent, &format!("/tickets/{path}/incident"), &fields)
            .await;
        assert_eq!(response.status(), 303);
    }
    let response = app
        .post_form_as(
            &agent,
            &format!("/tickets/{inc}/incident"),
            &[
                ("action", "update"),
                ("body", "Warehouse resized; reruns started."),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let mail = new_mail(&app, &sink, &mut seen).await;
    for address in ["cleo@example.com", "ana@example.com", "ben@example.com"] {
        let got = to(&mail, address);
        assert_eq!(got.len(), 1, "{address}: {mail:#?}");
        assert!(got[0].text().contains("Warehouse resized"));
    }

    // The surviving ticket resolved: its reporter and Ben hear it, once each.
    let current: Value = app
        .api_json(&format!("/api/v1/tickets/{kept_number}"))
        .await;
    let (status, body) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::PATCH,
        &format!("/api/v1/tickets/{kept_number}"),
        Some(json!({"status": "resolved", "version": current["version"]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mail = new_mail(&app, &sink, &mut seen).await;
    assert_eq!(to(&mail, "ana@example.com").len(), 1, "{mail:#?}");
    let to_ben = to(&mail, "ben@example.com");
    assert_eq!(to_ben.len(), 1, "{mail:#?}");
    assert!(to_ben[0].text().contains("resolved"));
    assert!(to_ben[0].text().contains(&kept_number));
}

/// An incident of `lead`'s report with `others` attached, declared by a new agent.
async fn incident_with(app: &TestApp, lead: &str, others: &[&str]) -> (String, reqwest::Client) {
    let file = |email: &str| report(email, "profiling_failure", "blocked", "no profile");
    let incident = app.file_report(file(lead)).await;
    let inc = incident["number"].as_str().unwrap().to_string();
    let (agent, _) = app.signed_in(Role::Agent).await;
    let declared = app
        .post_form_as(
            &agent,
            &format!("/tickets/{inc}/incident"),
            &[("action", "declare")],
        )
        .await;
    assert_eq!(declared.status(), 303);
    for email in others {
        let child = app.file_report(file(email)).await;
        let attach = [("action", "attach"), ("incident", inc.as_str())];
        let path = format!("/tickets/{}/incident", child["number"].as_str().unwrap());
        assert_eq!(app.post_form_as(&agent, &path, &attach).await.status(), 303);
    }
    (inc, agent)
}

/// The form answers with a redirect and a confirmation; the same update again (a
/// refresh, a double click) within 10 minutes is taken once, on the form and the API.
async fn an_incident_update_sent_twice_is_taken_once(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    let (inc, agent) = incident_with(
        &app,
        "lead@example.com",
        &["x@example.com", "y@example.com"],
    )
    .await;
    let mut seen = 0;
    new_mail(&app, &sink, &mut seen).await;
    let updates = "ticket_events WHERE kind = 'incident_update'";

    let form = [
        ("action", "update"),
        ("body", "Warehouse resized; reruns started."),
    ];
    let path = format!("/tickets/{inc}/incident");
    let first = app.post_form_as(&agent, &path, &form).await;
    assert_eq!(first.status(), 303);
    let location = first.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("/tickets/{inc}"));
    let page = app.page_as(&agent, &location).await;
    assert!(
        page.contains(&format!("Update to {inc} sent to 3 reporters.")),
        "{page}"
    );
    let events = app.count(updates);
    assert_eq!(events, 3, "on the incident and both reports");
    assert_eq!(new_mail(&app, &sink, &mut seen).await.len(), 3);

    let again = app.post_form_as(&agent, &path, &form).await;
    assert_eq!(again.status(), 303);
    let page = app.page_as(&agent, &location).await;
    assert!(page.contains("was already sent"), "{page}");
    assert_eq!(app.count(updates), events, "no second update");
    assert!(
        new_mail(&app, &sink, &mut seen).await.is_empty(),
        "no second email"
    );

    // The API: 201 with the update, then 200 with the same one and no email.
    let api_path = format!("/api/v1/incidents/{inc}/updates");
    let message = json!({"message": "Reruns finished; profiles are fresh again."});
    let (status, posted) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::POST,
        &api_path,
        Some(message.clone()),
    )
    .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["incident"], inc.as_str());
    assert_eq!(
        posted["message"],
        "Reruns finished; profiles are fresh again."
    );
    assert_eq!(posted["reporters_emailed"], 3);
    let mail = new_mail(&app, &sink, &mut seen).await;
    assert_eq!(mail.len(), 3);
    assert!(mail.iter().all(|m| m.text().contains("Reruns finished")));
    let (status, repeated) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::POST,
        &api_path,
        Some(message),
    )
    .await;
    assert_eq!(status, 200, "{repeated}");
    assert_eq!(repeated["id"], posted["id"]);
    assert_eq!(repeated["posted_at"], posted["posted_at"]);
    assert_eq!(repeated["reporters_emailed"], 0);
    assert!(
        new_mail(&app, &sink, &mut seen).await.is_empty(),
        "no second email"
    );
    assert_eq!(app.count(updates), events + 3);

    // Ten minutes on, the same words are news again.
    app.clock.advance(chrono::TimeDelta::minutes(11));
    let again = app.post_form_as(&agent, &path, &form).await;
    assert_eq!(again.status(), 303);
    assert_eq!(new_mail(&app, &sink, &mut seen).await.len(), 3);

    // Bad input answers the API's problem document.
    for (body, field) in [
        (json!({"message": "   "}), "body"),
        (json!({"text": "hello"}), ""),
    ] {
        let response = app
            .client
            .post(app.url(&api_path))
            .bearer_auth(app.token(&[Scope::Write]))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        if !field.is_empty() {
            assert!(problem["errors"][field].is_string(), "{problem}");
        }
    }
    let plain = app
        .file_report(report("z@example.com", "other", "minor", "hello"))
        .await;
    let (status, problem) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::POST,
        &format!(
            "/api/v1/incidents/{}/updates",
            plain["number"].as_str().unwrap()
        ),
        Some(json!({"message": "hello"})),
    )
    .await;
    assert_eq!(status, 422, "not an incident: {problem}");
}

/// The text/plain part of a message (quoted-printable soft breaks undone).
pub fn text_part(message: &Received) -> String {
    let raw = message.text();
    let start = raw
        .find("Content-Type: text/plain")
        .unwrap_or_else(|| panic!("no text part in {raw}"));
    let part = &raw[start..];
    let body_at = part
        .find("\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| part.find("\n\n").map(|i| i + 2))
        .unwrap();
    let body = &part[body_at..];
    // The part ends at the next MIME boundary ("--" and the boundary), not at the
    // signature separator ("-- ").
    let end = body
        .match_indices("\n--")
        .map(|(i, _)| i)
        .find(|i| {
            body[i + 3..]
                .chars()
                .next()
                .is_some_and(|c| !c.is_whitespace())
        })
        .unwrap_or(body.len());
    body[..end].trim_end_matches('\r').to_string()
}

/// Every kind of email a reporter gets, read from the SMTP server: the text part says
/// what happened in words for people (no ISO timestamp, no slug, team key or event kind),
/// carries the tracking link, names the team by its name, and says a reply by email
/// reaches the team (the email carries the ticket's reply address).
async fn reporter_emails_read_for_people(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    let mut seen = 0;
    let (inc, agent) = incident_with(&app, "lead@example.com", &["x@example.com"]).await;
    let ticket = app
        .file_report(
            json!({"reporter_email": "ana@example.com", "kind": "wrong_column_type",
            "warehouse_type": "bigquery", "table": "proj.core.users", "column": "zip",
            "detected_type": "integer", "expected_type": "postal_code", "impact": "degraded",
            "description": "zip is detected as integer but it is a postal code"}),
        )
        .await;
    let number = ticket["number"].as_str().unwrap().to_string();
    let duplicate = app
        .file_report(report(
            "ben@example.com",
            "wrong_column_type",
            "minor",
            "zip looks like a number",
        ))
        .await;
    let path = |n: &str| format!("/api/v1/tickets/{n}");
    let write = [Scope::Write];
    let (status, _) = api(
        &app,
        &write,
        reqwest::Method::POST,
        &format!("{}/comments", path(&number)),
        Some(json!({"body": "Which dashboard shows it?", "public": true})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = api(
        &app,
        &write,
        reqwest::Method::POST,
        &format!("{}/merge", path(duplicate["number"].as_str().unwrap())),
        Some(json!({"into": number})),
    )
    .await;
    assert_eq!(status, 200);
    for next in ["waiting_on_reporter", "in_progress", "resolved"] {
        let current: Value = app.api_json(&path(&number)).await;
        let (status, body) = api(
            &app,
            &write,
            reqwest::Method::PATCH,
            &path(&number),
            Some(json!({"status": next, "version": current["version"]})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let update = [
        ("action", "update"),
        ("body", "A fix for zip codes ships tonight."),
    ];
    let response = app
        .post_form_as(&agent, &format!("/tickets/{inc}/incident"), &update)
        .await;
    assert_eq!(response.status(), 303);

    let mail = new_mail(&app, &sink, &mut seen).await;
    let reporters = [
        "lead@example.com",
        "x@example.com",
        "ana@example.com",
        "ben@example.com",
    ];
    let to_reporters: Vec<&Received> = mail
        .iter()
        .filter(|m| reporters.contains(&m.header("To").unwrap_or_default().as_str()))
        .collect();
    // Confirmations (4), the reply, the merge, three status changes, the resolution to Ben,
    // the update to the lead and x.
    assert!(to_reporters.len() >= 11, "{}", to_reporters.len());
    for message in &to_reporters {
        let subject = message.header("Subject").unwrap_or_default();
        let text = text_part(message);
        crate::reader::assert_reads_for_people(&format!("the email '{subject}'"), &text);
        assert!(
            text.contains("/t/"),
            "the tracking link in '{subject}':\n{text}"
        );
        // Replies by email reach the ticket: the email says so and carries the ticket's
        // reply address.
        assert!(
            text.to_lowercase().contains("reply to this email"),
            "'{subject}' does not say email replies are welcome:\n{text}"
        );
        let reply_to = message.header("Reply-To").unwrap_or_default();
        assert!(
            reply_to.contains("desk+") && reply_to.contains("@inspect.example"),
            "'{subject}' has no reply address: {reply_to:?}"
        );
    }
    // The team's notices of new reports read for people too.
    let notices: Vec<&Received> = mail
        .iter()
        .filter(|m| !reporters.contains(&m.header("To").unwrap_or_default().as_str()))
        .collect();
    assert!(!notices.is_empty(), "the teams hear of new reports");
    for message in notices {
        let subject = message.header("Subject").unwrap_or_default();
        crate::reader::assert_reads_for_people(
            &format!("the agents' email '{subject}'"),
            &text_part(message),
        );
    }
    let confirmation = to_reporters
        .iter()
        .find(|m| {
            m.header("To").as_deref() == Some("ana@example.com")
                && m.header("Subject")
                    .unwrap_or_default()
                    .contains("Report received")
        })
        .expect("Ana's confirmation");
    let text = text_part(confirmation);
    assert!(
        text.contains("Semantic Types"),
        "the team by its name:\n{text}"
    );
    assert!(text.contains("proj.core.users"), "{text}");
    assert!(text.contains("Received: "), "{text}");
}
