//! One action on many tickets at once, from the queue. Each ticket is taken at the
//! version the agent saw, so one that changed since the queue loaded is skipped and named
//! rather than overwritten; each ticket's change is its own transaction, so one refusal
//! never undoes the others.

use crate::db::DbConnection;
use crate::domain::category::Category;
use crate::domain::severity::Severity;
use crate::domain::status::Status;
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::ticket_changes::{Assignee, Changes, Who};
use crate::services::{ticket_actions, triage};
use crate::state::Desk;

/// What to do to every ticket picked.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkAction {
    Assign(Assignee),
    SetStatus(Status),
    /// Why is required, as for one ticket: it is logged on each.
    Reclassify {
        category: Category,
        reason: Option<String>,
    },
    /// Why is required, as for one ticket: both deadlines are recomputed.
    SetSeverity {
        severity: Severity,
        reason: Option<String>,
    },
    /// Reroute to this team of the support model (its key).
    SetTeam(String),
    /// Merge each into this ticket (its id), each at the version the agent saw.
    MergeInto(i64),
}

impl BulkAction {
    /// The word the queue's result line uses ("Bulk assign done.").
    pub fn verb(&self) -> &'static str {
        match self {
            BulkAction::Assign(_) => "assign",
            BulkAction::SetStatus(_) => "status",
            BulkAction::Reclassify { .. } => "reclassify",
            BulkAction::SetSeverity { .. } => "severity",
            BulkAction::SetTeam(_) => "team",
            BulkAction::MergeInto(_) => "merge",
        }
    }

    /// The change to each ticket, for every action but a merge.
    fn changes(&self) -> Option<Changes> {
        match self {
            BulkAction::Assign(assignee) => Some(Changes {
                assignee: Some(assignee.clone()),
                ..Changes::default()
            }),
            BulkAction::SetStatus(status) => Some(Changes {
                status: Some(*status),
                ..Changes::default()
            }),
            BulkAction::Reclassify { category, reason } => Some(Changes {
                category: Some(*category),
                reason: reason.clone(),
                ..Changes::default()
            }),
            BulkAction::SetSeverity { severity, reason } => Some(Changes {
                severity: Some(*severity),
                reason: reason.clone(),
                ..Changes::default()
            }),
            BulkAction::SetTeam(team) => Some(Changes {
                team: Some(team.clone()),
                ..Changes::default()
            }),
            BulkAction::MergeInto(_) => None,
        }
    }
}

/// A ticket ticked on the queue, at the version the agent saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Picked {
    pub id: i64,
    pub version: i32,
}

/// What a bulk action did: the tickets it changed (or found already so) and, for each
/// it did not, why.
#[derive(Debug, Default, PartialEq)]
pub struct BulkOutcome {
    pub done: Vec<TicketNumber>,
    pub skipped: Vec<(TicketNumber, Skipped)>,
}

/// Why a ticket was left as it was.
#[derive(Debug, Clone, PartialEq)]
pub enum Skipped {
    /// Someone changed it after the agent loaded the queue.
    Changed,
    /// The change was refused, in these words.
    Refused(String),
}

impl BulkOutcome {
    /// Each skipped ticket with its reason, one line each: "INS-4 changed since you loaded
    /// the queue", "INS-5: Say why the category is wrong; it is logged."
    pub fn problems(&self) -> Vec<String> {
        self.skipped
            .iter()
            .map(|(number, why)| match why {
                Skipped::Changed => format!("{number} changed since you loaded the queue"),
                Skipped::Refused(message) => format!("{number}: {message}"),
            })
            .collect()
    }

    /// What happened, in one sentence for the queue's confirmation: "12 tickets assigned to
    /// Dana Okafor; 1 skipped: INS-4 changed since you loaded the queue". `done_words`
    /// says what was done to each ("assigned to Dana Okafor").
    pub fn sentence(&self, done_words: &str) -> String {
        let done = match self.done.len() {
            0 => "No ticket changed".to_string(),
            1 => format!("{} {done_words}", self.done[0]),
            n => format!("{n} tickets {done_words}"),
        };
        if self.skipped.is_empty() {
            return format!("{done}.");
        }
        format!(
            "{done}; {} skipped: {}.",
            self.skipped.len(),
            self.problems().join("; ").trim_end_matches('.')
        )
    }
}

/// Apply `action` to every ticket in `picked`, in order.
pub fn apply(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    action: &BulkAction,
    picked: &[Picked],
) -> Result<BulkOutcome, AppError> {
    let changes = action.changes();
    let mut outcome = BulkOutcome::default();
    let mut seen = std::collections::HashSet::new();
    for ticket in picked.iter().filter(|t| seen.insert(t.id)) {
        let number = TicketNumber::of(ticket.id);
        let result = match (&changes, action) {
            (Some(changes), _) => change_one(conn, desk, who, *ticket, changes),
            (None, BulkAction::MergeInto(into)) => merge_one(conn, desk, who, *ticket, *into),
            (None, _) => Ok(()),
        };
        match result {
            Ok(()) => outcome.done.push(number),
            Err(why) => outcome.skipped.push((number, why)),
        }
    }
    Ok(outcome)
}

/// One ticket's change; why it was skipped otherwise.
fn change_one(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    ticket: Picked,
    changes: &Changes,
) -> Result<(), Skipped> {
    match triage::update(conn, desk, who, ticket.id, ticket.version, changes) {
        Ok(Ok(_)) => Ok(()),
        // Another change got there first, e.g. an incident ticked above resolved its
        // reports: nothing is left to do.
        Ok(Err(conflict)) if already_so(changes, &conflict.current) => Ok(()),
        Ok(Err(_)) => Err(Skipped::Changed),
        Err(e) => Err(Skipped::Refused(describe(&e))),
    }
}

/// One ticket merged, if it is still at the version the agent saw.
fn merge_one(
    conn: &mut DbConnection,
    desk: &Desk,
    who: &Who,
    ticket: Picked,
    into: i64,
) -> Result<(), Skipped> {
    match ticket_actions::merge_seen(conn, desk, who, ticket.id, Some(ticket.version), into) {
        Ok(_) => Ok(()),
        Err(AppError::Conflict(_)) => Err(Skipped::Changed),
        Err(e) => Err(Skipped::Refused(describe(&e))),
    }
}

/// Whether `ticket` as it stands already has the status `changes` sets, and they set
/// nothing else.
fn already_so(changes: &Changes, ticket: &crate::db::models::ticket::Ticket) -> bool {
    changes.status.is_some_and(|status| ticket.status == status)
        && changes.category.is_none()
        && changes.severity.is_none()
        && changes.team.is_none()
        && changes.assignee.is_none()
}

/// An error as the result line shows it: the fields' messages, else the error's words.
fn describe(err: &AppError) -> String {
    match err {
        AppError::Invalid(fields) => fields.values().cloned().collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_but_a_merge_is_a_change() {
        let assign = BulkAction::Assign(Assignee::Me);
        assert_eq!(assign.changes().unwrap().assignee, Some(Assignee::Me));
        let status = BulkAction::SetStatus(Status::Resolved);
        assert_eq!(status.changes().unwrap().status, Some(Status::Resolved));
        let reclassify = BulkAction::Reclassify {
            category: Category::StaleProfile,
            reason: Some("old sample".into()),
        };
        let changes = reclassify.changes().unwrap();
        assert_eq!(changes.category, Some(Category::StaleProfile));
        assert_eq!(changes.reason.as_deref(), Some("old sample"));
        assert!(BulkAction::MergeInto(4).changes().is_none());
        assert_eq!(BulkAction::MergeInto(4).verb(), "merge");
    }

    #[test]
    fn problems_name_each_skipped_ticket() {
        let outcome = BulkOutcome {
            done: vec![TicketNumber::of(1)],
            skipped: vec![
                (TicketNumber::of(2), Skipped::Changed),
                (TicketNumber::of(3), Skipped::Refused("no such user".into())),
            ],
        };
        assert_eq!(
            outcome.problems(),
            vec![
                "INS-2 changed since you loaded the queue",
                "INS-3: no such user"
            ]
        );
        assert_eq!(
            outcome.sentence("assigned to Dana Okafor"),
            "INS-1 assigned to Dana Okafor; 2 skipped: INS-2 changed since you loaded the \
             queue; INS-3: no such user."
        );
    }

    #[test]
    fn the_sentence_counts_what_was_done() {
        let outcome = BulkOutcome {
            done: (1..=12).map(TicketNumber::of).collect(),
            skipped: Vec::new(),
        };
        assert_eq!(
            outcome.sentence("moved to Triaged"),
            "12 tickets moved to Triaged."
        );
        let none = BulkOutcome {
            done: Vec::new(),
            skipped: vec![(TicketNumber::of(2), Skipped::Changed)],
        };
        assert_eq!(
            none.sentence("merged into INS-1"),
            "No ticket changed; 1 skipped: INS-2 changed since you loaded the queue."
        );
    }
}
