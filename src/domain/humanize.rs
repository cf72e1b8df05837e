//! Times, durations and numbers as people read them: "Tue 8 Dec, 09:28" in the reader's
//! time zone with "2 h ago" beside it, "6 min 18 s", "964,722", "12.5%". Words follow the
//! clock at the moment of writing: "due in 40 min" before a deadline, "overdue by 3 h"
//! after it. Units are joined to their numbers with no-break spaces, so a duration never
//! wraps across two lines.

use chrono::{Datelike, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// Joins a number to its unit and the parts of a duration: never a line break.
pub const NBSP: char = '\u{a0}';

/// An instant as a page shows it: readable text in the reader's zone, the exact instant
/// for `<time datetime>` and for its hover title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moment {
    /// RFC 3339 in UTC, for `datetime="…"`.
    pub iso: String,
    /// "Tue 8 Dec, 09:28" (the year too when it is not the reader's current one).
    pub date: String,
    /// "2 h ago", "in 40 min", "just now".
    pub relative: String,
    /// The exact instant in the reader's zone, for the hover title:
    /// "Tuesday 8 December 2026, 09:28:14 CET".
    pub exact: String,
}

impl Moment {
    /// `at` (UTC) as read in `zone` at `now` (UTC).
    pub fn new(at: NaiveDateTime, zone: Tz, now: NaiveDateTime) -> Moment {
        let local = zone.from_utc_datetime(&at);
        let this_year = zone.from_utc_datetime(&now).year();
        let date = if local.year() == this_year {
            local.format("%a %-d %b, %H:%M").to_string()
        } else {
            local.format("%a %-d %b %Y, %H:%M").to_string()
        };
        Moment {
            iso: Utc
                .from_utc_datetime(&at)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            date: nbsp_after_comma(&date),
            relative: relative(at, now),
            exact: local.format("%A %-d %B %Y, %H:%M:%S %Z").to_string(),
        }
    }

    /// "Tue 8 Dec, 09:28 · 2 h ago".
    pub fn text(&self) -> String {
        format!("{} · {}", self.date, self.relative)
    }
}

fn nbsp_after_comma(date: &str) -> String {
    date.replace(", ", &format!(",{NBSP}"))
}

/// "2 h ago", "in 40 min", "just now" (within a minute either way).
pub fn relative(at: NaiveDateTime, now: NaiveDateTime) -> String {
    let delta = at - now;
    if delta.num_seconds().abs() < 60 {
        return "just now".into();
    }
    let span = coarse(delta.abs());
    if delta < TimeDelta::zero() {
        format!("{span} ago")
    } else {
        format!("in {span}")
    }
}

/// A deadline as of `now`: "due in 2 h 10 min" before it, "overdue by 3 h 18 min" after.
pub fn due(deadline: NaiveDateTime, now: NaiveDateTime) -> String {
    if deadline >= now {
        format!("due in {}", duration(deadline - now))
    } else {
        format!("overdue by {}", duration(now - deadline))
    }
}

/// A breach as the agent's queue says it: "due in 2 h" before, "breached 31 h ago" after
/// (the two largest units, so it stays short in a dense row).
pub fn sla(deadline: NaiveDateTime, now: NaiveDateTime) -> String {
    if deadline >= now {
        format!("due in {}", coarse(deadline - now))
    } else {
        format!("breached {} ago", coarse(now - deadline))
    }
}

/// The two largest units of a span: "6 min 18 s", "3 h 18 min", "2 d 4 h", "45 s".
pub fn duration(span: TimeDelta) -> String {
    let seconds = span.num_seconds().max(0);
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
        seconds % 60,
    );
    let parts: Vec<(i64, &str)> = if days > 0 {
        vec![(days, "d"), (hours, "h")]
    } else if hours > 0 {
        vec![(hours, "h"), (minutes, "min")]
    } else if minutes > 0 {
        vec![(minutes, "min"), (secs, "s")]
    } else {
        vec![(secs, "s")]
    };
    join_parts(&parts)
}

/// The largest unit only, rounded down, for relative times: "2 h", "3 d", "40 min".
pub fn coarse(span: TimeDelta) -> String {
    let seconds = span.num_seconds().max(0);
    let (value, unit) = if seconds >= 2 * 86_400 {
        (seconds / 86_400, "d")
    } else if seconds >= 3_600 {
        (seconds / 3_600, "h")
    } else if seconds >= 60 {
        (seconds / 60, "min")
    } else {
        (seconds, "s")
    };
    format!("{value}{NBSP}{unit}")
}

/// Milliseconds as a duration: "850 ms" under a second, "6.3 s" under a minute, then as
/// `duration`.
pub fn millis(ms: i64) -> String {
    if ms < 1_000 {
        format!("{}{NBSP}ms", ms.max(0))
    } else if ms < 60_000 {
        format!("{:.1}{NBSP}s", ms as f64 / 1000.0)
    } else {
        duration(TimeDelta::milliseconds(ms))
    }
}

fn join_parts(parts: &[(i64, &str)]) -> String {
    let shown: Vec<String> = parts
        .iter()
        .enumerate()
        .filter(|(i, (value, _))| *i == 0 || *value > 0)
        .map(|(_, (value, unit))| format!("{value}{NBSP}{unit}"))
        .collect();
    shown.join(&NBSP.to_string())
}

/// Thousands separated by commas: 964,722; -1,204.
pub fn number(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A percentage with at most one decimal: "12.5%", "100%", "0%".
pub fn percent(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}%")
    } else {
        format!("{rounded:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::at;

    fn plain(s: &str) -> String {
        s.replace(NBSP, " ")
    }

    #[test]
    fn moments_read_in_the_readers_zone() {
        let now = at("2026-12-08 10:30");
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let m = Moment::new(at("2026-12-08 08:28"), berlin, now);
        assert_eq!(plain(&m.date), "Tue 8 Dec, 09:28");
        assert_eq!(plain(&m.relative), "2 h ago");
        assert_eq!(m.iso, "2026-12-08T08:28:00Z");
        assert_eq!(m.exact, "Tuesday 8 December 2026, 09:28:00 CET");
        assert_eq!(plain(&m.text()), "Tue 8 Dec, 09:28 · 2 h ago");
        let last_year = Moment::new(at("2025-12-30 23:00"), Tz::UTC, now);
        assert_eq!(plain(&last_year.date), "Tue 30 Dec 2025, 23:00");
        assert_eq!(plain(&last_year.relative), "342 d ago");
    }

    #[test]
    fn relative_times_say_which_way() {
        let now = at("2026-12-08 10:00");
        assert_eq!(relative(at("2026-12-08 10:00"), now), "just now");
        assert_eq!(plain(&relative(at("2026-12-08 10:40"), now)), "in 40 min");
        assert_eq!(plain(&relative(at("2026-12-07 10:00"), now)), "24 h ago");
        assert_eq!(plain(&relative(at("2026-12-05 09:00"), now)), "3 d ago");
    }

    #[test]
    fn deadlines_follow_the_clock() {
        let now = at("2026-12-08 10:00");
        assert_eq!(
            plain(&due(at("2026-12-08 12:10"), now)),
            "due in 2 h 10 min"
        );
        assert_eq!(
            plain(&due(at("2026-12-08 06:42"), now)),
            "overdue by 3 h 18 min"
        );
        assert_eq!(plain(&sla(at("2026-12-08 12:10"), now)), "due in 2 h");
        assert_eq!(
            plain(&sla(at("2026-12-06 11:00"), now)),
            "breached 47 h ago"
        );
    }

    #[test]
    fn durations_keep_two_units_and_never_break() {
        let d = |s: i64| duration(TimeDelta::seconds(s));
        assert_eq!(plain(&d(378)), "6 min 18 s");
        assert_eq!(plain(&d(3 * 3600 + 18 * 60 + 5)), "3 h 18 min");
        assert_eq!(plain(&d(2 * 86_400 + 4 * 3600)), "2 d 4 h");
        assert_eq!(plain(&d(3600)), "1 h");
        assert_eq!(plain(&d(45)), "45 s");
        assert_eq!(plain(&d(0)), "0 s");
        assert!(!d(378).contains(' '), "no breakable space");
        assert_eq!(plain(&millis(850)), "850 ms");
        assert_eq!(plain(&millis(6_300)), "6.3 s");
        assert_eq!(plain(&millis(378_000)), "6 min 18 s");
    }

    #[test]
    fn numbers_and_percentages() {
        assert_eq!(number(964_722), "964,722");
        assert_eq!(number(1_000_000), "1,000,000");
        assert_eq!(number(999), "999");
        assert_eq!(number(-1_204), "-1,204");
        assert_eq!(number(0), "0");
        assert_eq!(percent(12.46), "12.5%");
        assert_eq!(percent(100.0), "100%");
        assert_eq!(percent(0.04), "0%");
    }
}
