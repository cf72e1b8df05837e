//! SLA due times, in the business time of a calendar.

use chrono::NaiveDateTime;

use super::calendar::Calendar;
use super::support_model::SlaPolicy;

/// When a ticket needs its first response and its resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaTargets {
    pub first_response_due: NaiveDateTime,
    pub resolution_due: NaiveDateTime,
}

pub fn targets(created_at: NaiveDateTime, policy: &SlaPolicy, calendar: &Calendar) -> SlaTargets {
    SlaTargets {
        first_response_due: calendar.add(created_at, policy.first_response),
        resolution_due: calendar.add(created_at, policy.resolution),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn due_times_add_the_policy_to_creation() {
        let created =
            NaiveDateTime::parse_from_str("2026-11-28 23:30:00", "%Y-%m-%d %H:%M:%S").unwrap();
        let policy = SlaPolicy {
            first_response: Duration::minutes(30),
            resolution: Duration::hours(4),
            calendar: None,
        };
        let t = targets(created, &policy, &Calendar::always("24x7"));
        assert_eq!(t.first_response_due.to_string(), "2026-11-29 00:00:00");
        assert_eq!(t.resolution_due.to_string(), "2026-11-29 03:30:00");
    }
}
