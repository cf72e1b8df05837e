//! Mail in, end to end: the desk's own mail goes out through a real SMTP server with a
//! reply address and a return path; replies, new reports, auto-replies, bounces and
//! strangers come back in through `POST /api/v1/inbound-mail` and `inspect-desk mail
//! receive`, and land where a helpdesk user expects.

use inspect_desk::db::models::event::Event;
use inspect_desk::domain::event::EventKind;
use inspect_desk::domain::role::{Role, Scope};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, desk_cli};
use crate::reporter_mail::{new_mail, to};
use crate::smtp::{Received, app_with_smtp};
use crate::triage::{api, report};

mod loops;
mod new_reports;
mod replies;

/// POST one raw message as an inbound-mail webhook would.
pub async fn send(app: &TestApp, raw: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/api/v1/inbound-mail"))
        .bearer_auth(app.token(&[Scope::Ingest]))
        .header("Content-Type", "message/rfc822")
        .body(raw.replace('\n', "\r\n"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A ticket's timeline, internal entries included.
fn timeline(app: &TestApp, number: &str) -> Vec<Event> {
    let id: i64 = number.trim_start_matches("INS-").parse().unwrap();
    let mut conn = app.desk.pool.get().unwrap();
    Event::for_ticket(&mut conn, id, false).unwrap()
}

fn of_kind(events: &[Event], kind: EventKind) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.detail.clone())
        .collect()
}

/// A reply as a mail client writes it, answering `to_message`.
fn reply(from: &str, to_address: &str, in_reply_to: &str, id: &str, text: &str) -> String {
    format!(
        "From: {from}\nTo: {to_address}\nSubject: Re: your report\nMessage-ID: <{id}>\nIn-Reply-To: {in_reply_to}\nReferences: {in_reply_to}\nDate: Mon, 7 Dec 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{text}\n\nOn Mon, 7 Dec 2026 at 09:28, inspect-desk <desk@inspect.example> wrote:\n> Your report was received.\n"
    )
}

/// File a report and read its confirmation back from the SMTP server.
async fn confirmed(
    app: &TestApp,
    sink: &crate::smtp::SmtpSink,
    seen: &mut usize,
    email: &str,
) -> (String, Received) {
    let ticket = app
        .file_report(report(
            email,
            "stale_profile",
            "minor",
            "The profile is stale",
        ))
        .await;
    let number = ticket["number"].as_str().unwrap().to_string();
    let mail = new_mail(app, sink, seen).await;
    let confirmation = to(&mail, email).pop().expect("a confirmation");
    (number, confirmation)
}
