//! `inspect-desk import-runs FILE` through the real binary: NDJSON and CSV, batches stored
//! all or nothing, bad lines named.

use std::process::Command;

use inspect_desk::db::models::run::Run;
use inspect_desk::db::{self, DatabaseUrl};

use crate::helpers::{Backend, TestDb, manifest_dir};
use crate::on_both_backends;

on_both_backends!(
    imports_ndjson_and_csv,
    bad_lines_reject_only_their_batch,
    times_no_run_can_have_are_refused_by_line_and_field
);

fn import(db: &TestDb, file: &std::path::Path, extra: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_inspect-desk"))
        .env("DESK_DATABASE_URL", &db.url)
        .env(
            "DESK_SUPPORT_MODEL",
            manifest_dir().join("config/support-model.toml"),
        )
        .env("RUST_LOG", "warn")
        .env_remove("DESK_CONFIG")
        .arg("import-runs")
        .arg(file)
        .args(extra)
        .output()
        .expect("run inspect-desk");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn runs(db: &TestDb) -> Vec<Run> {
    let pool = db::pool(&DatabaseUrl::parse(&db.url).unwrap(), 1).unwrap();
    let mut conn = pool.get().unwrap();
    let mut found = Vec::new();
    for id in ["n-1", "n-2", "n-3", "n-4", "n-5", "c-1", "c-2"] {
        if let Some(run) = Run::find(&mut conn, id).unwrap() {
            found.push(run);
        }
    }
    found
}

fn line(id: &str, status: &str) -> String {
    format!(
        r#"{{"run_id": "{id}", "warehouse_type": "snowflake", "table": "A.B.C", "status": "{status}", "started_at": "2026-11-20T10:00:00Z", "finished_at": "2026-11-20T10:01:00Z"}}"#
    )
}

async fn imports_ndjson_and_csv(backend: Backend) {
    let db = TestDb::new(&backend);
    let ndjson = db.dir().join("runs.ndjson");
    let lines = [
        line("n-1", "succeeded"),
        String::new(),
        line("n-2", "failed"),
    ];
    std::fs::write(&ndjson, lines.join("\n")).unwrap();
    let (ok, stdout, stderr) = import(&db, &ndjson, &[]);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("imported 2 runs (2 new, 0 replaced)"),
        "{stdout}"
    );
    // Columns in any order; quoted errors may hold commas and newlines; blanks are absent.
    let csv = db.dir().join("export.txt");
    std::fs::write(
        &csv,
        "status,run_id,table,warehouse_type,started_at,finished_at,error\n\
         timed_out,c-1,proj.core.users,bigquery,2026-11-20T10:00:00Z,2026-11-20T11:00:00Z,\"Job timed out, after 1h\nretry later\"\n\
         running,c-2,public.orders,postgres,2026-11-20T10:00:00+01:00,,\n\
         succeeded,n-1,A.B.C,snowflake,2026-11-20T10:00:00Z,2026-11-20T10:05:00Z,\n",
    )
    .unwrap();
    let (ok, stdout, stderr) = import(&db, &csv, &[]);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("imported 3 runs (2 new, 1 replaced)"),
        "{stdout}"
    );
    let stored = runs(&db);
    assert_eq!(stored.len(), 4);
    let c1 = stored.iter().find(|r| r.run_id == "c-1").unwrap();
    assert_eq!(c1.status.as_str(), "timed_out");
    assert_eq!(
        c1.error.as_deref(),
        Some("Job timed out, after 1h\nretry later")
    );
    let c2 = stored.iter().find(|r| r.run_id == "c-2").unwrap();
    assert_eq!((c2.finished_at, c2.error.as_deref()), (None, None));
    assert_eq!(c2.started_at.to_string(), "2026-11-20 09:00:00");
    let n1 = stored.iter().find(|r| r.run_id == "n-1").unwrap();
    assert_eq!(
        n1.duration_ms,
        Some(300_000),
        "the CSV line replaced the NDJSON one"
    );
}

async fn bad_lines_reject_only_their_batch(backend: Backend) {
    let db = TestDb::new(&backend);
    let file = db.dir().join("runs.jsonl");
    let lines = [
        line("n-1", "succeeded"),
        line("n-2", "succeeded"),
        line("n-3", "succeeded"),
        line("n-4", "exploded"),
        line("n-5", "failed"),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let (ok, stdout, stderr) = import(&db, &file, &["--batch-size", "2"]);
    assert!(!ok, "a rejected batch fails the import");
    assert!(
        stderr.contains("line 4: status: unknown run status 'exploded'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 batch(es) of up to 2 lines were not imported"),
        "{stderr}"
    );
    assert!(stdout.contains("imported 3 runs"), "{stdout}");
    let ids: Vec<String> = runs(&db).into_iter().map(|r| r.run_id).collect();
    assert_eq!(
        ids,
        ["n-1", "n-2", "n-5"],
        "the batch of lines 3-4 is stored not at all"
    );
    // A CSV with an unknown column is refused before anything is read.
    let csv = db.dir().join("bad.csv");
    std::fs::write(&csv, "run_id,warehouse,table,status,started_at\nx,snowflake,A.B.C,running,2026-11-20T10:00:00Z\n").unwrap();
    let (ok, _, stderr) = import(&db, &csv, &[]);
    assert!(
        !ok && stderr.contains("unknown column 'warehouse'"),
        "{stderr}"
    );
    let garbled = db.dir().join("garbled.ndjson");
    std::fs::write(&garbled, "{\"run_id\": \"n-9\", \"colour\": 1}\nnot json\n").unwrap();
    let (ok, _, stderr) = import(&db, &garbled, &[]);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("line 1: not a run record: unknown field `colour`"),
        "{stderr}"
    );
    assert!(stderr.contains("line 2: not a run record"), "{stderr}");
}

/// A CSV export's impossible times: each line named with its field; nothing stored.
async fn times_no_run_can_have_are_refused_by_line_and_field(backend: Backend) {
    let db = TestDb::new(&backend);
    let csv = db.dir().join("times.csv");
    std::fs::write(
        &csv,
        "run_id,warehouse_type,table,status,started_at,finished_at\n\
         n-1,snowflake,A.B.C,succeeded,9999-12-30T00:00:00Z,\n\
         n-2,snowflake,A.B.C,succeeded,0001-01-01T00:00:00Z,\n\
         n-3,snowflake,A.B.C,succeeded,2026-10-01T00:00:00Z,2026-11-20T00:00:00Z\n",
    )
    .unwrap();
    let (ok, stdout, stderr) = import(&db, &csv, &[]);
    assert!(!ok, "{stdout}{stderr}");
    for expected in [
        "line 2: started_at: more than a day ahead",
        "line 3: started_at: a run cannot start before 2000-01-01",
        "line 4: finished_at: a run lasts at most 30 days",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    assert!(runs(&db).is_empty());
}
