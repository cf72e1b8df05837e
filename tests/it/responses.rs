//! How the desk answers whatever the route: caching, `HEAD`, a wrong method, and server
//! errors in the log.

use std::time::Duration;

use inspect_desk::domain::role::{Role, Scope};
use inspect_desk::web::assets::asset_url;
use serde_json::json;

use crate::helpers::{Backend, TestApp, desk_cli};

const NO_STORE: &str = "no-store";

fn cache_control(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_with_secrets_are_not_stored() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let ticket = app
        .file_report(
            json!({"reporter_email": "ana@example.com", "kind": "other", "description": "hello"}),
        )
        .await;
    let number = ticket["number"].as_str().unwrap();
    let tracking = ticket["tracking_url"].as_str().unwrap();
    let tracking_path = &tracking[tracking.find("/t/").unwrap()..];
    let (admin, _) = app.signed_in(Role::Admin).await;
    let new_token = app
        .post_form_as(
            &admin,
            "/admin/tokens",
            &[("name", "ci"), ("scope", "read")],
        )
        .await;
    assert_eq!(new_token.status(), 200);
    assert_eq!(cache_control(&new_token), NO_STORE, "the new-token page");
    for path in [
        tracking_path.to_string(),
        format!("/tickets/{number}"),
        "/queue".to_string(),
        "/admin/users".to_string(),
        "/login".to_string(),
        "/report".to_string(),
    ] {
        let response = admin.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(cache_control(&response), NO_STORE, "{path}");
    }
    let api = app.api_get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(cache_control(&api), NO_STORE, "the API");
    let missing = app.get("/nothing-here").await;
    assert_eq!(cache_control(&missing), NO_STORE, "an error page");
    // Static files name their version, so they may be kept.
    let css = app.get(&asset_url("css/desk.css")).await;
    assert_eq!(cache_control(&css), "public, max-age=31536000, immutable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_answers_like_get_without_a_body() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for path in ["/report", "/login", "/healthz", "/api/v1/openapi.json"] {
        let get = app.get(path).await;
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        assert_eq!(
            head.headers()["content-type"],
            get.headers()["content-type"],
            "{path}"
        );
        assert_eq!(head.bytes().await.unwrap().len(), 0, "{path}");
    }
    // Access rules apply as to GET.
    let queue = app.client.head(app.url("/queue")).send().await.unwrap();
    assert_eq!(queue.status(), 303);
    assert!(
        queue.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?next=")
    );
    let tickets = app
        .client
        .head(app.url("/api/v1/tickets"))
        .send()
        .await
        .unwrap();
    assert_eq!(tickets.status(), 401);
    let token = app.token(&[Scope::Read]);
    let tickets = app
        .client
        .head(app.url("/api/v1/tickets"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(tickets.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_method_answers_405_with_allow() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let send = |method: &str, path: &str| {
        app.client
            .request(method.parse().unwrap(), app.url(path))
            .send()
    };
    let page = send("DELETE", "/report").await.unwrap();
    assert_eq!(page.status(), 405);
    assert_eq!(page.headers()["allow"], "GET, HEAD, POST");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let health = send("POST", "/healthz").await.unwrap();
    assert_eq!(health.status(), 405);
    assert_eq!(health.headers()["allow"], "GET, HEAD");
    let api = send("PUT", "/api/v1/tickets/INS-1001").await.unwrap();
    assert_eq!(api.status(), 405);
    assert_eq!(api.headers()["allow"], "GET, HEAD, PATCH");
    assert_eq!(api.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = api.json().await.unwrap();
    assert_eq!(problem["status"], 405);
    let reports = send("GET", "/api/v1/reports").await.unwrap();
    assert_eq!(reports.status(), 405);
    assert_eq!(reports.headers()["allow"], "POST");
    // Unknown paths stay 404, whatever the method.
    assert_eq!(send("GET", "/nothing-here").await.unwrap().status(), 404);
    assert_eq!(send("POST", "/nothing-here").await.unwrap().status(), 404);
    assert_eq!(
        send("DELETE", "/api/v1/nothing").await.unwrap().status(),
        404
    );
}

/// A server error is logged at ERROR with its route pattern, never the path (tracking
/// paths carry secret tokens). The server runs as a process of its own, logging JSON.
#[test]
fn server_errors_are_logged_with_their_route() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let url = format!("sqlite://{}", db.display());
    let (_server, base, _, lines) = crate::cli::start_serve(
        desk_cli(&url)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DESK_BACKGROUND_JOBS", "false")
            .env("DESK_DATA_DIR", dir.path().join("data"))
            .env("DESK_LOG_FORMAT", "json"),
    );
    let (sender, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    // The tickets table goes away under the running desk: its next query fails.
    {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::SqliteConnection::establish(db.to_str().unwrap()).unwrap();
        diesel::sql_query("ALTER TABLE tickets RENAME TO tickets_gone")
            .execute(&mut conn)
            .unwrap();
    }
    let secret = "ab".repeat(20);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        reqwest::get(format!("{base}/t/{secret}"))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 500);
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let logged = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Ok(line) = received.recv_timeout(left) else {
            break None;
        };
        seen.push(line.clone());
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if entry["level"] == "ERROR" && entry["fields"]["route"] == "/t/{token}" {
            break Some(entry);
        }
    };
    let entry = logged.unwrap_or_else(|| panic!("no ERROR line with the route in:\n{seen:#?}"));
    assert_eq!(entry["fields"]["status"], 500, "{entry}");
    assert_eq!(entry["fields"]["method"], "GET", "{entry}");
    assert!(
        seen.iter().all(|line| !line.contains(&secret)),
        "the token was logged:\n{seen:#?}"
    );
}
