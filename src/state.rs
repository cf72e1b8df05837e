//! What every request handler and job shares.

use crate::clock::Clock;
use crate::db::DbPool;
use crate::domain::support_model::SupportModel;
use crate::email::MailContext;

pub struct Desk {
    pub pool: DbPool,
    pub model: SupportModel,
    pub clock: Clock,
    pub mail: MailContext,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Desk {
    /// The same desk seen through another clock (demo data, drills).
    pub fn with_clock(&self, clock: Clock) -> Desk {
        Desk {
            pool: self.pool.clone(),
            model: self.model.clone(),
            clock,
            mail: self.mail.clone(),
            max_body_bytes: self.max_body_bytes,
        }
    }
}
