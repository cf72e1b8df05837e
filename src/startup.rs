//! Building the application: shared by `main` and the tests (which bind port 0).

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use std::net::TcpListener;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{self, migrate};
use crate::email::MailContext;
use crate::email::transport::Mailer;
use crate::error::AppError;
use crate::services::monitor::MonitorCache;
use crate::state::{AfterIngest, AuthSettings, Desk};
use crate::telemetry::metrics;
use crate::web::auth::limits::{Limit, Limits};
use crate::web::auth::session_store::{self, DbSessionStore};
use crate::web::auth::{csrf, viewer};
use crate::web::{api::ApiError, middleware, pages::PageError, routes};
use actix_session::SessionMiddleware;
use actix_session::config::PersistentSession;
use actix_web::cookie::{Key, SameSite};
use actix_web::middleware::from_fn;
use std::sync::Arc;

pub struct Application {
    server: Server,
    address: String,
    desk: web::Data<Desk>,
}

impl Application {
    /// Connect, migrate, load the support model and bind the listener.
    pub fn build(settings: &Settings, clock: Clock) -> Result<Self, String> {
        // Before anything is counted: earlier increments would be lost.
        metrics::install();
        let desk = build_desk(settings, clock, None)?;
        // Train the classifier beside the start rather than on the first report; a report
        // that comes first waits for it.
        let classifier = desk.classifier.clone();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let examples = classifier.model().examples;
            let seconds = started.elapsed().as_secs_f64();
            tracing::info!(examples, seconds, "classifier trained");
        });
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
        let address = listener
            .local_addr()
            .map_err(|e| e.to_string())?
            .to_string();
        let desk = Desk {
            mail: MailContext::new(
                &settings.public_url(&address),
                &settings.mail_from,
                settings.support_address.as_deref(),
            ),
            ..desk
        };
        // The threshold rules' cache, shared by the rules after ingest and the sweep.
        let rules_cache = Arc::new(MonitorCache::default());
        let debounce = std::time::Duration::from_millis(settings.monitor_debounce_ms.into());
        let desk = web::Data::new(Desk {
            after_ingest: crate::jobs::after_ingest::start(&desk, rules_cache.clone(), debounce),
            ..desk
        });
        let limits = web::Data::new(Limits {
            reports: Limit::per_minute(settings.report_rate_per_minute),
            sign_in: Limit::per_minute(settings.sign_in_rate_per_minute),
            replies: Limit::per_minute(settings.reply_rate_per_minute),
        });
        let sessions = SessionSettings {
            key: Key::from(&settings.session_key()?),
            ttl: settings.session_ttl()?,
            secure: desk.mail.base_url.starts_with("https://"),
        };
        let server = serve(listener, desk.clone(), limits, sessions)
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let retention = settings.run_retention()?;
        // A mailbox URL that cannot work stops the start, as other bad settings do.
        let mailbox = crate::email::imap::Mailbox::from_settings(settings)?;
        if let Some(retention) = retention {
            crate::services::retention::check(retention, &desk.model)?;
        }
        if settings.background_jobs {
            tracing::info!(
                mail = desk.mailer.describe(),
                "background delivery and escalation sweeps started"
            );
            crate::jobs::spawn(desk.clone(), desk.mailer.clone(), retention, rules_cache);
            if let Some(mailbox) = mailbox {
                tracing::info!(
                    mailbox = %mailbox.url.describe(),
                    every_seconds = settings.imap_poll_seconds,
                    "reading the mailbox"
                );
                let every = std::time::Duration::from_secs(settings.imap_poll_seconds.into());
                crate::jobs::spawn_imap_poll(desk.clone(), mailbox, every);
            }
        }
        Ok(Application {
            server,
            address,
            desk,
        })
    }

    /// `host:port` actually bound (useful when the settings said port 0).
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn desk(&self) -> web::Data<Desk> {
        self.desk.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Everything but the listener: used by the CLI verbs too. Applies pending migrations.
pub fn build_desk(
    settings: &Settings,
    clock: Clock,
    base_url: Option<&str>,
) -> Result<Desk, String> {
    let model = settings.load_support_model()?;
    let url = settings.database()?;
    let pool = db::pool(&url, settings.pool_size)?;
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    let applied = migrate::run_pending(&mut conn)?;
    if !applied.is_empty() {
        tracing::info!(
            count = applied.len(),
            backend = url.backend(),
            "applied migrations"
        );
    }
    // A database from before the hourly roll-ups gets them from its runs, once.
    let started = std::time::Instant::now();
    let backfilled = crate::services::rollups::backfill(&mut conn)
        .map_err(|e| format!("cannot build the hourly run roll-ups: {e}"))?;
    if backfilled > 0 {
        tracing::info!(
            runs = backfilled,
            seconds = started.elapsed().as_secs_f64(),
            "hourly run roll-ups built"
        );
    }
    let classifier = crate::services::classifier::start(&mut conn)
        .map_err(|e| format!("cannot train the classifier: {e}"))?;
    drop(conn);
    let base_url = settings.public_url(base_url.unwrap_or(&settings.bind));
    Ok(Desk {
        pool,
        model,
        clock,
        mail: MailContext::new(
            &base_url,
            &settings.mail_from,
            settings.support_address.as_deref(),
        ),
        attachment_limits: crate::domain::attachment::Limits {
            max_file_bytes: settings.attachment_max_file_bytes,
            max_total_bytes: settings.attachment_max_total_bytes,
            max_files: settings.attachment_max_files,
        },
        mail_per_sender_per_minute: settings.mail_per_sender_per_minute,
        max_body_bytes: settings.max_body_bytes,
        auth: AuthSettings {
            proxy_header: settings.auth_proxy_header.clone(),
            proxy_addresses: settings.proxy_addresses()?,
            trusted_proxies: settings.forwarding_proxies()?,
        },
        signing_key: Arc::new(settings.session_key()?),
        mailer: Mailer::new(
            settings.smtp_url.as_ref().map(|s| s.expose()),
            &settings.data_dir,
        )?,
        after_ingest: AfterIngest::default(),
        drill: crate::domain::drill::LIVE,
        classifier,
    })
}

/// How session cookies are made.
struct SessionSettings {
    key: Key,
    ttl: std::time::Duration,
    secure: bool,
}

fn serve(
    listener: TcpListener,
    desk: web::Data<Desk>,
    limits: web::Data<Limits>,
    sessions: SessionSettings,
) -> std::io::Result<Server> {
    let store = DbSessionStore::new(desk.pool.clone(), desk.clock.clone());
    let max_blocking = blocking_threads(desk.pool.max_size());
    let ttl = actix_web::cookie::time::Duration::seconds(sessions.ttl.as_secs() as i64);
    let server = HttpServer::new(move || {
        let session = SessionMiddleware::builder(store.clone(), sessions.key.clone())
            .cookie_name(session_store::cookie_name(sessions.secure).into())
            .cookie_http_only(true)
            .cookie_secure(sessions.secure)
            .cookie_same_site(SameSite::Lax)
            .session_lifecycle(PersistentSession::default().session_ttl(ttl))
            .build();
        let limit = desk.max_body_bytes;
        App::new()
            .app_data(desk.clone())
            .app_data(limits.clone())
            .app_data(web::PayloadConfig::new(limit))
            .app_data(
                web::FormConfig::default()
                    .limit(limit)
                    .error_handler(|err, _| {
                        PageError(AppError::BadRequest(format!(
                            "The form could not be read: {err}"
                        )))
                        .into()
                    }),
            )
            // A query string that does not fit the handler's fields: 400 in the surface's
            // own format (a problem document on the API), not actix's plain text.
            .app_data(web::QueryConfig::default().error_handler(|err, req| {
                let error =
                    AppError::BadRequest(format!("the query string could not be read: {err}"));
                if req.path().starts_with("/api/") {
                    ApiError(error).into()
                } else {
                    PageError(error).into()
                }
            }))
            // Innermost first: CSRF, then who is asking, then the session they carry.
            .wrap(from_fn(crate::web::pages::error::signed_in_error_pages))
            .wrap(from_fn(crate::web::flash::carry))
            .wrap(from_fn(csrf::protect))
            .wrap(from_fn(viewer::identify))
            .wrap(session)
            .wrap(from_fn(middleware::log_requests))
            // Outermost: every answer carries them, errors of the layers inside included.
            .wrap(middleware::security_headers())
            .configure(routes::configure)
            .default_service(web::to(not_found))
    })
    .listen(listener)?
    .worker_max_blocking_threads(max_blocking)
    .shutdown_timeout(10)
    .run();
    Ok(server)
}

/// Threads each worker may start for its blocking work (database queries, password
/// hashing, waiting for the SQLite writer). Under overload actix's default, hundreds of
/// threads shared out among the workers, gave each queued request a thread of its own;
/// the threads stayed alive as long as traffic kept resetting their idle timer, and glibc
/// gave them malloc arenas that never shrank back. More threads than pooled connections
/// only wait for one, so a worker gets as many as the pool holds (at least 4: hashing and
/// waiting for the writer need no connection); the rest of the work queues on the worker
/// instead. No blocking task waits for another one (the writer and the monitor are
/// threads of their own), so the cap cannot deadlock.
fn blocking_threads(pool_size: u32) -> usize {
    (pool_size as usize).max(4)
}

async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, actix_web::Error> {
    if req.path().starts_with("/api/") {
        Err(ApiError(AppError::NotFound).into())
    } else {
        Err(PageError(AppError::NotFound).into())
    }
}
