//! Reading a mailbox over IMAP, against a real Dovecot started by the test: a pass takes
//! every waiting message once and moves it to the done folder; two desks polling at once
//! take each message once; without MOVE the desk copies, flags and expunges; a message
//! the database could not take stays for the next pass; the server polls on its own.
//!
//! The desk reads the test's Dovecot over plain `imap://` on loopback; `imaps://` (the
//! way a hosted mailbox is read) is exercised by a server whose certificate the desk
//! cannot verify, which it must refuse.

use std::process::{Output, Stdio};
use std::time::Duration;

use inspect_desk::config::Secret;
use inspect_desk::email::imap::Mailbox;

use crate::helpers::{Backend, TestApp, desk_cli};
use crate::mail_servers::{
    DovecotOptions, IMAP_PASSWORD, PrivateDovecot, new_report_mail, self_signed_certificate,
};
use crate::on_both_backends;

on_both_backends!(
    a_pass_takes_each_waiting_message_and_moves_it,
    two_desks_polling_at_once_take_each_message_once,
    without_move_the_desk_copies_flags_and_expunges,
);

/// The address the desk's reports go to by default (the address of `mail_from`).
const SUPPORT: &str = "desk@inspect.example";

/// `inspect-desk mail poll` on the app's database, reading `url`.
fn poll_command(app: &TestApp, url: &str) -> std::process::Command {
    let mut command = desk_cli(&app.settings.database_url);
    command
        .args(["mail", "poll"])
        .env("DESK_IMAP_URL", url)
        .env("DESK_DATA_DIR", &app.settings.data_dir);
    command
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The Message-ID header of a raw message.
fn message_id(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .expect("a Message-ID")
        .trim()
        .to_string()
}

fn ids(messages: &[Vec<u8>]) -> Vec<String> {
    let mut ids: Vec<String> = messages.iter().map(|m| message_id(m)).collect();
    ids.sort();
    ids
}

async fn a_pass_takes_each_waiting_message_and_moves_it(backend: Backend) {
    let Some(dovecot) = PrivateDovecot::start() else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    let reports: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            new_report_mail(
                &format!("analyst{i}@example.com"),
                SUPPORT,
                &format!("Profile of table orders_{i} is stale"),
            )
        })
        .collect();
    dovecot.append("INBOX", &reports).await;
    // Not a message the desk can take (no sender): it will never parse, so it is moved
    // out of the way too.
    let no_sender = b"Subject: printer test\r\nMessage-ID: <junk-1@example.com>\r\n\r\nhello\r\n";
    dovecot.append("INBOX", &[no_sender.to_vec()]).await;

    let out = poll_command(&app, &dovecot.url("INBOX")).output().unwrap();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("imap://127.0.0.1:")
            && said.contains(
                "3 taken, 0 taken before, 0 taken by another desk, 1 not a message, 0 left"
            ),
        "{said}"
    );
    assert!(
        said.contains(
            "UID 4: not a message (This is not an email message: the message has no From address.)"
        ),
        "{said}"
    );
    assert_eq!(
        said.matches("Opened a new report (INS-").count(),
        3,
        "{said}"
    );
    assert!(
        !said.contains(IMAP_PASSWORD),
        "the password is never printed: {said}"
    );
    assert_eq!(app.count("inbound_mail"), 3);
    assert_eq!(app.count("tickets"), 3);
    assert!(dovecot.messages("INBOX").await.is_empty());
    let mut all = reports.clone();
    all.push(no_sender.to_vec());
    assert_eq!(ids(&dovecot.messages("Processed").await), ids(&all));

    // Nothing waits: a second pass takes nothing and changes nothing.
    let out = poll_command(&app, &dovecot.url("INBOX")).output().unwrap();
    let said = text(&out);
    assert!(out.status.success() && said.contains("0 taken"), "{said}");
    assert_eq!(app.count("inbound_mail"), 3);
    assert_eq!(dovecot.messages("Processed").await.len(), 4);

    // A message put back moments after it was taken looks like another desk taking it
    // at the same time: left for that desk to move.
    dovecot.append("INBOX", &reports[..1]).await;
    let out = poll_command(&app, &dovecot.url("INBOX")).output().unwrap();
    let said = text(&out);
    assert!(
        out.status.success() && said.contains("0 taken, 0 taken before, 1 taken by another desk"),
        "{said}"
    );
    assert!(
        said.contains("UID 5: taken moments ago by another desk (INS-"),
        "{said}"
    );
    assert_eq!(dovecot.messages("INBOX").await.len(), 1);

    // Minutes later no other desk is moving it: it is taken as a repeat (no second
    // ticket) and moved.
    app.clock.advance(chrono::TimeDelta::minutes(3));
    let mailbox = Mailbox::from_settings(&inspect_desk::config::Settings {
        imap_url: Some(Secret::new(dovecot.url("INBOX"))),
        ..app.settings.clone()
    })
    .unwrap()
    .unwrap();
    let pass = inspect_desk::services::imap_poll::poll(&app.desk, &mailbox)
        .await
        .unwrap();
    assert_eq!((pass.taken(), pass.repeats()), (0, 1), "{pass:?}");
    assert_eq!(app.count("tickets"), 3);
    assert!(dovecot.messages("INBOX").await.is_empty());
    assert_eq!(dovecot.messages("Processed").await.len(), 5);
}

async fn two_desks_polling_at_once_take_each_message_once(backend: Backend) {
    let Some(dovecot) = PrivateDovecot::start() else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    let reports: Vec<Vec<u8>> = (0..24)
        .map(|i| {
            new_report_mail(
                &format!("analyst{i}@example.com"),
                SUPPORT,
                &format!("Report {i}: the profile run failed"),
            )
        })
        .collect();
    dovecot.append("INBOX", &reports).await;

    let url = dovecot.url("INBOX");
    let desks: Vec<_> = (0..2)
        .map(|_| {
            poll_command(&app, &url)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = desks
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();
    let said: Vec<String> = outputs.iter().map(text).collect();
    for (out, said) in outputs.iter().zip(&said) {
        assert!(out.status.success(), "{said}");
    }
    let first_takes: usize = said
        .iter()
        .map(|s| s.matches("Opened a new report").count())
        .sum();
    assert_eq!(
        first_takes, 24,
        "each message is a new report once: {said:?}"
    );
    assert_eq!(app.count("inbound_mail"), 24);
    assert_eq!(app.count("tickets"), 24);
    assert!(dovecot.messages("INBOX").await.is_empty(), "{said:?}");
    // Each moved once: no message twice in the done folder.
    assert_eq!(ids(&dovecot.messages("Processed").await), ids(&reports));
}

async fn without_move_the_desk_copies_flags_and_expunges(backend: Backend) {
    // Two servers: one without MOVE (COPY, \Deleted, UID EXPUNGE), one without MOVE and
    // without UIDPLUS (COPY, \Deleted, EXPUNGE).
    for capabilities in [
        "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS",
        "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE",
    ] {
        let Some(dovecot) = PrivateDovecot::start_with(DovecotOptions {
            capabilities: Some(capabilities),
            ..DovecotOptions::default()
        }) else {
            return;
        };
        let app = TestApp::spawn(backend.clone()).await;
        let reports: Vec<Vec<u8>> = (0..2)
            .map(|i| {
                new_report_mail(
                    &format!("ana{i}@example.com"),
                    SUPPORT,
                    "Wrong type on column zip",
                )
            })
            .collect();
        dovecot.append("INBOX", &reports).await;
        // Done folder of another name, created by the desk.
        let out = poll_command(&app, &dovecot.url("INBOX"))
            .env("DESK_IMAP_DONE_FOLDER", "Desk/Taken")
            .output()
            .unwrap();
        let said = text(&out);
        assert!(out.status.success(), "{capabilities}: {said}");
        assert!(said.contains("2 taken"), "{said}");
        assert_eq!(app.count("tickets"), 2);
        assert!(dovecot.messages("INBOX").await.is_empty(), "{said}");
        assert_eq!(ids(&dovecot.messages("Desk/Taken").await), ids(&reports));
        // Dovecot's sign-out line counts messages flagged \Deleted and expunged: a MOVE
        // would flag none.
        let log = dovecot.log();
        assert!(
            log.contains("deleted=2 expunged=2"),
            "{capabilities}: the desk did not copy, flag and expunge:\n{log}"
        );
    }
}

/// On a private PostgreSQL (stopped while the message waits): receive fails for a
/// temporary reason, the message stays in the inbox, and the next pass takes it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_database_could_not_take_stays_for_the_next_pass() {
    let Some(dovecot) = PrivateDovecot::start() else {
        return;
    };
    let Some(pg) = tokio::task::spawn_blocking(crate::private_pg::PrivatePostgres::start)
        .await
        .unwrap()
    else {
        return;
    };
    let app = TestApp::spawn_with(Backend::Postgres(pg.url()), |s| s.pool_size = 2).await;
    let report = new_report_mail("ana@example.com", SUPPORT, "Profile stale since Monday");
    dovecot.append("INBOX", std::slice::from_ref(&report)).await;
    let mailbox = Mailbox::from_settings(&inspect_desk::config::Settings {
        imap_url: Some(Secret::new(dovecot.url("INBOX"))),
        ..app.settings.clone()
    })
    .unwrap()
    .unwrap();

    pg.stop_immediately();
    let report_while_down = inspect_desk::services::imap_poll::poll(&app.desk, &mailbox)
        .await
        .expect("the mailbox is readable");
    assert_eq!(report_while_down.left(), 1, "{report_while_down:?}");
    assert_eq!(report_while_down.taken(), 0);
    assert_eq!(dovecot.messages("INBOX").await.len(), 1, "it stays");
    assert!(dovecot.messages("Processed").await.is_empty());

    pg.start_server();
    // The pool finds its connections broken and opens new ones.
    let mut taken = None;
    for _ in 0..20 {
        let report = inspect_desk::services::imap_poll::poll(&app.desk, &mailbox)
            .await
            .expect("the mailbox is readable");
        if report.taken() == 1 {
            taken = Some(report);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(taken.is_some(), "taken once the database is back");
    assert_eq!(app.count("inbound_mail"), 1);
    assert_eq!(app.count("tickets"), 1);
    assert!(dovecot.messages("INBOX").await.is_empty());
    assert_eq!(dovecot.messages("Processed").await.len(), 1);
}

/// The server reads the mailbox by itself every DESK_IMAP_POLL_SECONDS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_reads_the_mailbox_on_its_own() {
    let Some(dovecot) = PrivateDovecot::start() else {
        return;
    };
    let url = dovecot.url("INBOX");
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.background_jobs = true;
        s.imap_url = Some(Secret::new(url));
        s.imap_poll_seconds = 1;
    })
    .await;
    let report = new_report_mail("ben@example.com", SUPPORT, "Lineage missing for orders");
    dovecot.append("INBOX", std::slice::from_ref(&report)).await;
    let mut waited = Duration::ZERO;
    while app.count("tickets") == 0 {
        assert!(
            waited < Duration::from_secs(30),
            "the server did not read the mailbox"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        waited += Duration::from_millis(200);
    }
    assert_eq!(app.count("inbound_mail"), 1);
    // The move follows the receive in the same pass.
    let mut moved = dovecot.messages("Processed").await;
    while moved.is_empty() && waited < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        waited += Duration::from_millis(200);
        moved = dovecot.messages("Processed").await;
    }
    assert_eq!(ids(&moved), ids(&[report]));
}

/// `imaps://` to a server whose certificate chains to no root the desk trusts: refused
/// during the handshake, with a message naming the server and never the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imaps_refuses_a_certificate_it_cannot_verify() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed_certificate(certs.path());
    let Some(dovecot) = PrivateDovecot::start_with(DovecotOptions {
        tls: Some((cert, key)),
        ..DovecotOptions::default()
    }) else {
        return;
    };
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("desk.db").display());
    let imaps = format!(
        "imaps://desk:{IMAP_PASSWORD}@localhost:{}/INBOX",
        dovecot.port
    );
    let out = desk_cli(&url)
        .args(["mail", "poll"])
        .env("DESK_IMAP_URL", &imaps)
        .env("DESK_DATA_DIR", db.path().join("data"))
        .output()
        .unwrap();
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains(&format!("imaps://localhost:{}/INBOX", dovecot.port)),
        "{said}"
    );
    assert!(said.to_lowercase().contains("certificate"), "{said}");
    assert!(!said.contains(IMAP_PASSWORD), "{said}");
}

/// A mailbox URL that cannot work is named, and its password is not repeated.
#[test]
fn a_bad_mailbox_url_is_refused_without_repeating_it() {
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("desk.db").display());
    for (imap_url, expected) in [
        (
            "pop3://desk:s3cret-pw@mail.example.com/",
            "must start with imaps://",
        ),
        ("imaps://mail.example.com/INBOX", "names no user"),
    ] {
        let out = desk_cli(&url)
            .args(["mail", "poll"])
            .env("DESK_IMAP_URL", imap_url)
            .output()
            .unwrap();
        let said = text(&out);
        assert!(!out.status.success() && said.contains(expected), "{said}");
        assert!(!said.contains("s3cret-pw"), "{said}");
    }
    let out = desk_cli(&url).args(["mail", "poll"]).output().unwrap();
    assert!(text(&out).contains("set DESK_IMAP_URL"), "{}", text(&out));
}
