//! The command line: route explanations, migrations, seeding and `serve --demo`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::helpers::manifest_dir;

fn desk(db_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_inspect-desk"));
    command
        .env("DESK_DATABASE_URL", db_url)
        .env(
            "DESK_SUPPORT_MODEL",
            manifest_dir().join("config/support-model.toml"),
        )
        .env("RUST_LOG", "warn")
        .env_remove("DESK_CONFIG");
    command
}

fn output(command: &mut Command) -> (bool, String) {
    let out = command.output().expect("run inspect-desk");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn route_explains_a_decision() {
    let (ok, text) = output(desk("sqlite://unused.db").args([
        "route",
        "--category",
        "profiling_failure",
        "--warehouse-type",
        "snowflake",
        "--table",
        "RAW.EVENTS.CLICKS",
    ]));
    assert!(ok, "{text}");
    assert!(text.contains("team: warehouse-connectors"), "{text}");
    assert!(text.contains("rule: snowflake-raw-zone"), "{text}");
    assert!(text.contains("RAW.EVENTS.CLICKS ~ RAW.*"), "{text}");
    let (ok, text) = output(desk("sqlite://unused.db").args(["route", "--category", "other"]));
    assert!(ok && text.contains("team: support"), "{text}");
    let (ok, text) = output(desk("sqlite://unused.db").args(["route", "--category", "bogus"]));
    assert!(!ok && text.contains("unknown category 'bogus'"), "{text}");
    let (ok, text) = output(desk("sqlite://unused.db").args([
        "route",
        "--category",
        "other",
        "--table",
        "nodots",
    ]));
    assert!(!ok && text.contains("database.schema.table"), "{text}");
}

#[test]
fn migrate_applies_once_and_bad_urls_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sub/desk.db").display());
    let (ok, text) = output(desk(&url).arg("migrate"));
    assert!(ok && text.contains("1 migration(s) applied"), "{text}");
    let (ok, text) = output(desk(&url).arg("migrate"));
    assert!(ok && text.contains("0 migration(s) applied"), "{text}");
    let (ok, text) = output(desk("mysql://localhost/x").arg("migrate"));
    assert!(!ok && text.contains("sqlite:// or postgres://"), "{text}");
}

#[test]
fn serve_demo_starts_with_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let mut child = desk(&url)
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let base = loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        seen.push(line.clone());
        if let Some(rest) = line.strip_prefix("inspect-desk is listening on ") {
            break rest.trim().to_string();
        }
    };
    let text = seen.join("\n");
    assert!(text.contains("200 runs and 50 tickets"), "{text}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let result = runtime.block_on(async {
        let ready = reqwest::get(format!("{base}/readyz")).await?.status();
        let ticket: serde_json::Value = reqwest::get(format!("{base}/api/v1/tickets/INS-1050"))
            .await?
            .json()
            .await?;
        Ok::<_, reqwest::Error>((ready, ticket))
    });
    child.kill().ok();
    child.wait().ok();
    let (ready, ticket) = result.unwrap();
    assert_eq!(ready, 200);
    assert_eq!(ticket["number"], "INS-1050");
}
