//! SLA escalation end to end against a real SMTP server: reminder → breach → acknowledge;
//! SMTP down then up; two instances sweeping one database.

use chrono::TimeDelta;
use inspect_desk::domain::role::Scope;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, hidden_field};
use crate::on_both_backends;
use crate::smtp::{Received, SmtpSink, free_port};

on_both_backends!(
    escalation_walks_the_chain_over_real_smtp,
    smtp_down_then_up_delivers_each_message_once,
    two_instances_sweep_one_database
);

/// A sev3 failed-report ticket for team `reports`: first response in 8 hours.
fn report() -> Value {
    json!({"reporter_email": "ana@example.com", "kind": "failed_report", "impact": "degraded",
           "warehouse_type": "postgres", "table": "public.orders", "description": "Report generation failed (R-502)"})
}

async fn escalation_walks_the_chain_over_real_smtp(backend: Backend) {
    let port = free_port();
    let Some(sink) = SmtpSink::start(port) else {
        return;
    };
    let app = TestApp::spawn_with(backend, |s| {
        s.smtp_url = Some(inspect_desk::config::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )))
    })
    .await;
    let ticket = app.file_report(report()).await;
    let number = ticket["number"].as_str().unwrap().to_string();
    assert_eq!(app.sweep().await.steps, 0, "sev3: nothing at creation");
    assert_eq!(
        app.deliver().await.sent,
        2,
        "the confirmation and the team queue's notice"
    );
    let root = confirmation_and_notice_thread_on_the_ticket(&sink);

    reminder_reaches_the_queue_in_the_thread(&app, &sink, &root).await;
    let breach = breach_reaches_the_lead(&app, &sink).await;
    acknowledge_link_works_once(&app, &breach).await;

    // Acknowledged: the manager step an hour later does not fire.
    app.clock
        .advance(TimeDelta::hours(1) + TimeDelta::minutes(5));
    assert_eq!(app.sweep().await.steps, 0);
    let version = acknowledged_after_reminder_and_breach(&app, &number).await;
    // A change to the ticket re-arms escalation: the manager step fires now.
    let write = app.token(&[Scope::Write]);
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/tickets/{number}")))
        .bearer_auth(write)
        .json(&json!({"assignee": "none", "team": "support", "version": version}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let swept = app.sweep().await;
    assert_eq!(swept.steps, 1, "{:?}", swept.lines);
    assert!(
        swept.lines[0].contains("first-response-manager"),
        "{:?}",
        swept.lines
    );
}

/// The reporter's confirmation and the team queue's notice, the notice threaded on the
/// confirmation. Returns the thread's root Message-ID.
fn confirmation_and_notice_thread_on_the_ticket(sink: &SmtpSink) -> String {
    let first_two = sink.wait_for(2);
    let confirmation = first_two
        .iter()
        .find(|m| m.header("To").as_deref() == Some("ana@example.com"))
        .expect("confirmation")
        .clone();
    let notice = first_two
        .iter()
        .find(|m| m.header("To").as_deref() == Some("inspector-reports@inspect.example"))
        .expect("team notice");
    assert_eq!(
        notice.header("In-Reply-To"),
        confirmation.header("Message-ID"),
        "threaded on the ticket"
    );
    let root = confirmation.header("Message-ID").expect("Message-ID");
    assert_eq!(
        confirmation.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    assert_eq!(
        confirmation.header("To").as_deref(),
        Some("ana@example.com")
    );
    root
}

/// 75% of the way to first response (6 of 8 hours): one reminder, once, to the team
/// queue, threaded on the ticket.
async fn reminder_reaches_the_queue_in_the_thread(app: &TestApp, sink: &SmtpSink, root: &str) {
    app.clock
        .advance(TimeDelta::hours(6) + TimeDelta::minutes(5));
    let swept = app.sweep().await;
    assert_eq!((swept.steps, swept.emails), (1, 1), "{:?}", swept.lines);
    assert_eq!(app.sweep().await.steps, 0, "each step once");
    app.deliver().await;
    let reminder = sink.wait_for(3).remove(2);
    assert_eq!(
        reminder.header("To").as_deref(),
        Some("inspector-reports@inspect.example")
    );
    assert!(reminder.header("Subject").unwrap().contains("Escalation"));
    assert_eq!(
        reminder.header("In-Reply-To").as_deref(),
        Some(root),
        "threaded on the ticket"
    );
    assert_eq!(reminder.header("References").as_deref(), Some(root));
    assert_ne!(reminder.header("Message-ID").as_deref(), Some(root));
}

/// Breach, two hours later: the team lead. Returns the breach email.
async fn breach_reaches_the_lead(app: &TestApp, sink: &SmtpSink) -> Received {
    app.clock.advance(TimeDelta::hours(2));
    assert_eq!(app.sweep().await.steps, 1);
    app.deliver().await;
    let breach = sink.wait_for(4).remove(3);
    assert_eq!(
        breach.header("To").as_deref(),
        Some("lucia.ferreira@inspect.example")
    );
    breach
}

/// The acknowledge link in the breach email works once; a forged one is refused.
async fn acknowledge_link_works_once(app: &TestApp, breach: &Received) {
    let text = breach.text();
    let start = text
        .find(&format!("{}/ack/", app.address))
        .expect("ack link in the email");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '<' && *c != '"')
        .collect();
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csrf = hidden_field(&page.text().await.unwrap(), "csrf_token");
    let confirm = app
        .client
        .post(&link)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 303);
    let again = app
        .client
        .post(&link)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 303);
    let page = app.client.get(&link).send().await.unwrap();
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("was already acknowledged; nothing changed."),
        "the link works once"
    );
    let forged = link.replace(".", ".0");
    assert_eq!(app.client.get(&forged).send().await.unwrap().status(), 403);
}

/// The API shows the two steps that fired, the breach acknowledged, the SLA breached.
/// Returns the ticket's version.
async fn acknowledged_after_reminder_and_breach(app: &TestApp, number: &str) -> Value {
    let token = app.token(&[Scope::Read]);
    let json: Value = app
        .client
        .get(app.url(&format!("/api/v1/tickets/{number}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let steps: Vec<&str> = json["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["first-response-reminder", "first-response-breach"]);
    assert_eq!(json["escalations"][1]["acknowledged"], true);
    assert_eq!(json["sla"]["state"], "breached");
    json["version"].clone()
}

async fn smtp_down_then_up_delivers_each_message_once(backend: Backend) {
    let port = free_port();
    let app = TestApp::spawn_with(backend, |s| {
        s.smtp_url = Some(inspect_desk::config::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )))
    })
    .await;
    for _ in 0..3 {
        app.file_report(report()).await;
    }
    let down = app.deliver().await;
    assert_eq!(
        (down.sent, down.failed),
        (0, 6),
        "SMTP is down (3 confirmations, 3 team notices)"
    );
    let Some(sink) = SmtpSink::start(port) else {
        return;
    };
    assert_eq!(
        app.deliver().await.sent,
        0,
        "retries wait for their backoff"
    );
    app.clock.advance(TimeDelta::seconds(31));
    assert_eq!(app.deliver().await.sent, 6);
    assert_eq!(app.deliver().await.sent, 0, "nothing twice");
    let received = sink.wait_for(6);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(sink.received().len(), 6);
    let mut ids: Vec<String> = received
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "one Message-ID per message");
    assert_eq!(
        app.count("ticket_events WHERE kind = 'email_failed'"),
        6,
        "failures on the timelines"
    );
}

async fn two_instances_sweep_one_database(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut numbers = Vec::new();
    for _ in 0..8 {
        numbers.push(app.file_report(report()).await);
    }
    // A second instance: its own pool on the same database, the same (moved) clock.
    let mut settings = app.settings.clone();
    settings.pool_size = 4;
    let other = inspect_desk::startup::build_desk(&settings, app.clock.clone(), None)
        .expect("second instance");
    app.clock
        .advance(TimeDelta::hours(8) + TimeDelta::minutes(5));
    let (a, b) = (app.desk.clone(), std::sync::Arc::new(other));
    let first = std::thread::spawn(move || {
        inspect_desk::services::escalation::sweep(&a, a.clock.now()).unwrap()
    });
    let second = std::thread::spawn(move || {
        inspect_desk::services::escalation::sweep(&b, b.clock.now()).unwrap()
    });
    let (r1, r2) = (first.join().unwrap(), second.join().unwrap());
    // Each ticket: the reminder (75%) and the breach fire once, whichever instance did it.
    assert_eq!(r1.steps + r2.steps, 16, "{:?} {:?}", r1.lines, r2.lines);
    assert_eq!(app.count("ticket_escalations"), 16);
    assert_eq!(
        app.count("outbox WHERE template = 'escalation'"),
        16,
        "each step's email exactly once"
    );
}
