//! Business calendars: a timezone, weekly opening hours and holidays. SLA clocks run in
//! business time, so "2 hours" filed at 16:30 on a Friday falls due on Monday morning.

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use std::collections::HashSet;

/// Opening hours; all instants in and out are UTC.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub name: String,
    tz: Tz,
    /// Open intervals per weekday, Monday first; empty for a closed day.
    week: [Vec<(NaiveTime, NaiveTime)>; 7],
    holidays: HashSet<NaiveDate>,
    always: bool,
}

/// Looking further than this for open time means the calendar is never open.
const MAX_DAYS: i64 = 800;

impl Calendar {
    /// Round the clock, every day.
    pub fn always(name: &str) -> Calendar {
        Calendar {
            name: name.into(),
            tz: Tz::UTC,
            week: Default::default(),
            holidays: HashSet::new(),
            always: true,
        }
    }

    /// `hours` per weekday key (`mon` … `sun`) as `09:00-17:00` (several ranges with `,`).
    pub fn new(
        name: &str,
        timezone: &str,
        hours: &[(String, String)],
        holidays: &[String],
    ) -> Result<Calendar, String> {
        let tz: Tz = timezone
            .parse()
            .map_err(|_| format!("calendar '{name}': unknown timezone '{timezone}'"))?;
        let mut week: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        for (day, ranges) in hours {
            let index = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .position(|d| d == day)
                .ok_or_else(|| {
                    format!("calendar '{name}': '{day}' is not a weekday (mon … sun)")
                })?;
            for range in ranges.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                let (open, close) = range.split_once('-').ok_or_else(|| {
                    format!("calendar '{name}' {day}: '{range}' is not like 09:00-17:00")
                })?;
                let parse = |t: &str| {
                    NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| {
                        format!("calendar '{name}' {day}: '{t}' is not a time like 09:00")
                    })
                };
                let (open, close) = (parse(open)?, parse(close)?);
                if open >= close {
                    return Err(format!(
                        "calendar '{name}' {day}: '{range}' closes before it opens"
                    ));
                }
                week[index].push((open, close));
            }
            week[index].sort();
        }
        if week.iter().all(Vec::is_empty) {
            return Err(format!("calendar '{name}' is never open"));
        }
        let holidays = holidays
            .iter()
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                    format!("calendar '{name}': holiday '{d}' is not a date like 2026-12-25")
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Calendar {
            name: name.into(),
            tz,
            week,
            holidays,
            always: false,
        })
    }

    /// Local wall time → UTC. A time skipped by a DST change moves to the end of the gap;
    /// a repeated one takes its first occurrence.
    fn to_utc(&self, local: NaiveDateTime) -> NaiveDateTime {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.naive_utc(),
            LocalResult::None => self.to_utc(local + Duration::hours(1)),
        }
    }

    /// The open intervals of a local date, in UTC.
    fn open_on(&self, date: NaiveDate) -> Vec<(NaiveDateTime, NaiveDateTime)> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        let day = date.weekday().num_days_from_monday() as usize;
        self.week[day]
            .iter()
            .map(|(open, close)| {
                (
                    self.to_utc(date.and_time(*open)),
                    self.to_utc(date.and_time(*close)),
                )
            })
            .collect()
    }

    fn local_date(&self, utc: NaiveDateTime) -> NaiveDate {
        self.tz.from_utc_datetime(&utc).date_naive()
    }

    /// The instant `duration` of business time after `start`.
    pub fn add(&self, start: NaiveDateTime, duration: Duration) -> NaiveDateTime {
        if self.always || duration <= Duration::zero() {
            return start + duration.max(Duration::zero());
        }
        let mut left = duration;
        let first = self.local_date(start) - Duration::days(1);
        for offset in 0..MAX_DAYS {
            for (open, close) in self.open_on(first + Duration::days(offset)) {
                let from = open.max(start);
                if from >= close {
                    continue;
                }
                if close - from >= left {
                    return from + left;
                }
                left -= close - from;
            }
        }
        start + duration
    }

    /// Business time between two instants.
    pub fn between(&self, from: NaiveDateTime, to: NaiveDateTime) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        if self.always {
            return to - from;
        }
        let mut total = Duration::zero();
        let (first, last) = (
            self.local_date(from) - Duration::days(1),
            self.local_date(to) + Duration::days(1),
        );
        let mut date = first;
        while date <= last {
            for (open, close) in self.open_on(date) {
                let (a, b) = (open.max(from), close.min(to));
                if b > a {
                    total += b - a;
                }
            }
            date += Duration::days(1);
        }
        total
    }

    /// `at`, or the next instant the calendar opens (quiet hours end).
    pub fn next_open(&self, at: NaiveDateTime) -> NaiveDateTime {
        if self.always {
            return at;
        }
        let first = self.local_date(at) - Duration::days(1);
        for offset in 0..MAX_DAYS {
            for (open, close) in self.open_on(first + Duration::days(offset)) {
                if close > at {
                    return open.max(at);
                }
            }
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn berlin_office() -> Calendar {
        let hours: Vec<(String, String)> = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| (d.to_string(), "09:00-17:00".to_string()))
            .collect();
        Calendar::new("office", "Europe/Berlin", &hours, &["2026-12-25".into()]).unwrap()
    }

    #[test]
    fn friday_afternoon_rolls_over_the_weekend() {
        let cal = berlin_office();
        // Fri 2026-11-27 15:30 UTC = 16:30 Berlin: 30 min left Friday, 90 min on Monday.
        assert_eq!(
            cal.add(utc("2026-11-27 15:30"), Duration::hours(2)),
            utc("2026-11-30 09:30")
        );
    }

    #[test]
    fn filed_at_night_starts_next_morning() {
        let cal = berlin_office();
        // Tue 22:00 Berlin (21:00 UTC): one hour → Wed 10:00 Berlin (09:00 UTC).
        assert_eq!(
            cal.add(utc("2026-12-01 21:00"), Duration::hours(1)),
            utc("2026-12-02 09:00")
        );
        assert_eq!(
            cal.next_open(utc("2026-12-01 21:00")),
            utc("2026-12-02 08:00")
        );
    }

    #[test]
    fn holidays_are_skipped() {
        let cal = berlin_office();
        // Thu 2026-12-24 16:00 Berlin (15:00 UTC), 2h: 1h Thursday, Friday 25th is a holiday,
        // the weekend is closed, so 1h on Monday the 28th → 10:00 Berlin (09:00 UTC).
        assert_eq!(
            cal.add(utc("2026-12-24 15:00"), Duration::hours(2)),
            utc("2026-12-28 09:00")
        );
    }

    #[test]
    fn dst_changes_keep_local_hours() {
        let cal = berlin_office();
        // Fri 2027-03-26 16:00 Berlin is 15:00 UTC (CET); DST starts Sunday the 28th, so
        // Monday opens at 09:00 CEST = 07:00 UTC. Two hours: 1h Friday, 1h Monday.
        assert_eq!(
            cal.add(utc("2027-03-26 15:00"), Duration::hours(2)),
            utc("2027-03-29 08:00")
        );
        // And back in October: Monday 2027-11-01 opens at 09:00 CET = 08:00 UTC.
        assert_eq!(
            cal.next_open(utc("2027-10-30 12:00")),
            utc("2027-11-01 08:00")
        );
    }

    #[test]
    fn paused_time_across_nights_counts_only_open_hours() {
        let cal = berlin_office();
        // Paused Tue 16:00 Berlin to Wed 10:00 Berlin: 1h Tuesday + 1h Wednesday.
        assert_eq!(
            cal.between(utc("2026-12-01 15:00"), utc("2026-12-02 09:00")),
            Duration::hours(2)
        );
        assert_eq!(
            cal.between(utc("2026-12-05 10:00"), utc("2026-12-06 10:00")),
            Duration::zero(),
            "a weekend"
        );
        let always = Calendar::always("24x7");
        assert_eq!(
            always.between(utc("2026-12-05 10:00"), utc("2026-12-06 10:00")),
            Duration::hours(24)
        );
        assert_eq!(
            always.add(utc("2026-12-05 10:00"), Duration::minutes(30)),
            utc("2026-12-05 10:30")
        );
    }

    #[test]
    fn bad_calendars_are_named() {
        let hours = vec![("mon".to_string(), "17:00-09:00".to_string())];
        assert!(
            Calendar::new("x", "Europe/Berlin", &hours, &[])
                .unwrap_err()
                .contains("closes before it opens")
        );
        assert!(
            Calendar::new("x", "Mars/Olympus", &hours, &[])
                .unwrap_err()
                .contains("unknown timezone")
        );
        assert!(
            Calendar::new("x", "UTC", &[], &[])
                .unwrap_err()
                .contains("never open")
        );
    }
}
