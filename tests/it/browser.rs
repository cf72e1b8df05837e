//! A real browser (headless Chromium through chromedriver) files a report.

use fantoccini::{ClientBuilder, Locator};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(browser_files_a_report_and_reads_the_tracking_page);

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
    assert_eq!(status, "new");
    assert_eq!(app.count("tickets"), 1);
}
