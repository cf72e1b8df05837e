//! Mail in, end to end: the desk's own mail goes out through a real SMTP server with a
//! reply address and a return path; replies, new reports, auto-replies, bounces and
//! strangers come back in through `POST /api/v1/inbound-mail` and `inspect-desk mail
//! receive`, and land where a helpdesk user expects.

use inspect_desk::db::models::event::Event;
use inspect_desk::domain::event::EventKind;
use inspect_desk::domain::role::{Role, Scope};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, desk_cli};
use crate::on_both_backends;
use crate::reporter_mail::{new_mail, to};
use crate::smtp::{Received, app_with_smtp};
use crate::triage::{api, report};

on_both_backends!(
    a_reply_to_the_confirmation_lands_once_as_the_reporters_reply,
    agents_strangers_and_failed_dmarc_are_told_apart,
    mail_to_the_support_address_opens_a_report,
    auto_replies_and_mail_to_others_change_nothing,
    a_bounce_marks_the_message_and_holds_the_address,
    a_sender_over_the_limit_is_held,
    files_by_email_are_attached_and_linked,
);

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

async fn a_reply_to_the_confirmation_lands_once_as_the_reporters_reply(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    let mut seen = 0;
    let (number, confirmation) = confirmed(&app, &sink, &mut seen, "ana@example.com").await;
    let reply_to = confirmation.header("Reply-To").expect("a Reply-To");
    let id = number.trim_start_matches("INS-");
    assert!(
        reply_to.contains(&format!("desk+{id}.")) && reply_to.contains("@inspect.example"),
        "{reply_to}"
    );
    let return_path = confirmation
        .header("X-MailFrom")
        .expect("the envelope sender");
    assert!(return_path.starts_with("desk+bounce."), "{return_path}");
    let address = reply_to
        .rsplit_once('<')
        .map_or(reply_to.as_str(), |(_, a)| a.trim_end_matches('>'));

    // By the reply address alone (no thread headers), as some clients send it.
    let raw = reply(
        "Ana Lima <ana@example.com>",
        address,
        "<unrelated@example.com>",
        "first-reply@example.com",
        "Still stale after the 09:00 run.",
    );
    let (status, body) = send(&app, &raw).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["outcome"], "reporter_reply");
    assert_eq!(body["ticket"], number.as_str());
    assert_eq!(
        of_kind(&timeline(&app, &number), EventKind::ReporterReply),
        ["Still stale after the 09:00 run."]
    );

    // The same message again (a retried webhook): taken once.
    let (status, body) = send(&app, &raw).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["repeat"], true);
    assert_eq!(
        of_kind(&timeline(&app, &number), EventKind::ReporterReply).len(),
        1
    );

    // By the thread: answering the confirmation's Message-ID, sent to the plain address.
    let message_id = confirmation.header("Message-ID").unwrap();
    let raw = reply(
        "ana@example.com",
        "desk@inspect.example",
        &message_id,
        "second-reply@example.com",
        "And the row count is 1 204.",
    );
    let (status, body) = send(&app, &raw).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (201, Some("reporter_reply"))
    );

    // By the subject tag alone.
    let raw = format!(
        "From: ana@example.com\nTo: desk@inspect.example\nSubject: Re: [{number}] Report received\nMessage-ID: <third@example.com>\n\nThird note.\n"
    );
    let (status, body) = send(&app, &raw).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (201, Some("reporter_reply"))
    );
    assert_eq!(
        of_kind(&timeline(&app, &number), EventKind::ReporterReply),
        [
            "Still stale after the 09:00 run.",
            "And the row count is 1 204.",
            "Third note."
        ]
    );

    // A forged reply address (another ticket's number under this signature) finds no
    // ticket: it is mail to the support address, so it opens a report instead.
    let forged = address.replace(&format!("+{id}."), "+999.");
    let raw = reply(
        "mallory@example.com",
        &forged,
        "<x@y>",
        "forged@example.com",
        "Hi",
    );
    let (_, body) = send(&app, &raw).await;
    assert_eq!(body["outcome"], "new_report");
    assert_ne!(body["ticket"], number.as_str());

    // The original message can be downloaded by an agent from the ticket's mail.
    let (client, _) = app.signed_in(Role::Agent).await;
    let page = app.page_as(&client, &format!("/tickets/{number}")).await;
    assert!(
        page.contains("by email"),
        "the ticket page names mail replies"
    );
}

async fn agents_strangers_and_failed_dmarc_are_told_apart(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    let mut seen = 0;
    let (number, confirmation) = confirmed(&app, &sink, &mut seen, "ben@example.com").await;
    let message_id = confirmation.header("Message-ID").unwrap();
    app.create_user(
        "agent.kim@inspect.example",
        Role::Agent,
        "a long password 123",
    );

    // An agent answering the thread: a public reply, which the reporter receives.
    let raw = reply(
        "Kim <Agent.Kim@inspect.example>",
        "desk@inspect.example",
        &message_id,
        "agent-1@inspect.example",
        "We re-ran the profile; it is fresh now.",
    );
    let (_, body) = send(&app, &raw).await;
    assert_eq!(body["outcome"], "agent_reply");
    let events = timeline(&app, &number);
    let comment = events
        .iter()
        .find(|e| e.kind == EventKind::Comment)
        .unwrap();
    assert_eq!(comment.detail, "We re-ran the profile; it is fresh now.");
    assert_eq!(comment.actor, "agent.kim@inspect.example");
    assert!(comment.public);
    let mail = new_mail(&app, &sink, &mut seen).await;
    let to_ben = to(&mail, "ben@example.com");
    assert_eq!(to_ben.len(), 1, "{mail:#?}");
    assert!(
        to_ben[0]
            .text()
            .contains("We re-ran the profile; it is fresh now.")
    );

    // A stranger: an internal note, marked, nothing sent to the reporter.
    let raw = reply(
        "Someone <someone@elsewhere.example>",
        "desk@inspect.example",
        &message_id,
        "stranger-1@elsewhere.example",
        "I have the same problem.",
    );
    let (_, body) = send(&app, &raw).await;
    assert_eq!(body["outcome"], "unverified");
    let notes = of_kind(&timeline(&app, &number), EventKind::UnverifiedMail);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].starts_with("From Someone <someone@elsewhere.example>"),
        "{}",
        notes[0]
    );
    assert!(
        notes[0].ends_with("I have the same problem."),
        "{}",
        notes[0]
    );
    assert!(new_mail(&app, &sink, &mut seen).await.is_empty());

    // An agent reads it on the ticket page, downloads the original, and publishes it.
    let (client, agent) = app.signed_in(Role::Agent).await;
    let page = app.page_as(&client, &format!("/tickets/{number}")).await;
    assert!(page.contains("Email from an unverified sender"), "labelled");
    let publish = page
        .split("action=\"")
        .map(|rest| rest.split('"').next().unwrap())
        .find(|action| action.ends_with("/publish"))
        .expect("a publish button")
        .to_string();
    let original = client
        .get(app.url(publish.trim_end_matches("/publish")))
        .send()
        .await
        .unwrap();
    assert_eq!(original.status(), 200);
    assert_eq!(original.headers()["content-type"], "message/rfc822");
    assert_eq!(original.headers()["x-content-type-options"], "nosniff");
    assert!(
        original
            .text()
            .await
            .unwrap()
            .contains("Message-ID: <stranger-1@elsewhere.example>")
    );
    let response = app.post_form_as(&client, &publish, &[]).await;
    assert_eq!(response.status(), 303);
    let page = app.page_as(&client, &format!("/tickets/{number}")).await;
    assert!(
        page.contains("The email was published as a reply"),
        "confirmed"
    );
    assert!(
        !page.contains("Publish as a reply to the reporter"),
        "published once"
    );
    let comments = of_kind(&timeline(&app, &number), EventKind::Comment);
    assert!(
        comments.iter().any(|c| c.starts_with(
            "Someone <someone@elsewhere.example> wrote by email:\n\nI have the same problem."
        )),
        "{comments:?}"
    );
    let mail = new_mail(&app, &sink, &mut seen).await;
    assert!(
        to(&mail, "ben@example.com")[0]
            .text()
            .contains("I have the same problem.")
    );
    let events = timeline(&app, &number);
    assert_eq!(
        events
            .iter()
            .rev()
            .find(|e| e.kind == EventKind::Comment)
            .unwrap()
            .actor,
        agent
    );
    // Publishing again changes nothing and says why.
    let response = app.post_form_as(&client, &publish, &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        of_kind(&timeline(&app, &number), EventKind::Comment).len(),
        comments.len()
    );

    // The reporter's own address, but DMARC failed at the receiving MTA: unverified too.
    let raw = format!(
        "Authentication-Results: mx.inspect.example; dmarc=fail (p=reject) header.from=example.com\n{}",
        reply(
            "ben@example.com",
            "desk@inspect.example",
            &message_id,
            "spoofed-1@example.com",
            "Please close this ticket.",
        )
    );
    let (_, body) = send(&app, &raw).await;
    assert_eq!(body["outcome"], "unverified");
    assert!(of_kind(&timeline(&app, &number), EventKind::ReporterReply).is_empty());

    // The tracking page never shows internal notes.
    let token = confirmation
        .text()
        .split("/t/")
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
        })
        .unwrap();
    let page = app.get(&format!("/t/{token}")).await.text().await.unwrap();
    assert!(
        !page.contains("Please close this ticket."),
        "an unverified note stays internal"
    );
    assert!(
        page.contains("I have the same problem."),
        "a published one is a reply"
    );
    assert!(page.contains("We re-ran the profile"));
}

async fn mail_to_the_support_address_opens_a_report(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    let raw = std::fs::read_to_string(
        crate::helpers::manifest_dir().join("tests/fixtures/mail/forwarded-as-attachment.eml"),
    )
    .unwrap();
    let (status, body) = send(&app, &raw.replace("\r\n", "\n")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["outcome"], "new_report");
    let number = body["ticket"].as_str().unwrap().to_string();
    let ticket: Value = app.api_json(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(ticket["status"], "new");
    assert!(!ticket["team"].as_str().unwrap().is_empty(), "routed");
    let mut conn = app.desk.pool.get().unwrap();
    let stored = inspect_desk::db::models::ticket::Ticket::find(
        &mut conn,
        number.trim_start_matches("INS-").parse().unwrap(),
    )
    .unwrap();
    assert_eq!(stored.reporter_email, "eve@example.com");
    assert_eq!(stored.reporter_name.as_deref(), Some("Eve Park"));
    assert_eq!(
        stored.description,
        "Fwd: nightly profile of warehouse.events failed\n\nThe scheduler sent this; the profile of warehouse.events has failed since Saturday."
    );
    assert_eq!(
        app.count("attachments"),
        1,
        "the forwarded message is kept as a file"
    );
    drop(conn);
    let mut seen = 0;
    let mail = new_mail(&app, &sink, &mut seen).await;
    let confirmation = to(&mail, "eve@example.com");
    assert_eq!(confirmation.len(), 1, "the usual confirmation: {mail:#?}");
    assert!(confirmation[0].header("Subject").unwrap().contains(&number));
}

async fn auto_replies_and_mail_to_others_change_nothing(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    let mut seen = 0;
    let (number, confirmation) = confirmed(&app, &sink, &mut seen, "cleo@example.com").await;
    let message_id = confirmation.header("Message-ID").unwrap();
    let tickets = app.count("tickets");
    let raw = format!(
        "Auto-Submitted: auto-replied\nX-Autoreply: yes\n{}",
        reply(
            "cleo@example.com",
            "desk@inspect.example",
            &message_id,
            "ooo-1@example.com",
            "I am out of the office until Monday.",
        )
    );
    let (_, body) = send(&app, &raw).await;
    assert_eq!(body["outcome"], "auto_reply");
    let events = timeline(&app, &number);
    assert!(of_kind(&events, EventKind::ReporterReply).is_empty());
    assert_eq!(of_kind(&events, EventKind::MailReceived).len(), 1);
    // Never answered: nothing more goes out.
    assert!(new_mail(&app, &sink, &mut seen).await.is_empty());

    // An auto-reply to the support address opens no report either.
    let raw = "From: robot@example.com\nTo: desk@inspect.example\nPrecedence: bulk\nSubject: Newsletter\nMessage-ID: <news-1@example.com>\n\nNews.\n";
    let (_, body) = send(&app, raw).await;
    assert_eq!(body["outcome"], "auto_reply");
    // Mail that reached the desk addressed to someone else matches nothing.
    let raw = "From: dan@example.com\nTo: someone@other.example\nSubject: Hello\nMessage-ID: <hello-1@example.com>\n\nHi.\n";
    let (_, body) = send(&app, raw).await;
    assert_eq!(body["outcome"], "unmatched");
    assert_eq!(app.count("tickets"), tickets);
    assert_eq!(app.count("inbound_mail"), 3, "every message is kept");

    // Not a message at all.
    let (status, body) = send(&app, "this is not an email").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(app.count("inbound_mail"), 3);
}

async fn a_bounce_marks_the_message_and_holds_the_address(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    let mut seen = 0;
    let (number, confirmation) = confirmed(&app, &sink, &mut seen, "gone@example.com").await;
    let return_path = confirmation.header("X-MailFrom").unwrap();
    let dsn = format!(
        "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\nTo: {return_path}\nSubject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\nMessage-ID: <dsn-1@mx.example.com>\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nThe mail system could not deliver your message.\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; gone@example.com\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <gone@example.com>: User unknown\n\n--B--\n"
    );
    let (status, body) = send(&app, &dsn).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["outcome"], "bounce");
    assert_eq!(body["ticket"], number.as_str());
    assert_eq!(
        of_kind(&timeline(&app, &number), EventKind::EmailBounced),
        [
            "Email to gone@example.com bounced: 550 5.1.1 <gone@example.com>: User unknown. No more email goes to this address until an agent clears it on this page."
        ]
    );
    assert_eq!(app.count("outbox WHERE bounced_at IS NOT NULL"), 1);

    // The next message to that address is not sent.
    let (status, _) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{number}/comments"),
        Some(json!({"body": "Which table?", "public": true})),
    )
    .await;
    assert_eq!(status, 201);
    let report = app.deliver().await;
    assert_eq!((report.sent, report.dead), (0, 1));
    assert!(sink.received().len() == seen, "nothing reached the server");

    // The ticket page says so, and an agent lets mail go to the address again.
    let (client, _) = app.signed_in(Role::Agent).await;
    let page = app.page_as(&client, &format!("/tickets/{number}")).await;
    assert!(
        page.contains("Email to gone@example.com bounced"),
        "the hold is shown"
    );
    let response = app
        .post_form_as(
            &client,
            &format!("/tickets/{number}/mail-hold"),
            &[("address", "gone@example.com")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let page = app.page_as(&client, &format!("/tickets/{number}")).await;
    assert!(page.contains("Email to gone@example.com will go out again."));
    assert_eq!(app.count("mail_suppressions"), 0);
    let (status, _) = api(
        &app,
        &[Scope::Write],
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{number}/comments"),
        Some(json!({"body": "Is the address fixed?", "public": true})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(app.deliver().await.sent, 1);

    // A delivery report about no message of ours changes nothing.
    let stray = dsn
        .replace(&return_path, "desk@inspect.example")
        .replace("dsn-1@", "dsn-2@");
    let (_, body) = send(&app, &stray).await;
    assert_eq!(body["outcome"], "unmatched_bounce");

    // The admin's page lists what came in, in words.
    let (admin, _) = app.signed_in(Role::Admin).await;
    let page = app.page_as(&admin, "/admin/mail").await;
    assert!(page.contains("Recorded a bounce"), "{page}");
    assert!(page.contains("Ignored: a delivery report for no mail of ours"));
    assert!(
        page.contains("None: every address gets its mail."),
        "the hold was cleared"
    );
}

async fn a_sender_over_the_limit_is_held(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.mail_per_sender_per_minute = 2).await;
    let mut outcomes = Vec::new();
    for i in 0..3 {
        let raw = format!(
            "From: flood@example.com\nTo: desk@inspect.example\nSubject: Report {i}\nMessage-ID: <flood-{i}@example.com>\n\nThe profile of sales.orders is stale ({i}).\n"
        );
        let (_, body) = send(&app, &raw).await;
        outcomes.push(body["outcome"].as_str().unwrap().to_string());
    }
    assert_eq!(outcomes, ["new_report", "new_report", "throttled"]);
    assert_eq!(app.count("tickets"), 2);
    assert_eq!(app.count("inbound_mail"), 3, "the held message is kept");
}

/// `inspect-desk mail receive` as an MTA runs it: the exit status is what the MTA acts on.
#[test]
fn mail_receive_answers_the_mta_with_sysexits_statuses() {
    use std::io::Write;
    use std::process::Stdio;
    let db = crate::helpers::TestDb::new(&Backend::Sqlite);
    let run = |url: &str, input: &[u8]| {
        let mut child = desk_cli(url)
            .env("DESK_DATA_DIR", db.dir())
            .args(["mail", "receive"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let message = b"From: Fay <fay@example.com>\r\nTo: desk@inspect.example\r\nSubject: Stale profile\r\nMessage-ID: <fay-1@example.com>\r\n\r\nThe profile of sales.orders is a week old.\r\n";
    let (code, out, err) = run(&db.url, message);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("Opened a new report: INS-"), "{out}");
    let (code, out, _) = run(&db.url, message);
    assert_eq!(code, Some(0));
    assert!(out.contains("taken before"), "{out}");

    let (code, _, err) = run(&db.url, b"\x00\x01 not mail");
    assert_eq!(code, Some(65), "{err}");
    assert!(err.contains("not an email message"), "{err}");

    // The database unreachable: 75, so the MTA keeps the message and tries again.
    let (code, _, err) = run("postgres://nobody@127.0.0.1:1/none", message);
    assert_eq!(code, Some(75), "{err}");
    assert!(err.contains("try again later"), "{err}");
}

/// A message with a file, as a mail client sends it.
fn with_file(from: &str, in_reply_to: &str, id: &str, text: &str, filename: &str) -> String {
    format!(
        "From: {from}\nTo: desk@inspect.example\nSubject: Re: your report\nMessage-ID: <{id}>\nIn-Reply-To: {in_reply_to}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"F\"\n\n--F\nContent-Type: text/plain; charset=utf-8\n\n{text}\n--F\nContent-Type: application/octet-stream; name=\"{filename}\"\nContent-Disposition: attachment; filename=\"{filename}\"\nContent-Transfer-Encoding: base64\n\nc2VsZWN0IGNvdW50KCopIGZyb20gc2FsZXMub3JkZXJzOwo=\n--F--\n"
    )
}

async fn files_by_email_are_attached_and_linked(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    let mut seen = 0;
    let (number, confirmation) = confirmed(&app, &sink, &mut seen, "hana@example.com").await;
    let message_id = confirmation.header("Message-ID").unwrap();

    // The reporter's file: public, its type read from its bytes.
    let raw = with_file(
        "hana@example.com",
        &message_id,
        "hana-1@example.com",
        "The query I ran.",
        "query.sql",
    );
    let (_, body) = send(&app, &raw).await;
    assert_eq!(body["outcome"], "reporter_reply");
    let ticket: Value = app.api_json(&format!("/api/v1/tickets/{number}")).await;
    let files = ticket["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{ticket}");
    assert_eq!(files[0]["filename"], "query.sql");
    assert_eq!(files[0]["content_type"], "text/plain");

    // An agent's file goes with their reply, and the reporter's email links it.
    app.create_user("lee@inspect.example", Role::Agent, "a long password 123");
    let raw = with_file(
        "lee@inspect.example",
        &message_id,
        "lee-1@inspect.example",
        "Here is the fixed query.",
        "fixed.sql",
    );
    let (_, body) = send(&app, &raw).await;
    assert_eq!(body["outcome"], "agent_reply");
    let mail = new_mail(&app, &sink, &mut seen).await;
    let to_hana = to(&mail, "hana@example.com");
    assert_eq!(to_hana.len(), 1, "{mail:#?}");
    assert!(
        to_hana[0].text().contains("fixed.sql"),
        "{}",
        to_hana[0].text()
    );
    assert!(
        to_hana[0].text().contains("/attachments/"),
        "a link, not the file"
    );
    assert_eq!(app.count("attachments WHERE public"), 2);
}
