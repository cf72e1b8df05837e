//! Taking an analyst's report: one transaction creates the ticket, classifies, links
//! runs, sets severity, routes, sets SLA due times, records the timeline and queues the
//! confirmation email.

use chrono::NaiveDateTime;

use crate::db::DbConnection;
use crate::db::models::attachment::Attachment;
use crate::db::models::event::{Event, NewEvent};
use crate::db::models::ticket::{NewTicket, Ticket};
use crate::db::models::ticket_run::{NewTicketRun, TicketRun};
use crate::domain::attachment::Upload;
use crate::domain::classify::{Classification, ClassifierInput, classify};
use crate::domain::event::EventKind;
use crate::domain::report::Report;
use crate::domain::routing::{RouteDecision, RouteQuery};
use crate::domain::severity::{self, SeverityDecision, SeverityInput};
use crate::domain::sla;
use crate::domain::status::{self, Status};
use crate::domain::submission::Submission;
use crate::domain::support_model::Team;
use crate::email::{self, MailContext};
use crate::error::AppError;
use crate::services::attachments;
use crate::services::linking::{self, Linking};
use crate::services::ticket_changes::{self, Message};
use crate::state::Desk;

#[derive(Debug)]
pub enum Submitted {
    /// A new ticket, with the run ids linked to it (in order).
    Created {
        ticket: Ticket,
        linked_runs: Vec<String>,
    },
    /// The same submission (same key, requester and report) was already taken: this is
    /// its ticket.
    Duplicate(Ticket),
}

impl Submitted {
    pub fn ticket(&self) -> &Ticket {
        match self {
            Submitted::Created { ticket: t, .. } | Submitted::Duplicate(t) => t,
        }
    }

    /// The warehouse types a new report touched: a burst of reports is a signal too, so
    /// the caller hands them to the threshold rules (`Desk::after_ingest`).
    pub fn touched(&self) -> Vec<crate::domain::warehouse::WarehouseType> {
        match self {
            Submitted::Created { ticket, .. } => touched_by(ticket),
            Submitted::Duplicate(_) => Vec::new(),
        }
    }
}

/// The warehouse type a ticket was filed for, as the threshold rules take it.
pub fn touched_by(ticket: &Ticket) -> Vec<crate::domain::warehouse::WarehouseType> {
    ticket.warehouse_type.into_iter().collect()
}

/// Everything decided about a report before it is written.
struct Decisions {
    linking: Linking,
    classification: Classification,
    severity: SeverityDecision,
    route: RouteDecision,
    targets: sla::SlaTargets,
}

/// File `report`. With a `submission` (a key and who sent it with what), a repeat of the
/// same submission returns its ticket (`Duplicate`), and the key sent by anyone else or
/// with another report is `AppError::SubmissionKeyReused`, with nothing stored.
pub fn submit(
    conn: &mut DbConnection,
    desk: &Desk,
    report: Report,
    submission: Option<Submission>,
) -> Result<Submitted, AppError> {
    submit_with_files(conn, desk, report, submission, Vec::new())
}

/// `submit` with the files the reporter attached (public: they see them on the tracking
/// page). The limits are checked before anything is written; a repeated submission keeps
/// the files of the first.
pub fn submit_with_files(
    conn: &mut DbConnection,
    desk: &Desk,
    report: Report,
    submission: Option<Submission>,
    files: Vec<Upload>,
) -> Result<Submitted, AppError> {
    attachments::check(&desk.attachment_limits, &files)?;
    // Classification, run linking, severity, routing and SLA only read: they are decided
    // before the write turn, so the one SQLite writer spends its turn on the inserts.
    let now = desk.clock.now();
    let decisions = crate::db::read_snapshot(conn, |conn| decide(conn, desk, &report, now))?;
    let pending = Pending {
        team: desk.model.team(&decisions.route.team).cloned(),
        report,
        submission: submission.clone(),
        decisions,
        now,
        drill: desk.drill,
        mail: desk.mail.clone(),
        zone: desk.model.time_zone,
        files,
    };
    // On SQLite this joins the writer's next batch (group commit): many reports share
    // one commit and the index pages it writes.
    let result = crate::db::write_grouped(&desk.pool, conn, move |conn| pending.write(conn));
    match (result, submission) {
        (Ok(Ok(submitted)), _) => Ok(submitted),
        (Ok(Err(KeyReused)), submission) => Err(key_reused(submission)),
        // Two submissions with one key raced on PostgreSQL: the other one won.
        (Err(e), Some(submission)) if e.is_db_conflict() => {
            let existing =
                Ticket::find_by_submission_key(conn, &submission.key)?.ok_or(AppError::NotFound)?;
            same_submission(&submission, existing).map_err(|KeyReused| key_reused(Some(submission)))
        }
        (Err(e), _) => Err(e),
    }
}

/// A submission key came again from someone else or with another report.
struct KeyReused;

/// The ticket `submission`'s key made, if it is the same submission.
fn same_submission(
    submission: &Submission,
    (ticket, fingerprint): (Ticket, Option<String>),
) -> Result<Submitted, KeyReused> {
    if submission.matches(fingerprint.as_deref()) {
        Ok(Submitted::Duplicate(ticket))
    } else {
        Err(KeyReused)
    }
}

fn key_reused(submission: Option<Submission>) -> AppError {
    // The key is the client's, not personal data; the ticket it made is not named.
    tracing::info!(
        key = submission.map(|s| s.key).unwrap_or_default(),
        "submission key reused by another requester or with another report; refused"
    );
    AppError::SubmissionKeyReused
}

/// A decided report, owned: its write may run on the SQLite writer's thread.
struct Pending {
    report: Report,
    submission: Option<Submission>,
    decisions: Decisions,
    now: NaiveDateTime,
    drill: i64,
    mail: MailContext,
    /// The owning team, whose queue hears of the ticket.
    team: Option<Team>,
    /// The support model's zone, for the times in the confirmation and the team's notice.
    zone: chrono_tz::Tz,
    /// Files the reporter attached, checked against the limits.
    files: Vec<Upload>,
}

impl Pending {
    /// Runs on the writer, possibly twice (see `db::sqlite::writer`): it only writes. A
    /// reused key writes nothing and is no failure of the batch it shares.
    fn write(&self, conn: &mut DbConnection) -> Result<Result<Submitted, KeyReused>, AppError> {
        if let Some(submission) = &self.submission
            && let Some(existing) = Ticket::find_by_submission_key(conn, &submission.key)?
        {
            return Ok(same_submission(submission, existing));
        }
        let ticket = insert_ticket(
            conn,
            &self.report,
            self.submission.as_ref(),
            &self.decisions,
            self.now,
            self.drill,
        )?;
        record_timeline(conn, ticket.id, &self.decisions, self.now)?;
        let files = if self.files.is_empty() {
            Vec::new()
        } else {
            let report = Event::newest_of_kind(conn, ticket.id, EventKind::Created)?;
            let added_by = self.report.reporter_email.as_str();
            attachments::store(
                conn,
                ticket.id,
                report,
                &self.files,
                true,
                added_by,
                self.now,
            )?
        };
        let team_name = self.team.as_ref().map(|t| t.name.as_str());
        let mut messages = vec![confirmation(&self.mail, &ticket, team_name, self.zone)?];
        messages.extend(team_notice(
            &self.mail,
            self.team.as_ref(),
            self.zone,
            &ticket,
            &files,
            self.now,
        )?);
        ticket_changes::queue_all(conn, &self.mail, &ticket, messages, self.now)?;
        let linked_runs = self
            .decisions
            .linking
            .links
            .iter()
            .map(|l| l.run_id.clone())
            .collect();
        Ok(Ok(Submitted::Created {
            ticket,
            linked_runs,
        }))
    }
}

fn decide(
    conn: &mut DbConnection,
    desk: &Desk,
    report: &Report,
    now: NaiveDateTime,
) -> Result<Decisions, AppError> {
    let model = &desk.model;
    let linking = linking::plan(conn, model, report, now)?;
    let classifier = desk.classifier.model();
    let classification = classify(
        &ClassifierInput {
            kind: report.kind,
            description: &report.description,
            column: report.column.as_deref(),
            detected_type: report.detected_type.as_deref(),
            expected_type: report.expected_type.as_deref(),
            evidence: &linking.evidence,
        },
        &classifier,
    );
    let table = report.table.as_ref().map(|t| t.as_str());
    let severity = severity::decide(&SeverityInput {
        impact: report.impact,
        category: classification.category,
        critical_table: table.and_then(|t| model.critical_pattern(t)).is_some(),
        evidence: &linking.evidence,
    });
    let route = model.router.route(&RouteQuery {
        category: classification.category,
        warehouse_type: report.warehouse_type,
        table,
        severity: Some(severity.severity),
    });
    let calendar = model.calendar_for(&route.team, severity.severity);
    let targets = sla::targets(now, &model.sla_policy(severity.severity), calendar);
    Ok(Decisions {
        linking,
        classification,
        severity,
        route,
        targets,
    })
}

fn insert_ticket(
    conn: &mut DbConnection,
    report: &Report,
    submission: Option<&Submission>,
    d: &Decisions,
    now: NaiveDateTime,
    drill: i64,
) -> Result<Ticket, AppError> {
    let token = tracking_token(now);
    let reasons = serde_json::to_string(&d.classification.reasons).map_err(AppError::internal)?;
    let severity_reasons =
        serde_json::to_string(&d.severity.reasons).map_err(AppError::internal)?;
    let (sla_due_at, sla_warn_at) = status::next_deadline(
        now,
        d.targets.first_response_due,
        d.targets.resolution_due,
        false,
    );
    let new = NewTicket {
        tracking_token: &token,
        submission_key: submission.map(|s| s.key.as_str()),
        submission_fingerprint: submission.map(|s| s.fingerprint.as_str()),
        status: Status::New,
        kind: report.kind,
        category: d.classification.category,
        confidence: d.classification.confidence,
        classification_reasons: &reasons,
        severity: d.severity.severity,
        severity_reasons: &severity_reasons,
        team: &d.route.team,
        routing_rule: &d.route.rule,
        routing_reason: &d.route.reason,
        reporter_name: report.reporter_name.as_deref(),
        reporter_email: report.reporter_email.as_str(),
        warehouse_type: report.warehouse_type,
        table_name: report.table.as_ref().map(|t| t.as_str()),
        column_name: report.column.as_deref(),
        detected_type: report.detected_type.as_deref(),
        expected_type: report.expected_type.as_deref(),
        run_ref: report.run.as_ref().map(|r| r.raw.as_str()),
        impact: report.impact,
        description: &report.description,
        first_response_due: d.targets.first_response_due,
        resolution_due: d.targets.resolution_due,
        created_at: now,
        updated_at: now,
        sla_due_at,
        sla_warn_at,
        // The next sweep works out the first escalation step.
        next_escalation_at: Some(now),
        drill,
    };
    Ok(Ticket::insert(conn, &new)?)
}

fn record_timeline(
    conn: &mut DbConnection,
    ticket_id: i64,
    d: &Decisions,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let classified = format!(
        "classified as {} ({:.0}% confidence): {}",
        d.classification.category,
        d.classification.confidence * 100.0,
        d.classification.reasons.join("; ")
    );
    let severity = format!(
        "severity {}: {}",
        d.severity.severity,
        d.severity.reasons.join("; ")
    );
    let routed = format!("routed to {}: {}", d.route.team, d.route.reason);
    let sla = format!(
        "SLA set: first response by {}, resolution by {}",
        crate::clock::rfc3339(d.targets.first_response_due),
        crate::clock::rfc3339(d.targets.resolution_due)
    );
    let links: Vec<String> = d
        .linking
        .links
        .iter()
        .map(|l| format!("linked run {}: {}", l.run_id, l.reason))
        .collect();
    let evidence = linking::describe(&d.linking.evidence);
    let mut details: Vec<(EventKind, String)> = vec![
        (EventKind::Created, "report received".to_string()),
        (EventKind::Classified, classified),
        (EventKind::SeveritySet, severity),
        (EventKind::Routed, routed),
        (EventKind::SlaSet, sla),
    ];
    details.extend(links.into_iter().map(|l| (EventKind::RunLinked, l)));
    details.extend(evidence.into_iter().map(|e| (EventKind::RunEvidence, e)));
    let events: Vec<NewEvent<'_>> = details
        .iter()
        .map(|(kind, detail)| NewEvent {
            ticket_id,
            kind: *kind,
            actor: "desk",
            detail,
            public: true,
            created_at: now,
            version: 1,
        })
        .collect();
    Event::insert_many(conn, &events)?;
    let run_links: Vec<NewTicketRun<'_>> = d
        .linking
        .links
        .iter()
        .zip(0..)
        .map(|(l, position)| NewTicketRun {
            ticket_id,
            run_id: &l.run_id,
            reason: &l.reason,
            position,
            created_at: now,
        })
        .collect();
    if !run_links.is_empty() {
        TicketRun::insert_many(conn, &run_links)?;
    }
    Ok(())
}

/// The reporter's confirmation: the first message of the ticket's thread.
fn confirmation<'a>(
    mail: &MailContext,
    ticket: &'a Ticket,
    team_name: Option<&str>,
    zone: chrono_tz::Tz,
) -> Result<Message<'a>, AppError> {
    Ok(Message {
        template: "confirmation",
        recipient: &ticket.reporter_email,
        rendered: email::confirmation(mail, ticket, team_name, zone)?,
        first_in_thread: true,
        dedupe_key: None,
    })
}

/// A ticket the desk opens itself (threshold incidents): category, severity and the
/// reasons are given; routing, SLA, run links and the timeline are as for a report. No
/// confirmation goes out (the "reporter" is the incident commander's address); the team's
/// queue hears of it. Call inside a write transaction.
pub struct DeskTicket {
    pub kind: crate::domain::category::ProblemKind,
    pub category: crate::domain::category::Category,
    pub severity: crate::domain::severity::Severity,
    pub reasons: Vec<String>,
    pub reporter_email: crate::domain::email::EmailAddress,
    pub warehouse_type: crate::domain::warehouse::WarehouseType,
    pub table: Option<crate::domain::table::TableName>,
    pub description: String,
    pub links: Vec<linking::PlannedLink>,
}

pub fn open_desk_ticket(
    conn: &mut DbConnection,
    desk: &Desk,
    spec: DeskTicket,
    now: NaiveDateTime,
) -> Result<Ticket, AppError> {
    let model = &desk.model;
    let table = spec.table.as_ref().map(|t| t.as_str());
    let route = model.router.route(&RouteQuery {
        category: spec.category,
        warehouse_type: Some(spec.warehouse_type),
        table,
        severity: Some(spec.severity),
    });
    let calendar = model.calendar_for(&route.team, spec.severity);
    let targets = sla::targets(now, &model.sla_policy(spec.severity), calendar);
    let decisions = Decisions {
        linking: Linking {
            links: spec.links,
            evidence: Default::default(),
        },
        classification: Classification {
            category: spec.category,
            confidence: 1.0,
            reasons: spec.reasons.clone(),
        },
        severity: SeverityDecision {
            severity: spec.severity,
            reasons: vec!["set by the threshold rule that opened this incident".into()],
        },
        route,
        targets,
    };
    let report = Report {
        reporter_name: Some("inspect-desk monitor".into()),
        reporter_email: spec.reporter_email,
        kind: spec.kind,
        warehouse_type: Some(spec.warehouse_type),
        table: spec.table,
        column: None,
        detected_type: None,
        expected_type: None,
        run: None,
        impact: None,
        description: spec.description,
    };
    let ticket = insert_ticket(conn, &report, None, &decisions, now, desk.drill)?;
    record_timeline(conn, ticket.id, &decisions, now)?;
    let notice = team_notice(
        &desk.mail,
        model.team(&ticket.team),
        model.time_zone,
        &ticket,
        &[],
        now,
    )?;
    ticket_changes::queue_all(conn, &desk.mail, &ticket, notice.into_iter().collect(), now)?;
    Ok(ticket)
}

/// The owning team's queue hears a new ticket arrived, with links to its files (no
/// message when the team is not in the support model).
fn team_notice<'a>(
    mail: &MailContext,
    team: Option<&'a Team>,
    zone: chrono_tz::Tz,
    ticket: &Ticket,
    files: &[Attachment],
    now: NaiveDateTime,
) -> Result<Option<Message<'a>>, AppError> {
    let Some(team) = team else {
        return Ok(None);
    };
    let headline = format!("New {} report for {}", ticket.severity.label(), team.name);
    let links = files
        .iter()
        .map(|f| email::FileLink::for_agents(mail, ticket, f))
        .collect();
    let rendered =
        email::agent_notice_with_files(mail, ticket, &team.name, zone, now, &headline, links)?;
    Ok(Some(Message {
        template: "new_ticket",
        recipient: &team.queue,
        rendered,
        first_in_thread: false,
        dedupe_key: None,
    }))
}

/// 40 hex characters: the second it was issued (8), then 128 random bits (32).
/// Unguessable and URL-safe like any 40 random hex characters, and in issue order: a new
/// ticket's token goes at the end of the token index instead of onto a random page of it,
/// which every report's commit wrote out again (two of the ~20 pages a report wrote).
/// The second says no more than the tracking page itself does (when the report came in).
pub fn tracking_token(now: NaiveDateTime) -> String {
    // Wraps in 2106, which costs only the order; before 1970 (a drill's moved clock
    // cannot go there) it would too.
    let second = now.and_utc().timestamp() as u32;
    format!("{second:08x}{}", crate::domain::secret::random_hex(16))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::at;

    #[test]
    fn tracking_tokens_are_40_hex_characters_in_issue_order() {
        let earlier = tracking_token(at("2026-11-26 20:00"));
        let same_second = tracking_token(at("2026-11-26 20:00"));
        let later = tracking_token(at("2026-11-26 20:01"));
        for token in [&earlier, &same_second, &later] {
            assert_eq!(token.len(), 40, "{token}");
            assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
        }
        assert!(earlier < later && same_second < later, "{earlier} {later}");
        // The random part differs even within one second.
        assert_ne!(earlier, same_second);
        assert_eq!(&earlier[..8], &same_second[..8]);
    }
}
