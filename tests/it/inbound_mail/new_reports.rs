//! Mail to the support address opens a report, through the webhook and through
//! `inspect-desk mail receive` as an MTA runs it.

use super::*;
use crate::on_both_backends;

on_both_backends!(mail_to_the_support_address_opens_a_report,);

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
