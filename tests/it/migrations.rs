//! Migrations are mirrored: the same names for SQLite and PostgreSQL.

use std::collections::BTreeSet;

use crate::helpers::manifest_dir;

fn names(backend: &str) -> BTreeSet<String> {
    std::fs::read_dir(manifest_dir().join("migrations").join(backend))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn both_backends_have_the_same_migrations() {
    let sqlite = names("sqlite");
    let postgres = names("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres differ"
    );
    for name in &sqlite {
        for backend in ["sqlite", "postgres"] {
            for file in ["up.sql", "down.sql"] {
                let path = manifest_dir()
                    .join("migrations")
                    .join(backend)
                    .join(name)
                    .join(file);
                assert!(path.is_file(), "{} is missing", path.display());
            }
        }
    }
}

mod run_columns_inline {
    //! 2026-11-26-000011: a run's columns move from rows of `run_columns` onto the run,
    //! and back on revert.

    use std::path::Path;

    use diesel::prelude::*;
    use diesel::sql_types::{Nullable, Text};
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};
    use inspect_desk::db::DbConnection;
    use serde_json::{Value, json};

    use crate::helpers::{Backend, TestDb, manifest_dir};
    use crate::on_both_backends;

    on_both_backends!(columns_move_onto_their_runs_and_back);

    const BEFORE: &str = "2026-11-26-000010_ticket_window";

    const RUNS: &str = "INSERT INTO runs (run_id, warehouse_type, table_name, status, \
        started_at, received_at, drill) VALUES \
        ('typed', 'snowflake', 'A.B.C', 'succeeded', '2026-11-20 10:00:00', '2026-11-20 10:01:00', 0), \
        ('bare', 'duckdb', 'a.b.c', 'failed', '2026-11-20 11:00:00', '2026-11-20 11:01:00', 0)";
    const COLUMNS: &str = "INSERT INTO run_columns (run_id, column_name, semantic_type, confidence) \
        VALUES ('typed', 'email', 'email', 0.5), ('typed', 'id', NULL, NULL)";

    #[derive(QueryableByName)]
    struct Listed {
        #[diesel(sql_type = Text)]
        run_id: String,
        #[diesel(sql_type = Nullable<Text>)]
        profiled_columns: Option<String>,
    }

    #[derive(QueryableByName, Debug, PartialEq)]
    struct ColumnRow {
        #[diesel(sql_type = Text)]
        run_id: String,
        #[diesel(sql_type = Text)]
        column_name: String,
        #[diesel(sql_type = Nullable<Text>)]
        semantic_type: Option<String>,
    }

    fn migrations(folder: &Path) -> FileBasedMigrations {
        FileBasedMigrations::from_path(folder).unwrap()
    }

    /// Up to `BEFORE`; a run with two column rows and one with none; the rest; then back.
    fn check(mut conn: DbConnection, backend: &str) {
        let folder = &manifest_dir().join("migrations").join(backend);
        let steps = super::names(backend)
            .iter()
            .position(|n| n == BEFORE)
            .unwrap()
            + 1;
        for _ in 0..steps {
            conn.run_next_migration(migrations(folder)).unwrap();
        }
        diesel::sql_query(RUNS).execute(&mut conn).unwrap();
        diesel::sql_query(COLUMNS).execute(&mut conn).unwrap();
        conn.run_pending_migrations(migrations(folder)).unwrap();

        let runs: Vec<(String, Option<Value>)> =
            diesel::sql_query("SELECT run_id, profiled_columns FROM runs ORDER BY run_id")
                .load::<Listed>(&mut conn)
                .unwrap()
                .into_iter()
                .map(|r| {
                    let columns = r
                        .profiled_columns
                        .map(|t| serde_json::from_str(&t).unwrap());
                    (r.run_id, columns)
                })
                .collect();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0], ("bare".to_string(), None));
        assert_eq!(runs[1].0, "typed");
        let mut columns = runs[1].1.clone().unwrap().as_array().unwrap().clone();
        columns.sort_by_key(|c| c["name"].as_str().unwrap().to_string());
        assert_eq!(
            columns,
            vec![
                json!({"name": "email", "semantic_type": "email", "confidence": 0.5}),
                json!({"name": "id", "semantic_type": null, "confidence": null}),
            ]
        );

        // The view keeps operators' queries working; reverted, the rows are back.
        let rows = |conn: &mut DbConnection| {
            diesel::sql_query(
                "SELECT run_id, column_name, semantic_type FROM run_columns ORDER BY column_name",
            )
            .load::<ColumnRow>(conn)
            .unwrap()
        };
        let row = |name: &str, semantic: Option<&str>| ColumnRow {
            run_id: "typed".into(),
            column_name: name.into(),
            semantic_type: semantic.map(str::to_string),
        };
        let expected = vec![row("email", Some("email")), row("id", None)];
        assert_eq!(rows(&mut conn), expected);
        // Back to just before it (later migrations first).
        loop {
            let reverted = conn.revert_last_migration(migrations(folder)).unwrap();
            if reverted.to_string() == "20261126000011" {
                break;
            }
        }
        assert_eq!(rows(&mut conn), expected);
    }

    async fn columns_move_onto_their_runs_and_back(backend: Backend) {
        let db = TestDb::new(&backend);
        match backend {
            Backend::Sqlite => {
                let path = db.url.trim_start_matches("sqlite://");
                let conn = SqliteConnection::establish(path).unwrap();
                check(DbConnection::Sqlite(conn), "sqlite");
            }
            Backend::Postgres(_) => {
                let conn = PgConnection::establish(&db.url).unwrap();
                check(DbConnection::Postgres(conn), "postgres");
            }
        }
    }
}
