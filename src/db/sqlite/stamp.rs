//! Timestamps bound the way SQLite stores them, without chrono's formatter.
//!
//! diesel binds a `NaiveDateTime` on SQLite as the text `chrono` formats with
//! `"%F %T%.f"`, parsing that format string on every bind: a measurable share of the
//! SQLite writer's time under NDJSON ingest, where a run binds several timestamps (the
//! run, its table's health, each typed column). `Stamp` writes the same text digit by digit; PostgreSQL
//! binds it as diesel binds a `NaiveDateTime`. Hand-written rather than a crate: it is
//! the one fixed format diesel itself reads back, and a unit test holds it to chrono's.

use chrono::{Datelike, NaiveDateTime, Timelike};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;
use ref_cast::RefCast;

/// A `NaiveDateTime` to bind as a `Timestamp`: `Stamp::ref_cast(&at)` borrows one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, RefCast)]
#[diesel(sql_type = Timestamp)]
#[repr(transparent)]
pub struct Stamp(pub NaiveDateTime);

impl ToSql<Timestamp, Sqlite> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        match sqlite_text(&self.0) {
            Some(text) => {
                out.set_value(text);
                Ok(IsNull::No)
            }
            None => <NaiveDateTime as ToSql<Timestamp, Sqlite>>::to_sql(&self.0, out),
        }
    }
}

impl ToSql<Timestamp, Pg> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <NaiveDateTime as ToSql<Timestamp, Pg>>::to_sql(&self.0, out)
    }
}

/// `at` as `"%F %T%.f"` formats it (`2026-11-26 09:05:03.250`: the fraction in 3, 6 or 9
/// digits, none when zero), or `None` for what that takes chrono for: years outside
/// 0–9999 (a sign, more digits) and leap seconds.
fn sqlite_text(at: &NaiveDateTime) -> Option<String> {
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut text = String::with_capacity(29);
    push_digits(&mut text, year, 4);
    for (separator, value) in [
        ('-', at.month()),
        ('-', at.day()),
        (' ', at.hour()),
        (':', at.minute()),
        (':', at.second()),
    ] {
        text.push(separator);
        push_digits(&mut text, value, 2);
    }
    if nanos != 0 {
        text.push('.');
        if nanos.is_multiple_of(1_000_000) {
            push_digits(&mut text, nanos / 1_000_000, 3);
        } else if nanos.is_multiple_of(1_000) {
            push_digits(&mut text, nanos / 1_000, 6);
        } else {
            push_digits(&mut text, nanos, 9);
        }
    }
    Some(text)
}

/// `value`'s last `width` decimal digits, zero-padded.
fn push_digits(text: &mut String, value: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = (value / 10u32.pow(place) % 10) as u8;
        text.push(char::from(b'0' + digit));
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

    use super::sqlite_text;

    fn chrono_text(at: &NaiveDateTime) -> String {
        at.format("%F %T%.f").to_string()
    }

    /// The same text as diesel's own binding (chrono's `%F %T%.f`) for every shape of
    /// fraction and the years at the edges; chrono's own for what it alone can write.
    #[test]
    fn writes_what_chrono_writes() {
        let mut checked = 0;
        for (y, m, d) in [
            (2026, 11, 26),
            (1970, 1, 1),
            (0, 1, 1),
            (999, 12, 31),
            (9999, 12, 31),
        ] {
            let day = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            for (h, mi, s) in [(0, 0, 0), (9, 5, 3), (23, 59, 59)] {
                for nanos in [
                    0,
                    1,
                    7_000,
                    250_000_000,
                    999_999_999,
                    123_456_000,
                    100_000,
                    5_000_001,
                ] {
                    let at = day.and_hms_nano_opt(h, mi, s, nanos).unwrap();
                    assert_eq!(sqlite_text(&at).as_deref(), Some(chrono_text(&at).as_str()));
                    checked += 1;
                }
            }
        }
        // A spread of instants a millisecond, a microsecond and a nanosecond apart.
        let start = NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        for i in 0..3000i64 {
            let step = match i % 3 {
                0 => TimeDelta::milliseconds(i * 7_919),
                1 => TimeDelta::microseconds(i * 7_919_113),
                _ => TimeDelta::nanoseconds(i * 7_919_113_577),
            };
            let at = start + step;
            assert_eq!(sqlite_text(&at), Some(chrono_text(&at)), "{at:?}");
            checked += 1;
        }
        assert!(checked > 3_000);
        // Outside 0–9999 and leap seconds: chrono's formatter, not this one.
        let far = NaiveDate::from_ymd_opt(10_000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(sqlite_text(&far), None);
        let before = NaiveDate::from_ymd_opt(-1, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(sqlite_text(&before), None);
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_milli_opt(23, 59, 59, 1_500)
            .unwrap();
        assert_eq!(sqlite_text(&leap), None);
    }
}
