//! The agent's run pages: `/runs` filters and pages, `/runs/{run_id}` details.

use inspect_desk::domain::role::Role;
use serde_json::json;

use crate::helpers::{Backend, TestApp, TestDb, minutes_ago};
use crate::on_both_backends;

on_both_backends!(
    runs_list_filters_and_pages,
    runs_list_merges_warehouse_types_newest_first,
    runs_list_pages_run_ids_as_bytes_under_a_linguistic_collation,
    run_page_shows_columns_and_tickets
);

async fn seed(app: &TestApp) {
    let runs = [
        (
            "sf-1",
            "snowflake",
            "ANALYTICS.SALES.ORDERS",
            "succeeded",
            30,
        ),
        ("sf-2", "snowflake", "ANALYTICS.SALES.REFUNDS", "failed", 90),
        ("bq-1", "bigquery", "proj.core.users", "timed_out", 120),
        ("bq-2", "bigquery", "proj.core.events", "succeeded", 60 * 30),
        (
            "pg-old",
            "postgres",
            "public.customers",
            "succeeded",
            60 * 24 * 10,
        ),
    ];
    for (id, warehouse, table, status, minutes) in runs {
        app.post_run(json!({
            "run_id": id, "warehouse_type": warehouse, "table": table, "status": status,
            "started_at": minutes_ago(minutes), "finished_at": minutes_ago(minutes - 1),
            "error": if status == "succeeded" { None } else { Some(format!("{id} went wrong")) }
        }))
        .await;
    }
}

/// Where the page's "next page" link goes, if it has one.
fn next_page(html: &str) -> Option<String> {
    let start = html.find("id=\"next-page\"")?;
    let href = html[..start].rsplit("href=\"").next()?;
    Some(href.split('"').next()?.replace("&#38;", "&"))
}

fn run_ids(html: &str) -> Vec<String> {
    html.split("class=\"run-link\"><code>")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap_or("").to_string())
        .collect()
}

async fn runs_list_filters_and_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed(&app).await;
    let (agent, _) = app.signed_in(Role::Agent).await;
    let get = |query: &str| {
        let url = app.url(&format!("/runs{query}"));
        let agent = agent.clone();
        async move {
            let response = agent.get(url).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    let (status, html) = get("").await;
    assert_eq!(status, 200);
    assert_eq!(
        run_ids(&html),
        ["sf-1", "sf-2", "bq-1", "bq-2"],
        "newest first, 7 days"
    );
    assert!(html.contains("sf-2 went wrong"));
    let (_, html) = get("?window=all").await;
    assert_eq!(run_ids(&html).len(), 5);
    let (_, html) = get("?window=1h").await;
    assert_eq!(run_ids(&html), ["sf-1"]);
    let (_, html) = get("?warehouse_type=bigquery").await;
    assert_eq!(run_ids(&html), ["bq-1", "bq-2"]);
    let (_, html) = get("?status=failed").await;
    assert_eq!(run_ids(&html), ["sf-2"]);
    let (_, html) = get("?table=analytics.sales.&window=all").await;
    assert_eq!(run_ids(&html), ["sf-1", "sf-2"], "table prefix, any case");
    let (_, html) = get("?table=proj_core").await;
    assert!(run_ids(&html).is_empty(), "_ is not a wildcard");
    // Pages of two, following the links.
    let (_, mut html) = get("?window=all&limit=2").await;
    let mut seen = run_ids(&html);
    while let Some(href) = next_page(&html) {
        assert!(
            href.contains("window=all") && href.contains("limit=2"),
            "{href}"
        );
        html = get(href.trim_start_matches("/runs")).await.1;
        seen.extend(run_ids(&html));
    }
    assert_eq!(seen, ["sf-1", "sf-2", "bq-1", "bq-2", "pg-old"]);
    let (status, html) = get("?window=2w&status=exploded").await;
    assert_eq!(status, 422);
    assert!(
        html.contains("unknown window") && html.contains("unknown run status"),
        "{html}"
    );
    let (status, _) = get("?cursor=garbage").await;
    assert_eq!(status, 422);
    let (analyst, _) = app.signed_in(Role::Analyst).await;
    let response = analyst.get(app.url("/runs")).send().await.unwrap();
    assert_eq!(response.status(), 403);
}

/// The list reads each warehouse type's runs on its own and merges them: pages of every
/// size must come out newest first, ties (same start) by run id, nothing twice or lost.
async fn runs_list_merges_warehouse_types_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let same_start = minutes_ago(50);
    let runs = [
        ("r-a", "snowflake", minutes_ago(10)),
        ("r-b", "duckdb", minutes_ago(20)),
        ("r-c", "snowflake", minutes_ago(30)),
        ("r-d", "bigquery", minutes_ago(40)),
        ("r-f", "redshift", same_start.clone()),
        ("r-e", "snowflake", same_start.clone()),
        ("r-g", "duckdb", same_start),
        ("r-h", "databricks", minutes_ago(60)),
        ("r-i", "snowflake", minutes_ago(70)),
        ("r-j", "postgres", minutes_ago(80)),
    ];
    for (id, warehouse, started) in &runs {
        app.post_run(json!({
            "run_id": id, "warehouse_type": warehouse, "table": "db.schema.merged",
            "status": "succeeded", "started_at": started, "finished_at": minutes_ago(5),
        }))
        .await;
    }
    let expected = [
        "r-a", "r-b", "r-c", "r-d", "r-g", "r-f", "r-e", "r-h", "r-i", "r-j",
    ];
    let (agent, _) = app.signed_in(Role::Agent).await;
    for limit in [1, 2, 3, 4, 10, 50] {
        let mut path = format!("/runs?limit={limit}");
        let mut seen = Vec::new();
        loop {
            let html = app.page_as(&agent, &path).await;
            let page = run_ids(&html);
            assert!(page.len() <= limit, "limit {limit}: {page:?}");
            seen.extend(page);
            let Some(href) = next_page(&html) else {
                break;
            };
            path = href;
        }
        assert_eq!(seen, expected, "pages of {limit}");
    }
}

/// Runs that started together are ordered by run id as bytes ('a' after 'B'), also on a
/// PostgreSQL database whose collation sorts 'a' before 'B': the desk merges the walks by
/// bytes, so the database must page by bytes too, or a page boundary skips or repeats runs.
async fn runs_list_pages_run_ids_as_bytes_under_a_linguistic_collation(backend: Backend) {
    let app = TestApp::spawn_on(TestDb::linguistic(&backend), |_| {}).await;
    let started = minutes_ago(15);
    let runs = [
        ("a-1", "snowflake"),
        ("B-1", "snowflake"),
        ("b-2", "snowflake"),
        ("A-2", "bigquery"),
        ("c-3", "bigquery"),
        ("C-3", "snowflake"),
    ];
    for (id, warehouse) in runs {
        app.post_run(json!({
            "run_id": id, "warehouse_type": warehouse, "table": "db.schema.cased",
            "status": "succeeded", "started_at": started, "finished_at": minutes_ago(5),
        }))
        .await;
    }
    let expected = ["c-3", "b-2", "a-1", "C-3", "B-1", "A-2"];
    let (agent, _) = app.signed_in(Role::Agent).await;
    for limit in [1, 2, 4] {
        let mut path = format!("/runs?limit={limit}");
        let mut seen = Vec::new();
        loop {
            let html = app.page_as(&agent, &path).await;
            seen.extend(run_ids(&html));
            let Some(href) = next_page(&html) else {
                break;
            };
            path = href;
        }
        assert_eq!(seen, expected, "pages of {limit}");
    }
}

async fn run_page_shows_columns_and_tickets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post_run(json!({
        "run_id": "bq-42", "warehouse_type": "bigquery", "table": "proj.core.users",
        "status": "failed", "started_at": minutes_ago(10), "finished_at": minutes_ago(8),
        "error": "Access Denied: <table> proj.core.users",
        "columns": [
            {"name": "email", "semantic_type": "email", "confidence": 0.97},
            {"name": "notes"}
        ]
    }))
    .await;
    let ticket = app
        .file_report(json!({
            "reporter_email": "ana@example.com", "kind": "failed_report",
            "warehouse_type": "bigquery", "table": "proj.core.users", "run_id": "bq-42",
            "description": "The report for users failed."
        }))
        .await;
    let number = ticket["number"].as_str().unwrap();
    let (agent, _) = app.signed_in(Role::Agent).await;
    let response = agent.get(app.url("/runs/bq-42")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    // Labels and durations in words (a no-break space joins a number to its unit).
    assert!(html.contains("id=\"run-status\">Failed"), "{html}");
    assert!(html.contains("id=\"run-duration\">2\u{a0}min"), "{html}");
    assert!(
        html.contains("Access Denied: &#60;table&#62; proj.core.users"),
        "error escaped"
    );
    assert!(html.contains("Columns (2, 1 typed)"));
    assert!(
        html.contains("<code>email</code></td>\n        <td>email</td>"),
        "{html}"
    );
    assert!(html.contains("97%"));
    assert!(
        html.contains(&format!("href=\"/tickets/{number}\"")),
        "linked ticket: {html}"
    );
    // The ticket page links back.
    let ticket_page = app.page_as(&agent, &format!("/tickets/{number}")).await;
    assert!(ticket_page.contains("href=\"/runs/bq-42\""));
    let missing = agent.get(app.url("/runs/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}
