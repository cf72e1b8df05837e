//! Per-address rate limits for anonymous writes (reports) and sign-in attempts.

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

/// A limiter per client address; `None` when the limit is switched off (0).
pub struct Limit {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    checks: AtomicU64,
}

/// Every this many checks, forget addresses whose quota has refilled, so the map of
/// addresses does not grow without bound.
const PRUNE_EVERY: u64 = 4096;

impl Limit {
    /// `per_minute` requests a minute per address (all of them at once, if need be).
    pub fn per_minute(per_minute: u32) -> Self {
        let limiter =
            NonZeroU32::new(per_minute).map(|rate| RateLimiter::keyed(Quota::per_minute(rate)));
        Limit {
            limiter,
            checks: AtomicU64::new(0),
        }
    }

    /// May this address go ahead now?
    pub fn allow(&self, addr: Option<IpAddr>) -> bool {
        match (&self.limiter, addr) {
            (Some(limiter), Some(ip)) => {
                if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
                    limiter.retain_recent();
                }
                limiter.check_key(&ip).is_ok()
            }
            _ => true,
        }
    }
}

/// The desk's limits.
pub struct Limits {
    pub reports: Limit,
    pub sign_in: Limit,
}
