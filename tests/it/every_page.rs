//! Every page of the desk, walked in Chromium over the demo data as the people who use
//! them: each passes the reader's checks (`reader::check_page`) at a laptop's and a
//! phone's width.

use fantoccini::Locator;

use crate::browser::{browser, sign_in, start_driver};
use crate::helpers::{Backend, TestApp};
use crate::reader::page_problems;

/// The first link on the current page whose address starts with `prefix` (and goes
/// further), to walk into a list's first entry.
async fn first_link(client: &fantoccini::Client, prefix: &str) -> String {
    let selector = format!("main a[href^='{prefix}']");
    for link in client
        .find_all(Locator::Css(&selector))
        .await
        .expect("read the links")
    {
        let href = link.attr("href").await.ok().flatten().unwrap_or_default();
        if href.len() > prefix.len() && !href.contains('?') {
            return href;
        }
    }
    panic!("no link into {prefix} on the page");
}

/// Pages with the demo data, seen by the demo's admin (who may see every page): the
/// report form, queue, tickets, incidents, escalations, runs, telemetry, runbooks, account
/// and admin pages. The tracking page, a running drill and the acknowledge page have
/// their own browser tests (`tracking`, `ops_pages`, `owner_escalations`). Page rendering does not depend on
/// the backend, so SQLite alone walks them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_reads_for_its_people() {
    let Some(driver) = start_driver() else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let desk = app.desk.clone();
    tokio::task::spawn_blocking(move || inspect_desk::demo::seed_if_empty(&desk))
        .await
        .unwrap()
        .expect("demo data");
    let client = browser(&driver).await;
    sign_in(
        &client,
        &app,
        "admin@inspect.example",
        "demo-admin-password",
    )
    .await
    .expect("sign in as the demo admin");

    let mut pages: Vec<String> = [
        "/my/reports",
        "/account/password",
        "/account/settings",
        "/report",
        "/queue",
        "/escalations",
        "/runs",
        "/telemetry",
        "/runbooks",
        "/admin",
        "/admin/users",
        "/admin/drills",
        "/admin/tokens",
        "/admin/support-model",
        "/admin/outbox",
        "/admin/audit",
        "/incidents",
        "/tickets/INS-1001",
        "/tickets/INS-1010",
        "/tickets/INS-1030",
    ]
    .map(String::from)
    .to_vec();
    client.goto(&app.url("/runs")).await.unwrap();
    pages.push(first_link(&client, "/runs/").await);
    client.goto(&app.url("/runbooks")).await.unwrap();
    pages.push(first_link(&client, "/runbooks/").await);

    let mut problems = Vec::new();
    for path in &pages {
        client.goto(&app.url(path)).await.expect("open the page");
        let title = client.title().await.unwrap_or_default();
        assert!(
            !title.to_lowercase().contains("error") && !title.contains("not found"),
            "{path} opened an error page: {title}"
        );
        problems.extend(page_problems(&client, path).await);
    }
    client.close().await.ok();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
