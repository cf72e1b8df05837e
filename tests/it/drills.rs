//! Drills on a live desk: `inspect-desk drill` as its own process against the database a
//! running server uses, and the admin button inside the server. Each scenario must pass;
//! its mail must reach only the drill's recipients with `[DRILL]` subjects, over real
//! SMTP; and nothing of it may show in metrics, incidents or dashboards.

use std::process::Command;

use inspect_desk::domain::role::{Role, Scope};
use serde_json::json;

use crate::cli::{create_token, output as run, start_serve};
use crate::helpers::{Backend, TestApp, TestDb, desk_cli, hidden_field};
use crate::on_both_backends;
use crate::smtp::{SmtpSink, free_port};

mod sqlite_only {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wrong_type_spike() {
        scenario_passes_on_a_live_desk(Backend::Sqlite, "wrong-type-spike").await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn report_generation_outage() {
        scenario_passes_on_a_live_desk(Backend::Sqlite, "report-generation-outage").await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn smtp_down_during_escalation() {
        scenario_passes_on_a_live_desk(Backend::Sqlite, "smtp-down-during-escalation").await
    }
}

on_both_backends!(
    snowflake_timeout_burst,
    admin_button_runs_a_drill_kept_out_of_metrics
);

async fn snowflake_timeout_burst(backend: Backend) {
    scenario_passes_on_a_live_desk(backend, "snowflake-timeout-burst").await
}

const RECIPIENT: &str = "launch-drill@inspect.example";

fn drill_command(app: &TestApp, smtp_port: u16) -> Command {
    let mut command = desk_cli(&app.settings.database_url);
    command
        .env("DESK_DATA_DIR", &app.settings.data_dir)
        .env("DESK_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"));
    command
}

/// A page's text as `client` sees it.
async fn text(client: &reqwest::Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// The figures operators watch that a drill must not move: the ticket and outbox gauges
/// of /metrics (and, with `counters`, the run, breach and escalation-mail counters, which
/// only a server process of its own keeps apart from other tests), and the open
/// incidents of the API.
async fn live_figures(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    counters: bool,
) -> (Vec<String>, serde_json::Value) {
    let metrics = client
        .get(format!("{base}/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut watched = vec!["desk_tickets", "desk_outbox_messages"];
    if counters {
        watched.extend([
            "desk_profiler_runs_finished_total",
            "desk_profiler_run_duration_seconds",
            "desk_sla_breaches_total",
            "desk_escalation_emails_total",
        ]);
    }
    // Sorted: the exporter's order of label sets is not stable between scrapes.
    let mut figures: Vec<String> = metrics
        .lines()
        .filter(|l| watched.iter().any(|w| l.starts_with(w)))
        .map(str::to_string)
        .collect();
    figures.sort();
    let incidents = client
        .get(format!("{base}/api/v1/incidents"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    (figures, incidents)
}

/// Real work on the desk before the drill: a report and a run.
async fn live_work(app: &TestApp) {
    app.file_report(
        json!({"reporter_email": "real.analyst@example.com", "kind": "stale_profile",
        "warehouse_type": "snowflake", "table": "ANALYTICS.SALES.ORDERS",
        "description": "The profile of ORDERS is two days old."}),
    )
    .await;
    app.post_run(json!({"run_id": "live-run-1", "warehouse_type": "snowflake",
        "table": "ANALYTICS.SALES.ORDERS", "status": "succeeded",
        "started_at": crate::helpers::minutes_ago(30), "finished_at": crate::helpers::minutes_ago(29)}))
        .await;
}

async fn scenario_passes_on_a_live_desk(backend: Backend, scenario: &str) {
    let port = free_port();
    let Some(sink) = SmtpSink::start(port) else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    live_work(&app).await;
    let token = app.token(&[Scope::Metrics, Scope::Read]);
    let client = app.new_client();
    let before = live_figures(&client, &app.address, &token, false).await;

    let (ok, report) = run(drill_command(&app, port).args(["drill", scenario]));
    assert!(ok, "the drill failed:\n{report}");
    assert!(report.contains(&format!("{scenario}: PASSED")), "{report}");
    assert!(!report.contains("FAIL"), "{report}");
    let steps = report
        .lines()
        .filter(|l| l.trim_start().starts_with("PASS "))
        .count();
    assert!(steps >= 4, "a drill is several checked steps:\n{report}");

    // Mail: all of it to the drill's recipient, tagged, each Message-ID once; none of the
    // live desk's own mail (the real report's confirmation) went out with it.
    let sent = app.count(&format!(
        "outbox WHERE drill <> 0 AND status = 'sent' AND recipient = '{RECIPIENT}'"
    ));
    assert!(sent > 0, "the drill sent mail:\n{report}");
    let received = sink.wait_for(sent as usize);
    assert_eq!(
        received.len() as i64,
        sent,
        "every sent message arrived once"
    );
    let mut ids: Vec<String> = received
        .iter()
        .map(|m| m.header("Message-ID").expect("Message-ID"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), received.len(), "no Message-ID twice");
    for m in &received {
        assert_eq!(m.header("To").as_deref(), Some(RECIPIENT));
        let subject = m.header("Subject").unwrap_or_default();
        assert!(subject.starts_with("[DRILL]"), "{subject}");
        assert!(
            m.text().contains("would go to"),
            "the real addressee is named"
        );
    }
    assert_eq!(
        app.count("outbox WHERE drill = 0 AND status = 'sent'"),
        0,
        "the drill never delivers the live desk's mail"
    );
    assert_eq!(
        app.count("outbox WHERE drill <> 0 AND recipient <> 'launch-drill@inspect.example'"),
        0
    );

    // Nothing of it shows where operators look, and nothing is left open.
    let after = live_figures(&client, &app.address, &token, false).await;
    assert_eq!(before, after, "metrics and incidents moved:\n{report}");
    assert_eq!(
        app.count("tickets WHERE drill <> 0 AND status IN ('new','triaged','in_progress','waiting_on_reporter')"),
        0,
        "the drill left tickets open"
    );
    assert!(app.count("tickets WHERE drill <> 0") > 0);

    // The stored report is listed in the app.
    let (admin, _) = app.signed_in(Role::Admin).await;
    let list = text(&admin, app.url("/admin/drills")).await;
    assert!(list.contains(scenario) && list.contains("passed"), "{list}");
    let page = text(&admin, app.url("/admin/drills/1")).await;
    assert_eq!(
        page.matches("status-passed\">pass<").count(),
        steps,
        "every printed step is stored"
    );
    let expected = inspect_desk::services::drills::scenario(scenario)
        .expect("a known scenario")
        .steps;
    assert!(
        page.contains(&format!("{expected} of {expected} passed")),
        "the scenario's step count ({expected}) is every step it ran:\n{page}"
    );
}

#[test]
fn drill_list_and_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let desk = |args: &[&str]| {
        run(desk_cli(&url)
            .env("DESK_DATA_DIR", dir.path())
            .env_remove("DESK_SMTP_URL")
            .args(args))
    };
    let (ok, text) = desk(&["drill", "--list"]);
    assert!(ok, "{text}");
    for name in [
        "snowflake-timeout-burst",
        "wrong-type-spike",
        "report-generation-outage",
        "smtp-down-during-escalation",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    let (ok, text) = desk(&["drill", "no-such-drill"]);
    assert!(
        !ok && text.contains("There is no drill 'no-such-drill'"),
        "{text}"
    );
    assert!(text.contains("snowflake-timeout-burst"), "{text}");
    let (ok, text) = desk(&["drill", "wrong-type-spike", "--recipient", "not an address"]);
    assert!(!ok && text.contains("recipients"), "{text}");
    let (ok, text) = desk(&["drill"]);
    assert!(!ok && text.contains("<NAME>"), "{text}");
    // Nothing was recorded for the refused drills.
    let mut conn = <diesel::SqliteConnection as diesel::Connection>::establish(
        &dir.path().join("desk.db").display().to_string(),
    )
    .unwrap();
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let rows: Vec<N> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT COUNT(*) AS n FROM drills"),
        &mut conn,
    )
    .unwrap();
    assert_eq!(rows[0].n, 0);
}

async fn admin_button_runs_a_drill_kept_out_of_metrics(backend: Backend) {
    let port = free_port();
    let Some(sink) = SmtpSink::start(port) else {
        return;
    };
    // A server process of its own (its metrics counters are its own), with demo data and
    // its background jobs off so that only the drill moves anything.
    let db = TestDb::new(&backend);
    let mut command = desk_cli(&db.url);
    command
        .env("DESK_DATA_DIR", db.dir())
        .env("DESK_SMTP_URL", format!("smtp://127.0.0.1:{port}"))
        .env("DESK_BACKGROUND_JOBS", "false")
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"]);
    let (_server, base, _, _output) = start_serve(&mut command);
    let token = create_token(&db.url, "metrics,read");
    let admin = signed_in_demo_admin(&base).await;
    let before = live_figures(&admin, &base, &token, true).await;
    assert!(
        before.0.iter().any(|l| l.starts_with("desk_tickets")),
        "the demo desk has tickets to count: {before:?}"
    );

    let page = text(&admin, format!("{base}/admin/drills")).await;
    assert!(
        page.contains("Run drill") && page.contains(RECIPIENT),
        "{page}"
    );
    let csrf = hidden_field(&page, "csrf_token");
    a_bad_scenario_is_refused_and_nothing_stored(&admin, &base, &csrf).await;
    let report = run_from_the_button_until_done(&admin, &base, &csrf).await;
    assert!(report.contains("data-status=\"passed\""), "{report}");
    assert!(!report.contains("status-failed"), "{report}");

    // The drill ran inside this server: its counters (runs finished and their durations,
    // breaches, escalation mail), its gauges and the live incidents did not move.
    let after = live_figures(&admin, &base, &token, true).await;
    let moved: Vec<&String> = after.0.iter().filter(|l| !before.0.contains(l)).collect();
    assert!(moved.is_empty(), "the drill moved these figures: {moved:?}");
    assert_eq!(before.1, after.1, "live incidents changed");
    no_drill_table_run_or_ticket_on_the_pages(&admin, &base).await;
    mail_went_only_to_the_drill_recipient(&sink);
    // The start is in the audit log, by whom.
    let audit = text(&admin, format!("{base}/admin/audit")).await;
    assert!(
        audit.contains("drill_started") && audit.contains("admin@inspect.example"),
        "{audit}"
    );
}

/// A client signed in as the demo desk's admin through the login form.
async fn signed_in_demo_admin(base: &str) -> reqwest::Client {
    let admin = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let login = text(&admin, format!("{base}/login")).await;
    let signed_in = admin
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", hidden_field(&login, "csrf_token").as_str()),
            ("email", "admin@inspect.example"),
            ("password", "demo-admin-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    admin
}

/// A bad scenario is refused with a message, and nothing is stored.
async fn a_bad_scenario_is_refused_and_nothing_stored(
    admin: &reqwest::Client,
    base: &str,
    csrf: &str,
) {
    let refused = admin
        .post(format!("{base}/admin/drills"))
        .form(&[("csrf_token", csrf), ("scenario", "fire-drill")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("There is no drill"));
    assert!(
        text(admin, format!("{base}/admin/drills"))
            .await
            .contains("No drill has run yet.")
    );
}

/// Start the Snowflake drill from the admin page and wait (up to a minute) until its page
/// no longer says running. Returns that page.
async fn run_from_the_button_until_done(admin: &reqwest::Client, base: &str, csrf: &str) -> String {
    let started = admin
        .post(format!("{base}/admin/drills"))
        .form(&[
            ("csrf_token", csrf),
            ("scenario", "snowflake-timeout-burst"),
            ("recipients", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 303);
    let location = started.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/admin/drills/"), "{location}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let page = text(admin, format!("{base}{location}")).await;
        if !page.contains("data-status=\"running\"") {
            break page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the drill did not finish:\n{page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The dashboard, run list and queue show nothing of the drill.
async fn no_drill_table_run_or_ticket_on_the_pages(admin: &reqwest::Client, base: &str) {
    let telemetry = text(admin, format!("{base}/telemetry?window=24h")).await;
    assert!(telemetry.contains("Snowflake"), "{telemetry}");
    assert!(
        !telemetry.contains("DRILL_"),
        "drill tables on the dashboard"
    );
    assert!(
        !text(admin, format!("{base}/runs")).await.contains("DRILL_"),
        "drill runs listed"
    );
    assert!(
        !text(admin, format!("{base}/queue"))
            .await
            .contains("DRILL "),
        "drill tickets left open"
    );
}

/// Its mail went out through the server's SMTP, to the drill's recipient only.
fn mail_went_only_to_the_drill_recipient(sink: &SmtpSink) {
    let received = sink.wait_for(1);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let received = if received.is_empty() {
        received
    } else {
        sink.received()
    };
    assert!(!received.is_empty());
    for m in &received {
        assert_eq!(m.header("To").as_deref(), Some(RECIPIENT));
        assert!(
            m.header("Subject")
                .unwrap_or_default()
                .starts_with("[DRILL]")
        );
    }
}
