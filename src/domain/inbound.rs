//! What the desk did with a message it received.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Matched no ticket and was sent to the support address: a new report.
    NewReport,
    /// The ticket's reporter answered.
    ReporterReply,
    /// One of the desk's people answered: a public reply.
    AgentReply,
    /// Anyone else, or a sender whose domain's DMARC check failed: an internal note.
    Unverified,
    /// An auto-reply (out of office, list mail): kept, never a comment, never answered.
    AutoReply,
    /// A delivery report for mail the desk sent.
    Bounce,
    /// A delivery report that matches no message the desk sent.
    UnmatchedBounce,
    /// More new messages from one sender in a minute than the limit.
    Throttled,
    /// Matched no ticket and was not sent to the support address.
    Unmatched,
    /// An unverified sender's message that an agent published as a reply.
    Published,
}

impl Outcome {
    pub const ALL: [Outcome; 10] = [
        Outcome::NewReport,
        Outcome::ReporterReply,
        Outcome::AgentReply,
        Outcome::Unverified,
        Outcome::AutoReply,
        Outcome::Bounce,
        Outcome::UnmatchedBounce,
        Outcome::Throttled,
        Outcome::Unmatched,
        Outcome::Published,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::NewReport => "new_report",
            Outcome::ReporterReply => "reporter_reply",
            Outcome::AgentReply => "agent_reply",
            Outcome::Unverified => "unverified",
            Outcome::AutoReply => "auto_reply",
            Outcome::Bounce => "bounce",
            Outcome::UnmatchedBounce => "unmatched_bounce",
            Outcome::Throttled => "throttled",
            Outcome::Unmatched => "unmatched",
            Outcome::Published => "published",
        }
    }

    /// How an operator reads it.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::NewReport => "Opened a new report",
            Outcome::ReporterReply => "Added as the reporter's reply",
            Outcome::AgentReply => "Added as a reply from the team",
            Outcome::Unverified => "Kept as an internal note (unverified sender)",
            Outcome::AutoReply => "Ignored: an automatic reply",
            Outcome::Bounce => "Recorded a bounce",
            Outcome::UnmatchedBounce => "Ignored: a delivery report for no mail of ours",
            Outcome::Throttled => "Held: too many messages from this sender",
            Outcome::Unmatched => "Ignored: no ticket, not sent to the support address",
            Outcome::Published => "Published by an agent as a reply",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == value)
            .ok_or_else(|| format!("unknown inbound outcome '{value}'"))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
