//! Drills: scripted rehearsals on a live desk. What a drill creates carries its id; real
//! work carries `LIVE`.

use std::fmt;

/// The `drill` of real tickets, runs and mail.
pub const LIVE: i64 = 0;

/// Where a drill stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillStatus {
    /// Still going (or its process died: it never finishes then).
    Running,
    Passed,
    Failed,
}

impl DrillStatus {
    pub const ALL: [DrillStatus; 3] = [
        DrillStatus::Running,
        DrillStatus::Passed,
        DrillStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DrillStatus::Running => "running",
            DrillStatus::Passed => "passed",
            DrillStatus::Failed => "failed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DrillStatus::Running => "Running",
            DrillStatus::Passed => "Passed",
            DrillStatus::Failed => "Failed",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        DrillStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| format!("unknown drill status '{value}'"))
    }
}

impl fmt::Display for DrillStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a drill's mail subject starts with.
pub const SUBJECT_TAG: &str = "[DRILL]";

/// A drill's subject: tagged once, however often it is re-queued.
pub fn tag_subject(subject: &str) -> String {
    if subject.starts_with(SUBJECT_TAG) {
        subject.to_string()
    } else {
        format!("{SUBJECT_TAG} {subject}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips() {
        for status in DrillStatus::ALL {
            assert_eq!(DrillStatus::parse(status.as_str()), Ok(status));
        }
    }

    #[test]
    fn subjects_are_tagged_once() {
        assert_eq!(tag_subject("INS-4 escalation"), "[DRILL] INS-4 escalation");
        assert_eq!(tag_subject("[DRILL] INS-4"), "[DRILL] INS-4");
    }
}
