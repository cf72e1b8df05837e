//! How failed sign-ins slow down whoever makes them.
//!
//! Failures are counted per account email and client address, whether or not the email
//! has an account: the address that keeps failing waits, the account's owner signing in
//! from anywhere else does not, and the answers are the same for every email. After
//! `FREE_FAILURES` failures in a row the address waits `FIRST_DELAY` before its next try,
//! then twice as long after each further failure, up to `MAX_DELAY`. A success starts the
//! count again; so does a day without failures (`FORGET_AFTER`).

use std::net::IpAddr;

use chrono::TimeDelta;

/// Failures in a row that cost nothing; the next one makes the address wait.
pub const FREE_FAILURES: i32 = 4;
/// The first wait.
pub const FIRST_DELAY: TimeDelta = TimeDelta::minutes(1);
/// The longest wait.
pub const MAX_DELAY: TimeDelta = TimeDelta::hours(1);
/// Failures older than this are forgotten (and their rows cleaned up hourly).
pub const FORGET_AFTER: TimeDelta = TimeDelta::hours(24);

/// How long the address waits after its `failures`-th failure in a row: nothing for the
/// first `FREE_FAILURES`, then a minute, doubling up to an hour.
pub fn delay_after(failures: i32) -> Option<TimeDelta> {
    if failures <= FREE_FAILURES {
        return None;
    }
    // 2^6 minutes already exceed the cap: no need to double further.
    let doublings = (failures - FREE_FAILURES - 1).min(6) as u32;
    Some((FIRST_DELAY * 2_i32.pow(doublings)).min(MAX_DELAY))
}

/// The client as failures are counted: an IPv4 address, or the /64 network of an IPv6
/// one (a single host is usually given a whole /64, so its addresses count as one);
/// `unknown` when the desk cannot tell.
pub fn client_key(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "unknown".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_at_the_fifth_failure_and_double_up_to_an_hour() {
        let minutes: Vec<Option<i64>> = (0..=13)
            .map(|n| delay_after(n).map(|d| d.num_minutes()))
            .collect();
        assert_eq!(
            minutes,
            [
                None,
                None,
                None,
                None,
                None,
                Some(1),
                Some(2),
                Some(4),
                Some(8),
                Some(16),
                Some(32),
                Some(60),
                Some(60),
                Some(60),
            ]
        );
        assert_eq!(delay_after(i32::MAX), Some(MAX_DELAY));
        assert_eq!(delay_after(-1), None);
    }

    #[test]
    fn an_ipv6_host_counts_as_its_network() {
        let key = |text: &str| client_key(Some(text.parse().unwrap()));
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2::ffff"), key("2001:db8:1:2:aaaa::1"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(client_key(None), "unknown");
    }
}
