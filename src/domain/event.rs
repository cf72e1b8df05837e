//! What happened to a ticket, one kind per timeline entry: the conversation (the report,
//! replies, comments, updates) and the system's own doings (routing, clocks, email), which
//! pages fold into a history.

use std::fmt;

macro_rules! event_kinds {
    ($($variant:ident = $text:literal, $label:literal;)*) => {
        /// The kind of a timeline entry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $($variant,)*
            /// A kind this version does not know (written by another version of the desk):
            /// shown as a change, never written.
            Other,
        }

        impl EventKind {
            pub const ALL: &[EventKind] = &[$(EventKind::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $text,)*
                    EventKind::Other => "other",
                }
            }

            /// How people read it, in a history line.
            pub fn label(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $label,)*
                    EventKind::Other => "Change",
                }
            }
        }
    };
}

event_kinds! {
    Created = "created", "Report received";
    Classified = "classified", "Classified";
    SeveritySet = "severity_set", "Severity set";
    Routed = "routed", "Routed";
    SlaSet = "sla_set", "Due times set";
    RunLinked = "run_linked", "Run linked";
    RunEvidence = "run_evidence", "Run evidence";
    RunUnlinked = "run_unlinked", "Run unlinked";
    StatusChanged = "status_changed", "Status changed";
    Reclassified = "reclassified", "Category corrected";
    SeverityChanged = "severity_changed", "Severity changed";
    Rerouted = "rerouted", "Team changed";
    Assigned = "assigned", "Assignee changed";
    Comment = "comment", "Reply";
    InternalNote = "internal_note", "Internal note";
    ReporterReply = "reporter_reply", "Reporter's reply";
    Merged = "merged", "Merged";
    MergeReceived = "merge_received", "Duplicate merged in";
    IncidentDeclared = "incident_declared", "Declared an incident";
    IncidentAttached = "incident_attached", "Attached to an incident";
    IncidentChildAdded = "incident_child_added", "Report attached";
    IncidentUpdate = "incident_update", "Incident update";
    TypeVerdict = "type_verdict", "Type verdict";
    EmailQueued = "email_queued", "Email queued";
    EmailSuppressed = "email_suppressed", "Email not repeated";
    EmailSent = "email_sent", "Email sent";
    EmailFailed = "email_failed", "Email failed";
    EmailDeadLettered = "email_dead_lettered", "Email given up";
    Escalated = "escalated", "Escalated";
    Acknowledged = "acknowledged", "Escalation acknowledged";
    TrackingLinkRevoked = "tracking_link_revoked", "Tracking link replaced";
    UnverifiedMail = "unverified_mail", "Email from an unverified sender";
    EmailBounced = "email_bounced", "Email bounced";
    MailReceived = "mail_received", "Email received";
    FilesAttached = "files_attached", "Files attached";
}

impl EventKind {
    pub fn parse(value: &str) -> Result<Self, String> {
        EventKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == value)
            .ok_or_else(|| format!("unknown event kind '{value}'"))
    }

    /// Part of the conversation between the reporter and the desk (shown in order as
    /// messages), rather than the system's bookkeeping (folded into a history).
    pub fn is_message(self) -> bool {
        matches!(
            self,
            EventKind::Created
                | EventKind::Comment
                | EventKind::InternalNote
                | EventKind::ReporterReply
                | EventKind::IncidentUpdate
                | EventKind::UnverifiedMail
                | EventKind::FilesAttached
        )
    }

    /// The desk's own bookkeeping about mail: kept for agents, never news for a reporter.
    pub fn is_mail(self) -> bool {
        matches!(
            self,
            EventKind::EmailQueued
                | EventKind::EmailSuppressed
                | EventKind::EmailSent
                | EventKind::EmailFailed
                | EventKind::EmailDeadLettered
                | EventKind::EmailBounced
                | EventKind::MailReceived
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_has_a_label() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Ok(*kind));
            assert!(!kind.label().is_empty());
            assert!(
                !kind.label().contains('_'),
                "{kind}: labels are words, not slugs"
            );
        }
        assert!(EventKind::parse("other").is_err(), "Other is never parsed");
    }

    #[test]
    fn messages_are_the_conversation() {
        assert!(EventKind::Comment.is_message());
        assert!(EventKind::ReporterReply.is_message());
        assert!(!EventKind::Routed.is_message());
        assert!(EventKind::FilesAttached.is_message());
        assert!(EventKind::EmailSent.is_mail());
    }
}
