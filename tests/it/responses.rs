//! How the desk answers whatever the route: caching, `HEAD`, a wrong method, and server
//! errors in the log.

use std::time::Duration;

use crate::helpers::desk_cli;

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
