//! The test app: the real server on a random port with a fresh database per test.

use diesel::{Connection, PgConnection, RunQueryDsl};
use inspect_desk::clock::Clock;
use inspect_desk::config::Settings;
use inspect_desk::startup::Application;
use inspect_desk::state::Desk;
use std::path::PathBuf;

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// PostgreSQL from `TEST_DATABASE_URL`. Without it the test says loudly that it
    /// skipped; in CI (`CI` set) a missing PostgreSQL is a failure, not a skip.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ if std::env::var_os("CI").is_some() => {
                panic!("CI is set but TEST_DATABASE_URL is not: PostgreSQL tests must run in CI")
            }
            _ => {
                eprintln!(
                    "SKIPPED (PostgreSQL): TEST_DATABASE_URL is not set; this test ran on SQLite only"
                );
                None
            }
        }
    }
}

/// Generate a SQLite and a PostgreSQL variant of each listed `async fn name(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = $crate::helpers::Backend::postgres() {
                        super::$name(backend).await
                    }
                }
            )*
        }
    };
}

/// A database of its own for one test; dropped with it.
pub struct TestDb {
    pub url: String,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub fn new(backend: &Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.path().join("desk.db").display()),
                _dir: dir,
                postgres: None,
            },
            Backend::Postgres(admin_url) => {
                let name = format!("desk_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin =
                    PgConnection::establish(admin_url).expect("connect to TEST_DATABASE_URL");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create test database");
                TestDb {
                    url: replace_database(admin_url, &name),
                    _dir: dir,
                    postgres: Some((admin_url.clone(), name)),
                }
            }
        }
    }

    pub fn dir(&self) -> PathBuf {
        self._dir.path().to_path_buf()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

/// `postgres://user@host:port/db?x` with another database name.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Settings for a test instance: port 0, the shipped support model, a temp data folder.
pub fn test_settings(db: &TestDb) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database_url: db.url.clone(),
        data_dir: db.dir().join("data"),
        support_model: manifest_dir().join("config/support-model.toml"),
        pool_size: 4,
        ..Settings::default()
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub desk: actix_web::web::Data<Desk>,
    /// Kept for its lifetime: the database goes when the app does.
    _db: TestDb,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        let db = TestDb::new(&backend);
        let settings = test_settings(&db);
        let app = Application::build(&settings, Clock::system()).expect("app builds");
        let address = format!("http://{}", app.address());
        let desk = app.desk();
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        TestApp {
            address,
            client,
            desk,
            _db: db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST json")
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST form")
    }

    /// File a report through the API and return the ticket JSON (asserting 201).
    pub async fn file_report(&self, body: serde_json::Value) -> serde_json::Value {
        let response = self.post_json("/api/v1/reports", &body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 201, "report not created: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// Store one run through the API (asserting success).
    pub async fn post_run(&self, run: serde_json::Value) {
        let response = self.post_json("/api/v1/runs", &run).await;
        let status = response.status();
        assert!(
            status.is_success(),
            "run not stored: {status} {}",
            response.text().await.unwrap()
        );
    }

    /// Rows in a table, read straight from the database.
    pub fn count(&self, table: &str) -> i64 {
        use diesel::sql_types::BigInt;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut conn = self.desk.pool.get().unwrap();
        let rows: Vec<Count> = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .load(&mut *conn)
            .unwrap();
        rows[0].n
    }
}

/// RFC 3339 for "now minus `minutes`".
pub fn minutes_ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::TimeDelta::minutes(minutes)).to_rfc3339()
}
