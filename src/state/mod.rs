//! What every request handler and job shares.

mod after_ingest;
mod classifier;

use std::sync::Arc;

use crate::clock::Clock;
use crate::db::{DbConnection, DbPool};
use crate::domain::support_model::SupportModel;
use crate::email::MailContext;
use crate::error::AppError;

pub use after_ingest::{AfterIngest, DueTypes, Work};
pub use classifier::{Classifier, Current};

pub struct Desk {
    pub pool: DbPool,
    pub model: SupportModel,
    pub clock: Clock,
    pub mail: MailContext,
    /// Where outgoing mail goes.
    pub mailer: crate::email::transport::Mailer,
    /// Largest request body accepted, in bytes (forms with files: the attachment limits).
    pub max_body_bytes: usize,
    /// How many and how large the files on one report, reply, comment or email may be.
    pub attachment_limits: crate::domain::attachment::Limits,
    /// New inbound messages a minute taken from one sender (0: no limit).
    pub mail_per_sender_per_minute: u32,
    pub auth: AuthSettings,
    /// Key signing links in emails (acknowledge); the session key.
    pub signing_key: Arc<Vec<u8>>,
    /// Where ingest hands over the work that follows it (`jobs::after_ingest`).
    pub after_ingest: AfterIngest,
    /// The drill this desk runs (`drill::LIVE` for the real one): what it creates is
    /// tagged with it, and its sweeps, rules and mail delivery see only that drill's data.
    pub drill: i64,
    /// The model reports are classified with; retrained in the background from the
    /// agents' corrections.
    pub classifier: Classifier,
}

/// Single sign-on through an auth proxy.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    pub proxy_header: Option<String>,
    /// Addresses (or ranges) the proxy header is honoured from.
    pub proxy_addresses: Vec<ipnet::IpNet>,
    /// Proxies whose `X-Forwarded-For` names the client (`web::auth::client`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Desk {
    /// Run `work` with a connection from the pool on the blocking pool, and return what it
    /// returns: diesel calls stay off the async workers, and `startup::blocking_threads`
    /// caps the threads each worker may start for them. No connection to be had is
    /// `AppError::Unavailable` (503); a blocking task that failed is an internal error.
    /// `work` is handed this desk too, so a caller need not clone it into the closure:
    /// `desk.db(move |conn, desk| …)`.
    ///
    /// A caller that shows some errors again (a form's `AppError::Invalid`) matches on the
    /// one `Result`; an outcome that is no error (a version conflict) is `Ok(Err(…))`.
    pub async fn db<T, F>(self: &Arc<Self>, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection, &Desk) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let desk = Arc::clone(self);
        actix_web::web::block(move || {
            let mut conn = desk.pool.get()?;
            work(&mut conn, &desk)
        })
        .await?
    }

    /// The same desk seen through another clock (demo data, drills).
    pub fn with_clock(&self, clock: Clock) -> Desk {
        Desk {
            pool: self.pool.clone(),
            model: self.model.clone(),
            clock,
            mail: self.mail.clone(),
            mailer: self.mailer.clone(),
            max_body_bytes: self.max_body_bytes,
            attachment_limits: self.attachment_limits,
            mail_per_sender_per_minute: self.mail_per_sender_per_minute,
            auth: self.auth.clone(),
            signing_key: self.signing_key.clone(),
            after_ingest: self.after_ingest.clone(),
            drill: self.drill,
            classifier: self.classifier.clone(),
        }
    }

    /// This desk as drill `id` runs it: its own movable clock, its own data. A drill
    /// runs what follows its ingest itself, at its own moved time.
    pub fn for_drill(&self, id: i64) -> Desk {
        Desk {
            drill: id,
            after_ingest: AfterIngest::default(),
            ..self.with_clock(Clock::system())
        }
    }

    /// This desk without the hand-off after ingest: for the workers that take it.
    pub fn without_after_ingest(&self) -> Desk {
        Desk {
            after_ingest: AfterIngest::default(),
            ..self.with_clock(self.clock.clone())
        }
    }
}
