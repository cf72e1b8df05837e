//! Mail through a real MTA: a private Postfix takes a message over SMTP and its alias
//! pipes it to `inspect-desk mail receive`, as docs/operations.md wires it. A new message
//! opens a report and the reporter's answer lands on it; with the database down the
//! desk exits 75, Postfix keeps the message deferred, and once the database is back a
//! flush delivers it exactly once.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::helpers::{Backend, TestApp, manifest_dir};
use crate::mail_servers::{MAIL_DOMAIN, PrivatePostfix, chown, new_report_mail};
use crate::on_both_backends;
use crate::private_pg::PrivatePostgres;

on_both_backends!(postfix_pipes_new_reports_and_replies_to_the_desk);

/// Settings the command cannot load (a typo in the desk's config file) are the
/// operator's to fix: Postfix keeps the message deferred instead of bouncing it to its
/// sender, and delivers it once the file is right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_that_do_not_load_defer_the_message_instead_of_bouncing_it() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.support_address = Some(support())).await;
    let config = tempfile::tempdir().unwrap();
    let config_file = config.path().join("desk.toml");
    std::fs::write(
        &config_file,
        format!(
            "{}suport_address = \"typo\"\n",
            desk_toml(&app, config.path())
        ),
    )
    .unwrap();
    chown(config.path(), "nobody");
    chown(app.settings.data_dir.parent().unwrap(), "nobody");
    let Some(postfix) = postfix_for(&config_file) else {
        return;
    };
    let report = new_report_mail("cleo@example.com", &support(), "Row counts off by one");
    postfix.send("cleo@example.com", &support(), &report).await;
    wait_for(&postfix, "the delivery is deferred", || {
        postfix
            .queue()
            .iter()
            .any(|m| m["queue_name"] == "deferred")
    })
    .await;
    let log = postfix.log();
    assert!(!log.contains("status=bounced"), "{log}");
    assert_eq!(app.count("inbound_mail"), 0);

    std::fs::write(&config_file, desk_toml(&app, config.path())).unwrap();
    postfix.flush();
    wait_for(&postfix, "the message is delivered", || {
        postfix.queue().is_empty()
    })
    .await;
    assert_eq!(app.count("inbound_mail"), 1);
    assert_eq!(app.count("tickets"), 1);
}

/// The support address: the alias Postfix pipes to the desk.
fn support() -> String {
    format!("desk@{MAIL_DOMAIN}")
}

/// The desk's settings for the delivery command (`DESK_CONFIG`): the delivery user
/// reads them, and the alias file (world-readable) holds no database password. The
/// support model and the binary are copied into `dir` beside them: a clean clone may sit
/// in a folder only its owner may enter (mktemp's mode 700), where the delivery user
/// could not reach them. (A copy, not a link: the test hands `dir` to that user.)
fn desk_toml(app: &TestApp, dir: &Path) -> String {
    let model = dir.join("support-model.toml");
    std::fs::copy(manifest_dir().join("config/support-model.toml"), &model).unwrap();
    let binary = dir.join("inspect-desk");
    if !binary.exists() {
        std::fs::copy(env!("CARGO_BIN_EXE_inspect-desk"), &binary).unwrap();
    }
    format!(
        "database_url = \"{}\"\nsupport_model = \"{}\"\ndata_dir = \"{}\"\n\
         support_address = \"{}\"\n",
        app.settings.database_url,
        model.display(),
        app.settings.data_dir.display(),
        support()
    )
}

/// Postfix with `desk` piped to `inspect-desk mail receive` under `config`, with the
/// binary `desk_toml` placed beside it.
fn postfix_for(config: &Path) -> Option<PrivatePostfix> {
    let binary = config.parent().unwrap().join("inspect-desk");
    PrivatePostfix::start(&format!(
        "desk: \"|/usr/bin/env DESK_CONFIG={} {} mail receive\"\n",
        config.display(),
        binary.display()
    ))
}

/// Wait until `done` holds, or fail with what Postfix saw.
async fn wait_for(postfix: &PrivatePostfix, what: &str, done: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(
            Instant::now() < until,
            "{what}: not within 30 s\nqueue: {:?}\n{}",
            postfix.queue(),
            postfix.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn reply(from: &str, subject: &str, answers: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {}\r\nSubject: {subject}\r\nDate: {}\r\n\
         Message-ID: <{}@example.com>\r\nIn-Reply-To: <{answers}>\r\n\
         References: <{answers}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         It failed again this morning at 06:00 UTC.\r\n\r\n> earlier text\r\n",
        support(),
        chrono::Utc::now().to_rfc2822(),
        uuid::Uuid::new_v4().simple()
    )
    .into_bytes()
}

async fn postfix_pipes_new_reports_and_replies_to_the_desk(backend: Backend) {
    let sqlite = matches!(backend, Backend::Sqlite);
    let app = TestApp::spawn_with(backend, |s| s.support_address = Some(support())).await;
    let config = tempfile::tempdir().unwrap();
    let config_file = config.path().join("desk.toml");
    std::fs::write(&config_file, desk_toml(&app, config.path())).unwrap();
    // Postfix runs the command as `nobody`: it reads the settings and, on SQLite, writes
    // the database file and its journal (which the app has open already).
    chown(config.path(), "nobody");
    if sqlite {
        chown(app.settings.data_dir.parent().unwrap(), "nobody");
    }
    let Some(postfix) = postfix_for(&config_file) else {
        return;
    };

    let first = new_report_mail("ana@example.com", &support(), "Orders profile is stale");
    postfix.send("ana@example.com", &support(), &first).await;
    wait_for(&postfix, "the report is filed", || {
        app.count("tickets") == 1
    })
    .await;
    // Postfix records the delivery once the command has exited 0.
    wait_for(&postfix, "Postfix records the delivery", || {
        postfix.log().contains("status=sent (delivered to command:")
    })
    .await;

    // Ana answers her own thread: it lands on the ticket as her reply.
    let first_id = String::from_utf8_lossy(&first)
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: <"))
        .unwrap()
        .trim_end_matches('>')
        .to_string();
    let answer = reply("ana@example.com", "Re: Orders profile is stale", &first_id);
    postfix.send("ana@example.com", &support(), &answer).await;
    wait_for(&postfix, "the reply is taken", || {
        app.count("inbound_mail") == 2
    })
    .await;
    assert_eq!(app.count("tickets"), 1, "the reply opened no second ticket");
    let outcomes = outcomes(&app);
    assert_eq!(outcomes, ["new_report", "reporter_reply"], "{outcomes:?}");
    // Both delivered (the command exited 0): nothing stays queued.
    wait_for(&postfix, "the queue empties", || postfix.queue().is_empty()).await;
    assert_eq!(postfix.log().matches("status=sent").count(), 2);
}

/// Whether the app's database answers a query.
fn answers(app: &TestApp) -> bool {
    use diesel::RunQueryDsl;
    app.desk
        .pool
        .get()
        .ok()
        .is_some_and(|mut conn| diesel::sql_query("SELECT 1").execute(&mut *conn).is_ok())
}

/// `inbound_mail.outcome` in the order the messages came.
fn outcomes(app: &TestApp) -> Vec<String> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        outcome: String,
    }
    let mut conn = app.desk.pool.get().unwrap();
    diesel::sql_query("SELECT outcome FROM inbound_mail ORDER BY id")
        .load::<Row>(&mut *conn)
        .unwrap()
        .into_iter()
        .map(|r| r.outcome)
        .collect()
}

/// The database down while Postfix delivers: `mail receive` exits 75, Postfix defers the
/// message and nothing is stored; after the restart a flush delivers it exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_down_postfix_defers_then_delivers_once() {
    let Some(pg) = tokio::task::spawn_blocking(PrivatePostgres::start)
        .await
        .unwrap()
    else {
        return;
    };
    let app = TestApp::spawn_with(Backend::Postgres(pg.url()), |s| {
        s.support_address = Some(support());
        s.pool_size = 2;
    })
    .await;
    let config = tempfile::tempdir().unwrap();
    let config_file = config.path().join("desk.toml");
    std::fs::write(&config_file, desk_toml(&app, config.path())).unwrap();
    chown(config.path(), "nobody");
    let Some(postfix) = postfix_for(&config_file) else {
        return;
    };

    pg.stop_immediately();
    let report = new_report_mail("ben@example.com", &support(), "Lineage graph is empty");
    postfix.send("ben@example.com", &support(), &report).await;
    wait_for(&postfix, "the delivery is deferred", || {
        postfix
            .queue()
            .iter()
            .any(|m| m["queue_name"] == "deferred")
    })
    .await;
    let queued = postfix.queue();
    assert_eq!(queued.len(), 1, "{queued:?}");
    let reason = queued[0]["recipients"][0]["delay_reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Postfix's words for exit status 75 (EX_TEMPFAIL).
    assert!(reason.contains("temporary failure"), "{reason}");
    let log = postfix.log();
    assert!(log.contains("status=deferred"), "{log}");
    assert!(!log.contains("status=bounced"), "{log}");

    pg.start_server();
    // Nothing was half-stored while it was down.
    wait_for(&postfix, "the database answers again", || answers(&app)).await;
    for table in ["inbound_mail", "tickets", "ticket_events", "outbox"] {
        assert_eq!(app.count(table), 0, "{table} while the database was down");
    }
    postfix.flush();
    wait_for(&postfix, "the deferred message is delivered", || {
        postfix.queue().is_empty()
    })
    .await;
    assert_eq!(app.count("inbound_mail"), 1);
    assert_eq!(app.count("tickets"), 1);
    // A second flush has nothing left to deliver again.
    postfix.flush();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.count("inbound_mail"), 1);
    assert_eq!(app.count("tickets"), 1);
}
