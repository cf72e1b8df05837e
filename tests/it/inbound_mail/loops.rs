//! Mail that must not start a loop: auto-replies, mail for others, bounces, and a sender
//! over the per-minute limit.

use super::*;
use crate::on_both_backends;

on_both_backends!(
    auto_replies_and_mail_to_others_change_nothing,
    a_bounce_marks_the_message_and_holds_the_address,
    a_sender_over_the_limit_is_held,
);

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
