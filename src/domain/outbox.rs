//! Where a queued email stands: waiting, being sent by a worker, sent, or given up on.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxStatus {
    /// Queued, not yet delivered; delivery moves it on.
    Pending,
    /// Claimed by a worker that is sending it (until its lease runs out).
    Sending,
    Sent,
    /// Given up on after too many attempts or a permanent refusal; an admin can retry it.
    Dead,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 4] = [
        OutboxStatus::Pending,
        OutboxStatus::Sending,
        OutboxStatus::Sent,
        OutboxStatus::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Dead => "dead",
        }
    }

    /// How people read it.
    pub fn label(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "Waiting to send",
            OutboxStatus::Sending => "Sending",
            OutboxStatus::Sent => "Sent",
            OutboxStatus::Dead => "Given up",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        OutboxStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| format!("unknown outbox status '{value}'"))
    }
}

impl fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips() {
        for status in OutboxStatus::ALL {
            assert_eq!(OutboxStatus::parse(status.as_str()), Ok(status));
            assert!(!status.label().is_empty());
        }
        assert!(OutboxStatus::parse("lost").is_err());
    }
}
