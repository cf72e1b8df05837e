//! Replies by email: the reporter's reply lands once on its ticket; agents, strangers
//! and failed DMARC are told apart; files that come with a reply are attached and linked.

use super::*;
use crate::on_both_backends;

on_both_backends!(
    a_reply_to_the_confirmation_lands_once_as_the_reporters_reply,
    agents_strangers_and_failed_dmarc_are_told_apart,
    files_by_email_are_attached_and_linked,
);

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
