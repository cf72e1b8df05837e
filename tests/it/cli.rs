//! The command line: route explanations, migrations, seeding and `serve --demo`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::helpers::{desk_cli as desk, manifest_dir};

/// Run an `inspect-desk` command: whether it succeeded, and its stdout and stderr.
pub(crate) fn output(command: &mut Command) -> (bool, String) {
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
        "a.b.c.d",
    ]));
    assert!(!ok && text.contains("database.schema.table"), "{text}");
}

#[test]
fn migrate_applies_once_and_bad_urls_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sub/desk.db").display());
    let shipped = std::fs::read_dir(manifest_dir().join("migrations/sqlite"))
        .unwrap()
        .count();
    let (ok, text) = output(desk(&url).arg("migrate"));
    assert!(
        ok && text.contains(&format!("{shipped} migration(s) applied")),
        "{text}"
    );
    let (ok, text) = output(desk(&url).arg("migrate"));
    assert!(ok && text.contains("0 migration(s) applied"), "{text}");
    let (ok, text) = output(desk("mysql://localhost/x").arg("migrate"));
    assert!(!ok && text.contains("sqlite:// or postgres://"), "{text}");
}

/// A bearer token with `scopes` made by the CLI on the database at `url`.
pub(crate) fn create_token(url: &str, scopes: &str) -> String {
    let (ok, created) =
        output(desk(url).args(["token", "create", "--name", "cli test", "--scopes", scopes]));
    assert!(ok, "{created}");
    created
        .lines()
        .find(|l| l.starts_with("desk_"))
        .expect("token printed")
        .to_string()
}

pub(crate) type Output = std::io::Lines<BufReader<std::process::ChildStdout>>;

/// Start a `serve` command: the server (ended on drop), its base URL, the lines it printed
/// up to announcing it, and the rest of its output.
pub(crate) fn start_serve(command: &mut Command) -> (Server, String, Vec<String>, Output) {
    let mut child = Server(
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let base = loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        seen.push(line.clone());
        if let Some(rest) = line.strip_prefix("inspect-desk is listening on ") {
            break rest.trim().to_string();
        }
    };
    (child, base, seen, lines)
}

/// A server process, ended when the test ends, even when it fails.
pub(crate) struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_demo_starts_with_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let (child, base, mut seen, mut lines) =
        start_serve(desk(&url).args(["serve", "--demo", "--bind", "127.0.0.1:0"]));
    for line in lines.by_ref().take(6) {
        seen.push(line.unwrap());
    }
    let text = seen.join("\n");
    assert!(text.contains("200 runs and 50 tickets"), "{text}");
    assert!(
        text.contains("admin@inspect.example / demo-admin-password"),
        "demo sign-in printed: {text}"
    );
    // A read token from the CLI, against the same database the server is using.
    let token = create_token(&url, "read");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let result = runtime.block_on(async {
        let client = reqwest::Client::new();
        let ready = client.get(format!("{base}/readyz")).send().await?.status();
        let ticket: serde_json::Value = client
            .get(format!("{base}/api/v1/tickets/INS-1050"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        let anonymous = client
            .get(format!("{base}/api/v1/tickets/INS-1050"))
            .send()
            .await?
            .status();
        Ok::<_, reqwest::Error>((ready, ticket, anonymous))
    });
    drop(child);
    let (ready, ticket, anonymous) = result.unwrap();
    assert_eq!(ready, 200);
    assert_eq!(anonymous, 401);
    assert_eq!(ticket["number"], "INS-1050");
}

#[test]
fn users_and_tokens_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let (ok, text) = output(desk(&url).args([
        "user",
        "add",
        "--email",
        "Lead@Example.com",
        "--role",
        "owner",
    ]));
    assert!(ok, "{text}");
    assert!(
        text.contains("user lead@example.com added as owner"),
        "{text}"
    );
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix("one-time password: "))
        .expect("password printed");
    assert_eq!(password.trim().len(), 20);
    let (ok, text) = output(desk(&url).args([
        "user",
        "add",
        "--email",
        "lead@example.com",
        "--role",
        "owner",
    ]));
    assert!(!ok && text.contains("already has an account"), "{text}");
    let (ok, text) =
        output(desk(&url).args(["user", "add", "--email", "x@example.com", "--role", "boss"]));
    assert!(!ok && text.contains("unknown role 'boss'"), "{text}");
    let (ok, text) = output(desk(&url).args([
        "token",
        "create",
        "--name",
        "profiler",
        "--scopes",
        "ingest,read",
    ]));
    assert!(ok && text.contains("scopes ingest,read"), "{text}");
    let id = text.split_whitespace().nth(1).unwrap().to_string();
    let (ok, text) =
        output(desk(&url).args(["token", "create", "--name", "x", "--scopes", "root"]));
    assert!(!ok && text.contains("unknown scope 'root'"), "{text}");
    let (ok, text) = output(desk(&url).args(["token", "revoke", &id]));
    assert!(ok && text.contains("revoked"), "{text}");
    let (ok, text) = output(desk(&url).args(["token", "revoke", &id]));
    assert!(!ok && text.contains("no live token"), "{text}");
}

/// `check-config` on the shipped model, then on one broken copy per kind of problem.
#[test]
fn check_config_accepts_the_shipped_model_and_names_each_problem() {
    let (ok, text) = output(desk("sqlite://unused.db").arg("check-config"));
    assert!(ok, "{text}");
    assert!(text.contains("Routing (first match wins)"), "{text}");
    assert!(
        text.contains("drill mail: launch-drill@inspect.example"),
        "{text}"
    );
    assert!(text.ends_with("OK\n"), "{text}");

    let shipped =
        std::fs::read_to_string(manifest_dir().join("config/support-model.toml")).unwrap();
    let broken = |from: &str, to: &str| {
        assert!(shipped.contains(from), "fixture does not apply: {from}");
        shipped.replacen(from, to, 1)
    };
    let cases = [
        (
            "unknown team in a rule",
            broken(
                "team = \"semantic-types\"\n\n[[routing.rules]]",
                "team = \"types\"\n\n[[routing.rules]]",
            ),
            "unknown team 'types'",
        ),
        (
            "unreachable contact",
            broken(
                "lead = \"ravi.menon@inspect.example\"",
                "lead = \"ravi.menon at inspect\"",
            ),
            "team 'semantic-types' lead",
        ),
        (
            "category routed by no rule",
            broken(
                "category = [\"wrong_column_type\"]",
                "category = [\"wrong_column_type\"]\nwarehouse_type = [\"duckdb\"]",
            ),
            "category wrong_column_type is routed by no rule",
        ),
        (
            "shadowed rule",
            broken(
                "warehouse_type = [\"snowflake\"]\ntable = [\"RAW.*\"]\n",
                "",
            ),
            "routing rule 'cloud-warehouse-profiling-failures' is shadowed by the earlier rule 'snowflake-raw-zone'",
        ),
        (
            "team without work or runbook",
            broken(
                "category = [\"failed_report\"]\nteam = \"reports\"",
                "category = [\"failed_report\"]\nteam = \"support\"",
            ),
            "team 'reports' is the target of no routing rule",
        ),
        (
            "bad duration",
            broken("first_response = \"2h\"", "first_response = \"two hours\""),
            "sla.sev2.first_response",
        ),
        (
            "unknown calendar",
            broken("calendar = \"support-hours\"", "calendar = \"office\""),
            "unknown calendar 'office'",
        ),
        (
            "unreachable drill recipient",
            broken(
                "recipients = [\"launch-drill@inspect.example\"]",
                "recipients = [\"launch drill\"]",
            ),
            "drills.recipients",
        ),
        (
            "incident rule with a bad threshold",
            broken("threshold_percent = 20", "threshold_percent = 200"),
            "incidents.rules 'failure-rate': threshold_percent",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, text, expected) in cases {
        let path = dir.path().join("model.toml");
        std::fs::write(&path, &text).unwrap();
        let (ok, out) = output(
            desk("sqlite://unused.db")
                .env("DESK_SUPPORT_MODEL", &path)
                .arg("check-config"),
        );
        assert!(!ok, "{what}: check-config passed a broken model:\n{out}");
        assert!(
            out.contains(expected),
            "{what}: expected '{expected}' in:\n{out}"
        );
    }
}

/// SIGTERM while a large NDJSON batch is being stored: the server stops taking new
/// connections but finishes the request in flight (all of it stored), then exits 0.
#[test]
fn graceful_shutdown_finishes_in_flight_requests() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let token = create_token(&url, "ingest");
    let (mut child, base, _, _output) = start_serve(
        desk(&url)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DESK_BACKGROUND_JOBS", "false"),
    );
    // 50,000 runs: seconds of work for a debug build.
    let mut body = String::new();
    for i in 0..50_000 {
        body.push_str(&format!(
            "{{\"run_id\":\"shutdown-{i}\",\"warehouse_type\":\"duckdb\",\"table\":\"local.main.t{}\",\"status\":\"succeeded\",\"started_at\":\"2026-11-20T10:00:00Z\",\"finished_at\":\"2026-11-20T10:00:05Z\",\"columns\":[{{\"name\":\"id\",\"semantic_type\":\"identifier\"}}]}}\n",
            i % 100
        ));
    }
    let pid = child.0.id();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (status, answered_after_signal, refused) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let request = client
            .post(format!("{base}/api/v1/runs"))
            .bearer_auth(&token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send();
        let in_flight = tokio::spawn(request);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let signalled = std::time::Instant::now();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let response = in_flight
            .await
            .unwrap()
            .expect("the in-flight request is answered");
        let answered_after_signal = signalled.elapsed() > std::time::Duration::from_millis(50);
        let status = response.status().as_u16();
        // New connections are refused once the server is shutting down.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let refused = reqwest::Client::new()
            .get(format!("{base}/healthz"))
            .timeout(std::time::Duration::from_secs(2))
            .send()
            .await
            .is_err();
        (status, answered_after_signal, refused)
    });
    assert_eq!(status, 201, "the batch in flight was stored");
    assert!(
        answered_after_signal,
        "the batch was answered before SIGTERM: make it bigger so the test proves something"
    );
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "graceful exit: {exit:?}");
    assert!(refused, "no new requests after shutdown began");
    // Every run of the batch is in the database.
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn =
        diesel::SqliteConnection::establish(&dir.path().join("desk.db").to_string_lossy()).unwrap();
    let stored: Vec<Count> =
        diesel::sql_query("SELECT COUNT(*) AS n FROM runs WHERE run_id LIKE 'shutdown-%'")
            .load(&mut conn)
            .unwrap();
    assert_eq!(stored[0].n, 50_000);
}

/// Output piped into a reader that has gone (`inspect-desk … | head`) ends the command
/// quietly, as a Unix tool killed by SIGPIPE ends (status 141), not with a panic.
#[test]
fn a_closed_pipe_ends_a_verb_quietly() {
    let mut child = desk("sqlite://unused.db")
        .args(["route", "--category", "other"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start inspect-desk");
    // The reader goes before the verb has started to print.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for inspect-desk");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.status.code() == Some(141) || out.status.success(),
        "{:?}: {stderr}",
        out.status
    );
}

#[test]
fn a_closed_stderr_still_ends_a_failed_verb_with_its_status() {
    let mut child = desk("mysql://nowhere/desk")
        .arg("migrate")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start inspect-desk");
    // No one is left to read the error: the desk still fails with 1, not a panic's 101.
    drop(child.stderr.take());
    let status = child.wait().expect("wait for inspect-desk");
    assert_eq!(status.code(), Some(1), "{status:?}");
}

/// Requests that outnumber the database's connections queue on the server's workers
/// instead of each starting a thread (threads that, under steady traffic, never retire).
/// 120 reports filed at once while another process holds SQLite's write lock leave the
/// server a handful of threads above idle, not one per request; once the lock goes every
/// report is stored.
#[test]
fn a_burst_of_requests_queues_instead_of_starting_a_thread_each() {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    const BURST: usize = 120;
    const POOL: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desk.db");
    let url = format!("sqlite://{}", path.display());
    let (server, base, _, _output) = start_serve(
        desk(&url)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DESK_DATA_DIR", dir.path().join("data"))
            .env("DESK_POOL_SIZE", POOL.to_string())
            .env("DESK_REPORT_RATE_PER_MINUTE", "0")
            .env("DESK_BACKGROUND_JOBS", "false"),
    );
    let tasks = format!("/proc/{}/task", server.0.id());
    let threads = move || {
        std::fs::read_dir(&tasks)
            .expect("the server's threads")
            .count()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let report = |i: usize| {
        crate::triage::report(
            "ana@example.com",
            "stale_profile",
            "minor",
            &format!("burst report {i}"),
        )
    };
    // Warm up: one report starts what a request needs (a blocking thread per worker,
    // the writer, the threshold rules' thread).
    runtime.block_on(async {
        let filed = client
            .post(format!("{base}/api/v1/reports"))
            .json(&report(BURST))
            .send()
            .await
            .unwrap();
        assert_eq!(filed.status(), 201);
    });
    let idle = threads();

    let mut lock = diesel::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
    lock.batch_execute("BEGIN IMMEDIATE").unwrap();
    let (most, statuses) = runtime.block_on(async {
        let requests: Vec<_> = (0..BURST)
            .map(|i| {
                let sent = client
                    .post(format!("{base}/api/v1/reports"))
                    .json(&report(i))
                    .send();
                tokio::spawn(async move { sent.await.map(|r| r.status().as_u16()) })
            })
            .collect();
        // Well within the 5 s a request waits for a pooled connection.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let mut most = 0;
        while std::time::Instant::now() < until {
            most = most.max(threads());
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        lock.batch_execute("ROLLBACK").unwrap();
        let mut statuses = Vec::new();
        for request in requests {
            statuses.push(request.await.unwrap().expect("the server answered"));
        }
        (most, statuses)
    });
    // A worker per core (actix's default), each with at most POOL blocking threads, and
    // a few to spare.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    assert!(
        most <= idle + workers * POOL + 4,
        "{most} threads under a burst of {BURST} requests, {idle} idle"
    );
    assert!(
        statuses.iter().all(|&s| s == 201),
        "every report is stored once the lock goes: {statuses:?}"
    );
}
