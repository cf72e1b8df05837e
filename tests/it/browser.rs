//! A real browser (headless Chromium through chromedriver) files a report.

use fantoccini::{ClientBuilder, Locator};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    browser_files_a_report_and_reads_the_tracking_page,
    agent_triages_in_the_browser,
    known_issue_banner_comes_and_goes
);

/// chromedriver on a free port, ended when dropped.
pub struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_chromedriver() -> Option<String> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_string)
}

/// Start chromedriver, or say loudly why the browser test is skipped (CI must not skip).
pub fn start_driver() -> Option<Driver> {
    let Some(binary) = find_chromedriver() else {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but chromedriver is missing: .ci/run installs chromium-driver");
        }
        eprintln!(
            "SKIPPED (browser): chromedriver not found; apt-get install chromium chromium-driver"
        );
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    Some(Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: tempfile::tempdir().unwrap(),
    })
}

pub async fn browser(driver: &Driver) -> fantoccini::Client {
    let profile = driver._profile.path().display().to_string();
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", format!("--user-data-dir={profile}")]
        }
    });
    let caps: fantoccini::wd::Capabilities = caps.as_object().unwrap().clone();
    for _ in 0..50 {
        if let Ok(client) =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&driver.url)
                .await
        {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not connect to chromedriver at {}", driver.url);
}

async fn browser_files_a_report_and_reads_the_tracking_page(backend: Backend) {
    let Some(driver) = start_driver() else { return };
    let app = TestApp::spawn(backend).await;
    let client = browser(&driver).await;
    let result = async {
        client
            .goto(&app.url("/report?warehouse_type=redshift&table=dw.logs.requests&kind=stale_profile"))
            .await?;
        client.find(Locator::Id("reporter_name")).await?.send_keys("Browser Analyst").await?;
        client.find(Locator::Id("reporter_email")).await?.send_keys("browser@example.com").await?;
        client.find(Locator::Id("description")).await?
            .send_keys("I think the profile is stale but actually every run since Friday shows status failed with 'disk full' on the cluster.")
            .await?;
        client.find(Locator::Css("button[type=submit]")).await?.click().await?;
        for _ in 0..50 {
            if client.current_url().await?.path().starts_with("/t/") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let category = client.find(Locator::Id("ticket-category")).await?.attr("data-category").await?;
        let team = client.find(Locator::Id("ticket-team")).await?.text().await?;
        let status = client.find(Locator::Id("ticket-status")).await?.text().await?;
        Ok::<_, fantoccini::error::CmdError>((category, team, status))
    }
    .await;
    client.close().await.ok();
    let (category, team, status) = result.expect("browser steps");
    assert_eq!(category.as_deref(), Some("profiling_failure"));
    assert_eq!(team, "Warehouse Connectors");
    assert_eq!(status, "Received");
    assert_eq!(app.count("tickets"), 1);
}

async fn agent_triages_in_the_browser(backend: Backend) {
    let Some(driver) = start_driver() else { return };
    let app = TestApp::spawn(backend).await;
    app.create_user(
        "triager@example.com",
        inspect_desk::domain::role::Role::Agent,
        "a-long-test-password",
    );
    let (original, duplicate) = file_an_invoice_report_and_its_duplicate(&app).await;
    let client = browser(&driver).await;
    let result = async {
        sign_in(&client, &app, "triager@example.com", "a-long-test-password").await?;
        let numbers = queue_numbers_of_category(&client, &app, "stale_profile").await?;
        client
            .find(Locator::LinkText(&duplicate))
            .await?
            .click()
            .await?;
        wait_for_path(&client, &format!("/tickets/{duplicate}")).await?;
        let (category, team) = reclassify_as_failed_report(&client).await?;
        comment_publicly(&client, "Thanks, we are on it.").await?;
        let status = merge_into(&client, &original).await?;
        Ok::<_, fantoccini::error::CmdError>((numbers, category, team, status))
    }
    .await;
    client.close().await.ok();
    let (numbers, category, team, status) = result.expect("browser steps");
    assert_eq!(
        numbers,
        vec![duplicate.clone()],
        "the filter shows only the stale-profile ticket"
    );
    assert_eq!(category.as_deref(), Some("failed_report"));
    assert_eq!(
        team, "Inspector Reports",
        "reclassifying rerouted the ticket"
    );
    assert_eq!(status, "Closed");
}

/// Two reports of the same invoices table; the second, filed as a stale profile, is the
/// one the agent corrects and merges. Returns both numbers.
async fn file_an_invoice_report_and_its_duplicate(app: &TestApp) -> (String, String) {
    let report = |email: &str, kind: &str, text: &str| {
        serde_json::json!({"reporter_email": email, "kind": kind, "warehouse_type": "redshift",
                           "table": "dw.finance.invoices", "description": text})
    };
    let original = app
        .file_report(report(
            "one@example.com",
            "failed_report",
            "Report generation error: template render failed",
        ))
        .await;
    // Filed by the analyst as a stale profile; the agent will correct that.
    let duplicate = app
        .file_report(report(
            "two@example.com",
            "stale_profile",
            "The invoices profile is out of date, not refreshed since Monday",
        ))
        .await;
    assert_eq!(duplicate["category"], "stale_profile");
    (
        original["number"].as_str().unwrap().to_string(),
        duplicate["number"].as_str().unwrap().to_string(),
    )
}

/// Sign in through the login form and land on the account's home page (an agent's own
/// reports, the admin's admin page).
pub(crate) async fn sign_in(
    client: &fantoccini::Client,
    app: &TestApp,
    email: &str,
    password: &str,
) -> Result<(), fantoccini::error::CmdError> {
    client.goto(&app.url("/login")).await?;
    client
        .find(Locator::Id("email"))
        .await?
        .send_keys(email)
        .await?;
    client
        .find(Locator::Id("password"))
        .await?
        .send_keys(password)
        .await?;
    client
        .find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await?
        .click()
        .await?;
    for _ in 0..50 {
        if client.current_url().await?.path() != "/login" {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the browser stayed on the sign-in page");
}

/// Filter the queue to one category; returns the ticket numbers it then lists.
async fn queue_numbers_of_category(
    client: &fantoccini::Client,
    app: &TestApp,
    category: &str,
) -> Result<Vec<String>, fantoccini::error::CmdError> {
    client.goto(&app.url("/queue")).await?;
    client
        .find(Locator::Css("select[name=category]"))
        .await?
        .select_by_value(category)
        .await?;
    client
        .find(Locator::Id("apply-filters"))
        .await?
        .click()
        .await?;
    let filtered = format!("category={category}");
    for _ in 0..50 {
        if client
            .current_url()
            .await?
            .query()
            .is_some_and(|q| q.contains(&filtered))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client
        .wait()
        .for_element(Locator::Id("queue-table"))
        .await?;
    let links = client.find_all(Locator::Css("a.ticket-link")).await?;
    let mut numbers = Vec::new();
    for link in &links {
        numbers.push(link.text().await?);
    }
    Ok(numbers)
}

/// On the open ticket: reclassify with a reason; returns the category the page then shows.
async fn reclassify_as_failed_report(
    client: &fantoccini::Client,
) -> Result<(Option<String>, String), fantoccini::error::CmdError> {
    client
        .find(Locator::Id("category"))
        .await?
        .select_by_value("failed_report")
        .await?;
    client
        .find(Locator::Id("reason"))
        .await?
        .send_keys("it is the report that fails")
        .await?;
    client
        .find(Locator::Id("update-submit"))
        .await?
        .click()
        .await?;
    wait_for_text(client, "category Failed report generation").await?;
    let category = client
        .find(Locator::Id("ticket-category"))
        .await?
        .attr("data-category")
        .await?;
    let team = client
        .find(Locator::Id("ticket-team"))
        .await?
        .text()
        .await?;
    Ok((category, team))
}

/// On the open ticket: a public comment, shown once posted.
async fn comment_publicly(
    client: &fantoccini::Client,
    text: &str,
) -> Result<(), fantoccini::error::CmdError> {
    client
        .find(Locator::Id("comment-body"))
        .await?
        .send_keys(text)
        .await?;
    client
        .find(Locator::Id("comment-public"))
        .await?
        .click()
        .await?;
    client
        .find(Locator::Id("comment-submit"))
        .await?
        .click()
        .await?;
    wait_for_text(client, text).await
}

/// On the open ticket: merge it into `original`, picked from the suggested duplicates;
/// returns the status the page then shows.
async fn merge_into(
    client: &fantoccini::Client,
    original: &str,
) -> Result<String, fantoccini::error::CmdError> {
    client
        .find(Locator::Id(&format!("merge-{original}")))
        .await?
        .click()
        .await?;
    client
        .find(Locator::Id("merge-submit"))
        .await?
        .click()
        .await?;
    wait_for_text(client, &format!("merged into {original}")).await?;
    client
        .find(Locator::Id("ticket-status"))
        .await?
        .text()
        .await
}

/// An incident opens: the report form shows it as a known issue, an analyst joins it in
/// one click, and once it resolves the banner is gone.
async fn known_issue_banner_comes_and_goes(backend: Backend) {
    let Some(driver) = start_driver() else { return };
    let app = TestApp::spawn_with(backend, |s| s.monitor_debounce_ms = 0).await;
    let now = app.clock.now();
    let at = |minutes: i64| inspect_desk::clock::rfc3339(now - chrono::TimeDelta::minutes(minutes));
    app.post_run(serde_json::json!({
        "run_id": "rs-1", "warehouse_type": "redshift", "table": "dw.finance.invoices",
        "status": "timed_out", "started_at": at(5), "finished_at": at(4),
        "error": "Query cancelled on user's request (statement_timeout)"
    }))
    .await;
    let evaluate = || {
        let desk = app.desk.clone();
        tokio::task::spawn_blocking(move || {
            inspect_desk::services::monitor::evaluate(
                &desk,
                &Default::default(),
                desk.clock.now(),
                None,
            )
            .expect("evaluation")
        })
    };
    let client = browser(&driver).await;
    let result = async {
        client.goto(&app.url("/report")).await?;
        let banner = client
            .find(Locator::Id("known-issues"))
            .await?
            .text()
            .await?;
        let number = client
            .find(Locator::Css(".known-issue"))
            .await?
            .attr("id")
            .await?
            .unwrap_or_default()
            .trim_start_matches("known-")
            .to_string();
        client
            .find(Locator::Id(&format!("join-email-{number}")))
            .await?
            .send_keys("joiner@example.com")
            .await?;
        client
            .find(Locator::Id(&format!("join-{number}")))
            .await?
            .click()
            .await?;
        for _ in 0..50 {
            if client.current_url().await?.path().starts_with("/t/") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        wait_for_text(&client, "Your report is part of this issue").await?;
        // Quiet for the window, then for the cool-down: resolved.
        app.clock.advance(chrono::TimeDelta::minutes(61));
        evaluate().await.unwrap();
        app.clock.advance(chrono::TimeDelta::minutes(31));
        evaluate().await.unwrap();
        client.goto(&app.url("/report")).await?;
        let after = client.source().await?;
        Ok::<_, fantoccini::error::CmdError>((banner, number, after))
    }
    .await;
    client.close().await.ok();
    let (banner, number, after) = result.expect("browser steps");
    assert!(
        banner.contains("Redshift profiling timing out on critical tables"),
        "{banner}"
    );
    assert!(number.starts_with("INS-"), "{number}");
    assert!(
        !after.contains("id=\"known-issues\""),
        "the banner is gone after recovery"
    );
    assert_eq!(
        app.count("tickets WHERE reporter_email = 'joiner@example.com' AND parent_id IS NOT NULL"),
        1
    );
}

async fn wait_for_path(
    client: &fantoccini::Client,
    path: &str,
) -> Result<(), fantoccini::error::CmdError> {
    for _ in 0..50 {
        if client.current_url().await?.path() == path {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("browser never reached {path}");
}

async fn wait_for_text(
    client: &fantoccini::Client,
    text: &str,
) -> Result<(), fantoccini::error::CmdError> {
    for _ in 0..50 {
        if client.source().await?.contains(text) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("page never showed {text:?}");
}
