//! The test app: the real server on a random port with a fresh database per test.

use diesel::{Connection, PgConnection, RunQueryDsl};
use inspect_desk::clock::Clock;
use inspect_desk::config::Settings;
use inspect_desk::domain::role::{Role, Scope};
use inspect_desk::services::accounts::{self, Actor};
use inspect_desk::services::tokens;
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
                    "SKIPPED (PostgreSQL): TEST_DATABASE_URL is not set; the PostgreSQL part of this test did not run"
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
        Self::create(backend, "")
    }

    /// On PostgreSQL, a database whose default collation is ICU's linguistic `en-US`
    /// (`'a' < 'B'`) rather than the machine's byte order; SQLite has no such default.
    pub fn linguistic(backend: &Backend) -> TestDb {
        Self::create(
            backend,
            " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'",
        )
    }

    fn create(backend: &Backend, options: &str) -> TestDb {
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
                diesel::sql_query(format!("CREATE DATABASE {name}{options}"))
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

/// The `inspect-desk` binary on the database at `db_url`, with the shipped support model
/// and quiet logs.
pub fn desk_cli(db_url: &str) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_inspect-desk"));
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

/// Settings for a test instance: port 0, the shipped support model, a temp data folder.
pub fn test_settings(db: &TestDb) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database_url: db.url.clone(),
        data_dir: db.dir().join("data"),
        support_model: manifest_dir().join("config/support-model.toml"),
        pool_size: 4,
        // Tests file many reports from one address; the limits have tests of their own.
        report_rate_per_minute: 0,
        reply_rate_per_minute: 0,
        sign_in_rate_per_minute: 0,
        // Tests run jobs explicitly (`run_pending_jobs`, sweeps at chosen instants).
        background_jobs: false,
        ..Settings::default()
    }
}

pub struct TestApp {
    pub address: String,
    /// A browser-like client: keeps cookies, does not follow redirects.
    pub client: reqwest::Client,
    pub desk: actix_web::web::Data<Desk>,
    pub clock: Clock,
    pub settings: Settings,
    /// Kept for its lifetime: the database goes when the app does.
    _db: TestDb,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawn with adjusted settings.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        Self::spawn_on(TestDb::new(&backend), adjust).await
    }

    /// Spawn on a database made for the test.
    pub async fn spawn_on(db: TestDb, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = test_settings(&db);
        adjust(&mut settings);
        let clock = Clock::system();
        let app = Application::build(&settings, clock.clone()).expect("app builds");
        let address = format!("http://{}", app.address());
        let desk = app.desk();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            client: browser_client(),
            desk,
            clock,
            settings,
            _db: db,
        }
    }

    /// Run one delivery pass now (as the background job would).
    pub async fn deliver(&self) -> inspect_desk::services::delivery::DeliveryReport {
        inspect_desk::services::delivery::deliver_due(&self.desk, &self.desk.mailer)
            .await
            .expect("delivery pass")
    }

    /// Run one escalation sweep at the app's (movable) now.
    pub async fn sweep(&self) -> inspect_desk::services::escalation::SweepReport {
        let desk = self.desk.clone();
        tokio::task::spawn_blocking(move || {
            inspect_desk::services::escalation::sweep(&desk, desk.clock.now())
        })
        .await
        .unwrap()
        .expect("sweep")
    }

    /// A fresh client: no cookies, no session.
    pub fn new_client(&self) -> reqwest::Client {
        browser_client()
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

    /// POST a form the way a browser would: with the CSRF token of a page it loaded.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.post_form_as(&self.client, path, fields).await
    }

    pub async fn post_form_as(
        &self,
        client: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let token = self.csrf_token(client).await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        client
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .expect("POST form")
    }

    /// The body of the page at `path` as `client` (signed in or not) gets it.
    pub async fn page_as(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The CSRF token a page hands this client (setting its cookie on first visit).
    pub async fn csrf_token(&self, client: &reqwest::Client) -> String {
        hidden_field(&self.page_as(client, "/login").await, "csrf_token")
    }

    /// Sign `client` in; asserts the redirect that means success.
    pub async fn sign_in(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let response = self
            .post_form_as(
                client,
                "/login",
                &[("email", email), ("password", password)],
            )
            .await;
        assert_eq!(response.status(), 303, "sign-in of {email} failed");
        response
    }

    /// Create an account directly; returns its id.
    pub fn create_user(&self, email: &str, role: Role, password: &str) -> i64 {
        let mut conn = self.desk.pool.get().unwrap();
        let actor = Actor {
            name: "test",
            ip: None,
        };
        let now = self.desk.clock.now();
        let (user, _) =
            accounts::create_user(&mut conn, &actor, email, None, role, Some(password), now)
                .unwrap();
        user.id
    }

    /// A client signed in with a new account of `role`, and its email.
    pub async fn signed_in(&self, role: Role) -> (reqwest::Client, String) {
        let email = format!(
            "{}-{}@example.com",
            role.as_str(),
            uuid::Uuid::new_v4().simple()
        );
        self.create_user(&email, role, "a-long-test-password");
        let client = self.new_client();
        self.sign_in(&client, &email, "a-long-test-password").await;
        (client, email)
    }

    /// A bearer token with these scopes.
    pub fn token(&self, scopes: &[Scope]) -> String {
        let mut conn = self.desk.pool.get().unwrap();
        let actor = Actor {
            name: "test",
            ip: None,
        };
        tokens::create(
            &mut conn,
            &actor,
            "test token",
            scopes,
            self.desk.clock.now(),
        )
        .unwrap()
        .plain
    }

    /// GET an API path with a read token.
    pub async fn api_get(&self, path: &str) -> reqwest::Response {
        let token = self.token(&[Scope::Read]);
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET api")
    }

    /// GET with a read token, the body as JSON (whatever the status).
    pub async fn api_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.api_get(path)
            .await
            .json()
            .await
            .expect("GET api: a JSON body")
    }

    /// POST JSON with an ingest token.
    pub async fn ingest(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        let token = self.token(&[Scope::Ingest]);
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("POST ingest")
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
    /// POST an NDJSON batch of runs to `/api/v1/runs` with an ingest token.
    pub async fn post_ndjson(&self, body: String) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/runs"))
            .bearer_auth(self.token(&[Scope::Ingest]))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .expect("POST NDJSON")
    }

    pub async fn post_run(&self, run: serde_json::Value) {
        let response = self.ingest("/api/v1/runs", &run).await;
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

fn browser_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("http client")
}

/// The value of a hidden input in a page.
pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in page"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

/// RFC 3339 for "now minus `minutes`".
pub fn minutes_ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::TimeDelta::minutes(minutes)).to_rfc3339()
}
