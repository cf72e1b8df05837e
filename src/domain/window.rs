//! Time windows the runs pages and telemetry look back over.

use chrono::{NaiveDateTime, TimeDelta};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    Hour,
    Day,
    Week,
    /// No lower bound.
    All,
}

impl Window {
    pub const ALL: [Window; 4] = [Window::Hour, Window::Day, Window::Week, Window::All];
    /// The bounded windows, for telemetry.
    pub const BOUNDED: [Window; 3] = [Window::Hour, Window::Day, Window::Week];

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Hour => "1h",
            Window::Day => "24h",
            Window::Week => "7d",
            Window::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Window::Hour => "last hour",
            Window::Day => "last 24 hours",
            Window::Week => "last 7 days",
            Window::All => "all time",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        Window::ALL
            .into_iter()
            .find(|w| w.as_str() == value.trim())
            .ok_or_else(|| {
                format!(
                    "unknown window '{value}'; expected one of: {}",
                    Window::ALL.map(Window::as_str).join(", ")
                )
            })
    }

    pub fn length(self) -> Option<TimeDelta> {
        match self {
            Window::Hour => Some(TimeDelta::hours(1)),
            Window::Day => Some(TimeDelta::hours(24)),
            Window::Week => Some(TimeDelta::days(7)),
            Window::All => None,
        }
    }

    /// The window's start, seen from `now`; None for all time.
    pub fn since(self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        self.length().map(|d| now - d)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_bounds() {
        for w in Window::ALL {
            assert_eq!(Window::parse(w.as_str()), Ok(w));
        }
        assert!(
            Window::parse("2w")
                .unwrap_err()
                .contains("1h, 24h, 7d, all")
        );
        let now = NaiveDateTime::default();
        assert_eq!(Window::Week.since(now), Some(now - TimeDelta::days(7)));
        assert_eq!(Window::All.since(now), None);
    }
}
