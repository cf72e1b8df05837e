//! What reporters receive, read back from a real SMTP server: the reporters of merged
//! tickets follow the ticket they were merged into, each address once.

use inspect_desk::domain::role::{Role, Scope};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::smtp::{Received, SmtpSink, free_port};
use crate::triage::{api, report};

on_both_backends!(merged_reporters_hear_every_later_update_and_the_resolution);

/// The app mailing through a real SMTP server on a free port (`None`: no server here).
pub async fn app_with_smtp(backend: Backend) -> Option<(TestApp, SmtpSink)> {
    let port = free_port();
    let sink = SmtpSink::start(port)?;
    let app = TestApp::spawn_with(backend, |s| {
        s.smtp_url = Some(inspect_desk::config::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )))
    })
    .await;
    Some((app, sink))
}

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
    assert!(response.status().is_success() || response.status() == 303);
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
