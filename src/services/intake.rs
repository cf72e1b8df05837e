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
    // Written with the reports other callers sent meanwhile: on SQLite in the writer's
    // next batch (many reports share one commit and the index pages it writes), on
    // PostgreSQL in one transaction and one statement per table (`Reports`).
    let result = crate::db::write_in_group::<Reports>(&desk.pool, conn, pending);
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

/// Reports written together (`db::write_in_group`).
struct Reports;

impl crate::db::GroupWrite for Reports {
    type Item = Pending;
    type Answer = Result<Submitted, KeyReused>;
    type Error = AppError;
    const NAME: &'static str = "report-writer";

    /// Runs on a writer thread, possibly twice (see `db::group`, `db::sqlite::writer`): it
    /// only writes. A reused key writes nothing and is no failure of the group.
    fn write(conn: &mut DbConnection, reports: &[Pending]) -> Result<Vec<Self::Answer>, AppError> {
        let mut answers = repeats(conn, reports)?;
        let fresh: Vec<&Pending> = reports
            .iter()
            .zip(&answers)
            .filter(|(_, answer)| answer.is_none())
            .map(|(report, _)| report)
            .collect();
        let texts = fresh
            .iter()
            .map(|p| TicketText::of(&p.decisions, p.now))
            .collect::<Result<Vec<_>, _>>()?;
        let rows: Vec<NewTicket<'_>> = fresh
            .iter()
            .zip(&texts)
            .map(|(p, text)| {
                new_ticket(
                    &p.report,
                    p.submission.as_ref(),
                    &p.decisions,
                    text,
                    p.now,
                    p.drill,
                )
            })
            .collect();
        let tickets = Ticket::insert_many(conn, &rows)?;
        let timelines: Vec<_> = fresh
            .iter()
            .zip(&tickets)
            .map(|(p, ticket)| (ticket.id, &p.decisions, p.now))
            .collect();
        record_timelines(conn, &timelines)?;
        let mut changes = Vec::with_capacity(fresh.len());
        for (p, ticket) in fresh.iter().zip(&tickets) {
            let files = p.store_files(conn, ticket)?;
            changes.push(ticket_changes::Change {
                mail: &p.mail,
                ticket,
                messages: p.messages(ticket, &files)?,
                now: p.now,
            });
        }
        ticket_changes::queue_changes(conn, changes)?;
        let mut created = fresh.iter().zip(tickets);
        for answer in answers.iter_mut().filter(|a| a.is_none()) {
            let (p, ticket) = created
                .next()
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("a ticket went missing")))?;
            *answer = Some(Ok(Submitted::Created {
                ticket,
                linked_runs: p
                    .decisions
                    .linking
                    .links
                    .iter()
                    .map(|l| l.run_id.clone())
                    .collect(),
            }));
        }
        Ok(answers.into_iter().flatten().collect())
    }
}

/// For each report, the answer if its submission key already made a ticket (the same
/// submission again, or the key reused); `None` for a new one.
fn repeats(
    conn: &mut DbConnection,
    reports: &[Pending],
) -> Result<Vec<Option<Result<Submitted, KeyReused>>>, AppError> {
    let keys: Vec<&str> = reports
        .iter()
        .filter_map(|r| r.submission.as_ref().map(|s| s.key.as_str()))
        .collect();
    let found = if keys.is_empty() {
        Vec::new()
    } else {
        Ticket::find_by_submission_keys(conn, &keys)?
    };
    Ok(reports
        .iter()
        .map(|report| {
            let submission = report.submission.as_ref()?;
            let (ticket, _, fingerprint) = found
                .iter()
                .find(|(_, key, _)| key.as_deref() == Some(submission.key.as_str()))?;
            Some(same_submission(
                submission,
                (ticket.clone(), fingerprint.clone()),
            ))
        })
        .collect())
}

impl Pending {
    /// The reporter's files, stored against the ticket's "report received" entry.
    fn store_files(
        &self,
        conn: &mut DbConnection,
        ticket: &Ticket,
    ) -> Result<Vec<Attachment>, AppError> {
        if self.files.is_empty() {
            return Ok(Vec::new());
        }
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
        )
    }

    /// The reporter's confirmation and the owning team's notice.
    fn messages<'a>(
        &'a self,
        ticket: &'a Ticket,
        files: &[Attachment],
    ) -> Result<Vec<Message<'a>>, AppError> {
        let team_name = self.team.as_ref().map(|t| t.name.as_str());
        let mut messages = vec![confirmation(&self.mail, ticket, team_name, self.zone)?];
        messages.extend(team_notice(
            &self.mail,
            self.team.as_ref(),
            self.zone,
            ticket,
            files,
            self.now,
        )?);
        Ok(messages)
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

/// What a ticket row holds besides the report: made once, borrowed by `new_ticket`.
struct TicketText {
    token: String,
    reasons: String,
    severity_reasons: String,
}

impl TicketText {
    fn of(d: &Decisions, now: NaiveDateTime) -> Result<TicketText, AppError> {
        Ok(TicketText {
            token: tracking_token(now),
            reasons: serde_json::to_string(&d.classification.reasons)
                .map_err(AppError::internal)?,
            severity_reasons: serde_json::to_string(&d.severity.reasons)
                .map_err(AppError::internal)?,
        })
    }
}

fn new_ticket<'a>(
    report: &'a Report,
    submission: Option<&'a Submission>,
    d: &'a Decisions,
    text: &'a TicketText,
    now: NaiveDateTime,
    drill: i64,
) -> NewTicket<'a> {
    let (sla_due_at, sla_warn_at) = status::next_deadline(
        now,
        d.targets.first_response_due,
        d.targets.resolution_due,
        false,
    );
    NewTicket {
        tracking_token: &text.token,
        submission_key: submission.map(|s| s.key.as_str()),
        submission_fingerprint: submission.map(|s| s.fingerprint.as_str()),
        status: Status::New,
        kind: report.kind,
        category: d.classification.category,
        confidence: d.classification.confidence,
        classification_reasons: &text.reasons,
        severity: d.severity.severity,
        severity_reasons: &text.severity_reasons,
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
    }
}

/// The timeline of new tickets, each `(ticket id, what was decided, when)`, and their
/// run links: one insert for all the entries and one for all the links.
fn record_timelines(
    conn: &mut DbConnection,
    tickets: &[(i64, &Decisions, NaiveDateTime)],
) -> Result<(), AppError> {
    let details: Vec<Vec<(EventKind, String)>> =
        tickets.iter().map(|(_, d, _)| timeline(d)).collect();
    let events: Vec<NewEvent<'_>> = tickets
        .iter()
        .zip(&details)
        .flat_map(|(&(ticket_id, _, now), details)| {
            details.iter().map(move |(kind, detail)| NewEvent {
                ticket_id,
                kind: *kind,
                actor: "desk",
                detail,
                public: true,
                created_at: now,
                version: 1,
            })
        })
        .collect();
    Event::insert_many(conn, &events)?;
    let run_links: Vec<NewTicketRun<'_>> = tickets
        .iter()
        .flat_map(|&(ticket_id, d, now)| {
            d.linking
                .links
                .iter()
                .zip(0..)
                .map(move |(l, position)| NewTicketRun {
                    ticket_id,
                    run_id: &l.run_id,
                    reason: &l.reason,
                    position,
                    created_at: now,
                })
        })
        .collect();
    if !run_links.is_empty() {
        TicketRun::insert_many(conn, &run_links)?;
    }
    Ok(())
}

/// A new ticket's timeline entries, in order.
fn timeline(d: &Decisions) -> Vec<(EventKind, String)> {
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
    let mut details: Vec<(EventKind, String)> = vec![
        (EventKind::Created, "report received".to_string()),
        (EventKind::Classified, classified),
        (EventKind::SeveritySet, severity),
        (EventKind::Routed, routed),
        (EventKind::SlaSet, sla),
    ];
    details.extend(d.linking.links.iter().map(|l| {
        (
            EventKind::RunLinked,
            format!("linked run {}: {}", l.run_id, l.reason),
        )
    }));
    details.extend(
        linking::describe(&d.linking.evidence)
            .into_iter()
            .map(|e| (EventKind::RunEvidence, e)),
    );
    details
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
    let text = TicketText::of(&decisions, now)?;
    let row = new_ticket(&report, None, &decisions, &text, now, desk.drill);
    let ticket = Ticket::insert(conn, &row)?;
    record_timelines(conn, &[(ticket.id, &decisions, now)])?;
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
