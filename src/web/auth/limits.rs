//! Rate limits for anonymous writes (reports, tracking-page replies) and sign-in attempts:
//! per client address, and for replies per tracking link as well.

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

/// A limiter per key (a client address, say); off when the limit is 0.
pub struct Limit<K: Hash + Eq + Clone = IpAddr> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    checks: AtomicU64,
}

/// Every this many checks, forget keys whose quota has refilled, so the map of keys does
/// not grow without bound.
const PRUNE_EVERY: u64 = 4096;

impl<K: Hash + Eq + Clone> Limit<K> {
    /// `per_minute` requests a minute per key (all of them at once, if need be).
    pub fn per_minute(per_minute: u32) -> Self {
        let limiter =
            NonZeroU32::new(per_minute).map(|rate| RateLimiter::keyed(Quota::per_minute(rate)));
        Limit {
            limiter,
            checks: AtomicU64::new(0),
        }
    }

    /// May this key go ahead now? (No key, no limit: a request without a peer address.)
    pub fn allow(&self, key: Option<K>) -> bool {
        match (&self.limiter, key) {
            (Some(limiter), Some(key)) => {
                if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
                    limiter.retain_recent();
                }
                limiter.check_key(&key).is_ok()
            }
            _ => true,
        }
    }
}

/// What a tracking-page reply is counted against: its tracking link (one person flooding
/// their ticket) and its client address (one address flooding many), each with the same
/// allowance a minute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReplyKey {
    Link(String),
    Address(IpAddr),
}

impl Limit<ReplyKey> {
    /// May a reply on the tracking link `token` from `addr` go ahead now?
    pub fn allow_reply(&self, token: &str, addr: Option<IpAddr>) -> bool {
        self.allow(Some(ReplyKey::Link(token.to_string())))
            && self.allow(addr.map(ReplyKey::Address))
    }
}

/// The desk's limits.
pub struct Limits {
    pub reports: Limit,
    pub sign_in: Limit,
    pub replies: Limit<ReplyKey>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_limited_per_link_and_per_address() {
        let limit = Limit::<ReplyKey>::per_minute(2);
        let a: IpAddr = "203.0.113.1".parse().unwrap();
        let b: IpAddr = "203.0.113.2".parse().unwrap();
        assert!(limit.allow_reply("link-1", Some(a)));
        assert!(limit.allow_reply("link-1", Some(b)));
        assert!(!limit.allow_reply("link-1", Some(b)), "the link's limit");
        assert!(limit.allow_reply("link-2", Some(a)));
        assert!(!limit.allow_reply("link-3", Some(a)), "the address's limit");
        let off = Limit::<ReplyKey>::per_minute(0);
        assert!((0..100).all(|_| off.allow_reply("link-1", Some(a))));
    }
}
