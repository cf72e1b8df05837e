//! SLA due times. Round the clock for now; business calendars come with the SLA issue.

use chrono::NaiveDateTime;

use super::support_model::SlaPolicy;

/// When a ticket needs its first response and its resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaTargets {
    pub first_response_due: NaiveDateTime,
    pub resolution_due: NaiveDateTime,
}

pub fn targets(created_at: NaiveDateTime, policy: &SlaPolicy) -> SlaTargets {
    SlaTargets {
        first_response_due: created_at + policy.first_response,
        resolution_due: created_at + policy.resolution,
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
        };
        let t = targets(created, &policy);
        assert_eq!(t.first_response_due.to_string(), "2026-11-29 00:00:00");
        assert_eq!(t.resolution_due.to_string(), "2026-11-29 03:30:00");
    }
}
