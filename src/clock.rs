//! "Now", from a clock the app can be given: the system clock in production, a movable
//! one for tests and drills.

use chrono::{DurationRound, NaiveDateTime, TimeDelta, Utc};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: Arc<Mutex<TimeDelta>>,
}

impl Clock {
    pub fn system() -> Self {
        Clock::default()
    }

    /// Current UTC time, to the microsecond (what both databases store).
    pub fn now(&self) -> NaiveDateTime {
        let offset = *self.offset.lock().unwrap_or_else(|e| e.into_inner());
        let now = Utc::now().naive_utc() + offset;
        now.duration_trunc(TimeDelta::microseconds(1))
            .unwrap_or(now)
    }

    /// Move this clock (and every clone of it) by `delta`.
    pub fn advance(&self, delta: TimeDelta) {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner()) += delta;
    }
}

/// RFC 3339 in UTC, as the JSON API writes times.
pub fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `YYYY-MM-DD HH:MM` as a time: unit tests' fixed instants.
#[cfg(test)]
pub fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("a YYYY-MM-DD HH:MM time")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone() {
        let clock = Clock::system();
        let other = clock.clone();
        let before = other.now();
        clock.advance(TimeDelta::hours(2));
        assert!(other.now() - before >= TimeDelta::hours(2));
    }

    #[test]
    fn rfc3339_is_utc() {
        let at = NaiveDateTime::parse_from_str("2026-11-26 10:05:00", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(rfc3339(at), "2026-11-26T10:05:00Z");
    }
}
