//! Ticket statuses, the moves between them, and a ticket's SLA state.

use chrono::NaiveDateTime;
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Triaged,
    InProgress,
    WaitingOnReporter,
    Resolved,
    Closed,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::New,
        Status::Triaged,
        Status::InProgress,
        Status::WaitingOnReporter,
        Status::Resolved,
        Status::Closed,
    ];

    /// Statuses still being worked on.
    pub const OPEN: [Status; 4] = [
        Status::New,
        Status::Triaged,
        Status::InProgress,
        Status::WaitingOnReporter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Triaged => "triaged",
            Status::InProgress => "in_progress",
            Status::WaitingOnReporter => "waiting_on_reporter",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::New => "New",
            Status::Triaged => "Triaged",
            Status::InProgress => "In progress",
            Status::WaitingOnReporter => "Waiting on reporter",
            Status::Resolved => "Resolved",
            Status::Closed => "Closed",
        }
    }

    /// The status as its reporter reads it on the tracking page and in emails.
    pub fn reporter_label(self) -> &'static str {
        match self {
            Status::New | Status::Triaged => "Received",
            Status::InProgress => "We're working on it",
            Status::WaitingOnReporter => "Waiting for your reply",
            Status::Resolved => "Resolved",
            Status::Closed => "Closed",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| {
                format!(
                    "unknown status '{value}'; expected one of: {}",
                    Status::ALL.map(|s| s.as_str()).join(", ")
                )
            })
    }

    pub fn is_open(self) -> bool {
        Status::OPEN.contains(&self)
    }

    /// May a ticket move from `self` to `to`? Work moves forward freely; nothing goes back
    /// to `new`; a resolved or closed ticket comes back only by reopening (to `triaged`).
    pub fn can_move_to(self, to: Status) -> Result<(), String> {
        let ok = match (self, to) {
            (a, b) if a == b => false,
            (_, Status::New) => false,
            (Status::Resolved, Status::Closed) => true,
            (Status::Resolved | Status::Closed, Status::Triaged) => true,
            (Status::Resolved | Status::Closed, _) => false,
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "A ticket cannot move from {} to {}.",
                self.label(),
                to.label()
            ))
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a ticket stands against its next deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    Breached,
    AtRisk,
    OnTrack,
    Paused,
    /// Resolved or closed: no clock runs.
    Stopped,
}

impl SlaState {
    pub const FILTERABLE: [SlaState; 4] = [
        SlaState::Breached,
        SlaState::AtRisk,
        SlaState::OnTrack,
        SlaState::Paused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SlaState::Breached => "breached",
            SlaState::AtRisk => "at_risk",
            SlaState::OnTrack => "on_track",
            SlaState::Paused => "paused",
            SlaState::Stopped => "stopped",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SlaState::Breached => "Breached",
            SlaState::AtRisk => "At risk",
            SlaState::OnTrack => "On track",
            SlaState::Paused => "Paused",
            SlaState::Stopped => "Stopped",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        SlaState::FILTERABLE
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| {
                format!(
                    "unknown SLA state '{value}'; expected breached, at_risk, on_track or paused"
                )
            })
    }

    /// The state of a ticket with `status` whose next deadline is `due`, warning at `warn`.
    pub fn of(
        status: Status,
        due: NaiveDateTime,
        warn: NaiveDateTime,
        now: NaiveDateTime,
    ) -> SlaState {
        match status {
            Status::Resolved | Status::Closed => SlaState::Stopped,
            Status::WaitingOnReporter => SlaState::Paused,
            _ if due <= now => SlaState::Breached,
            _ if warn <= now => SlaState::AtRisk,
            _ => SlaState::OnTrack,
        }
    }
}

/// The next deadline and its warning point (75% of the way from `created_at`): first
/// response until someone has responded, then resolution.
pub fn next_deadline(
    created_at: NaiveDateTime,
    first_response_due: NaiveDateTime,
    resolution_due: NaiveDateTime,
    responded: bool,
) -> (NaiveDateTime, NaiveDateTime) {
    let due = if responded {
        resolution_due
    } else {
        first_response_due
    };
    let window = due - created_at;
    (due, created_at + window * 3 / 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::at;

    #[test]
    fn moves_forward_and_reopens_only_to_triaged() {
        assert!(Status::New.can_move_to(Status::InProgress).is_ok());
        assert!(Status::InProgress.can_move_to(Status::Triaged).is_ok());
        assert!(Status::Resolved.can_move_to(Status::Triaged).is_ok());
        assert!(Status::Closed.can_move_to(Status::InProgress).is_err());
        assert!(Status::Triaged.can_move_to(Status::New).is_err());
        assert!(Status::Triaged.can_move_to(Status::Triaged).is_err());
    }

    #[test]
    fn sla_states_follow_the_clock() {
        let (due, warn) = next_deadline(
            at("2026-11-26 10:00"),
            at("2026-11-26 18:00"),
            at("2026-11-29 10:00"),
            false,
        );
        assert_eq!(
            (due, warn),
            (at("2026-11-26 18:00"), at("2026-11-26 16:00"))
        );
        assert_eq!(
            SlaState::of(Status::New, due, warn, at("2026-11-26 15:59")),
            SlaState::OnTrack
        );
        assert_eq!(
            SlaState::of(Status::New, due, warn, at("2026-11-26 16:00")),
            SlaState::AtRisk
        );
        assert_eq!(
            SlaState::of(Status::Triaged, due, warn, at("2026-11-26 18:00")),
            SlaState::Breached
        );
        assert_eq!(
            SlaState::of(Status::WaitingOnReporter, due, warn, at("2026-11-27 00:00")),
            SlaState::Paused
        );
        assert_eq!(
            SlaState::of(Status::Closed, due, warn, at("2026-11-27 00:00")),
            SlaState::Stopped
        );
        let (due, _) = next_deadline(
            at("2026-11-26 10:00"),
            at("2026-11-26 18:00"),
            at("2026-11-29 10:00"),
            true,
        );
        assert_eq!(due, at("2026-11-29 10:00"));
    }
}
