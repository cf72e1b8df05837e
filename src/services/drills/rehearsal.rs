//! What a scenario works with: the drill's desk and connection, its moved clock, mail
//! delivery of its own messages, and the step recorder.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use std::time::Instant;

use crate::db::models::drill::DrillStep;
use crate::db::models::outbox::OutboxMessage;
use crate::db::models::ticket::Ticket;
use crate::db::schema::{outbox, tickets};
use crate::db::{PooledConnection, write_transaction};
use crate::domain::outbox::OutboxStatus;
use crate::domain::report::{RawReport, Report};
use crate::domain::run::RunStatus;
use crate::domain::run_record::{ColumnType, RunRecord};
use crate::domain::status::Status;
use crate::domain::table::TableName;
use crate::domain::warehouse::WarehouseType;
use crate::email::transport::{self, Mailer};
use crate::error::AppError;
use crate::services::delivery::{DeliveryReport, Outcome, claim, record};
use crate::services::intake;
use crate::state::Desk;

/// A step's outcome: what it saw (pass) or what went wrong (fail).
pub type StepResult = Result<String, String>;

pub struct Rehearsal<'a> {
    pub desk: &'a Desk,
    pub conn: PooledConnection,
    mailer: &'a Mailer,
    /// Runtime::block_on, not Handle::block_on: only the former drives IO on a
    /// current-thread runtime.
    runtime: &'a tokio::runtime::Runtime,
    position: i32,
    failed: bool,
    runs: usize,
    /// The threshold rules' cache of this drill's evaluations.
    pub rules_cache: crate::services::monitor::MonitorCache,
}

impl<'a> Rehearsal<'a> {
    /// `runtime`: the drill's own, entered by the caller for the whole run.
    pub fn new(
        desk: &'a Desk,
        conn: PooledConnection,
        mailer: &'a Mailer,
        runtime: &'a tokio::runtime::Runtime,
    ) -> Self {
        Rehearsal {
            desk,
            conn,
            mailer,
            runtime,
            position: 0,
            failed: false,
            runs: 0,
            rules_cache: Default::default(),
        }
    }

    pub fn id(&self) -> i64 {
        self.desk.drill
    }

    pub fn passed(&self) -> bool {
        !self.failed && self.position > 0
    }

    pub fn now(&self) -> NaiveDateTime {
        self.desk.clock.now()
    }

    /// Move the drill's clock (never the live desk's).
    pub fn advance(&self, by: TimeDelta) {
        self.desk.clock.advance(by);
    }

    /// Run one step unless an earlier one failed; store its outcome at once. Returns
    /// whether it passed.
    pub fn step(&mut self, name: &str, body: impl FnOnce(&mut Self) -> StepResult) -> bool {
        if self.failed {
            return false;
        }
        self.position += 1;
        let started = Instant::now();
        let outcome = body(self);
        let duration_ms = started.elapsed().as_millis() as i64;
        let (passed, detail) = match outcome {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        self.failed |= !passed;
        let row = DrillStep {
            drill_id: self.id(),
            position: self.position,
            name: name.to_string(),
            passed,
            detail,
            duration_ms,
        };
        let stored = write_transaction(&mut self.conn, |conn| {
            DrillStep::insert(conn, &row).map_err(AppError::from)
        });
        if let Err(e) = stored {
            tracing::warn!(error = %e, drill = self.id(), "cannot store a drill step");
            self.failed = true;
        }
        passed
    }

    /// A table of this drill's own, so no real ticket or run is ever touched.
    pub fn table(&self, warehouse: WarehouseType, schema_table: &str) -> TableName {
        let name = format!("DRILL_{}.{schema_table}", self.id());
        TableName::parse(&name, Some(warehouse)).expect("drill table names are valid")
    }

    /// Store `n` runs of `table` ending in `status`, a minute apart, the last one a minute
    /// ago on the drill's clock.
    pub fn post_runs(
        &mut self,
        warehouse: WarehouseType,
        table: &TableName,
        status: RunStatus,
        n: usize,
        error: Option<&str>,
        columns: &[(&str, &str, f64)],
    ) -> Result<Vec<RunRecord>, AppError> {
        let now = self.now();
        let records: Vec<RunRecord> = (0..n)
            .map(|i| {
                self.runs += 1;
                let started_at = now - TimeDelta::minutes((n - i) as i64 + 1);
                RunRecord {
                    run_id: format!("drill-{}-run-{}", self.id(), self.runs),
                    warehouse_type: warehouse,
                    table: table.clone(),
                    status,
                    started_at,
                    finished_at: Some(started_at + TimeDelta::seconds(50)),
                    error: error.map(str::to_string),
                    row_count: (status == RunStatus::Succeeded).then_some(120_000),
                    columns: columns
                        .iter()
                        .map(|(name, semantic, confidence)| ColumnType {
                            name: name.to_string(),
                            semantic_type: Some(semantic.to_string()),
                            confidence: Some(*confidence),
                        })
                        .collect(),
                }
            })
            .collect();
        let id = self.id();
        crate::services::runs::store(&mut self.conn, &records, now, id)?;
        // A drill checks freshness at once, at its own moved time: its next step looks
        // for the outcome. (Its threshold rules run when a step evaluates them.)
        if let Err(e) = crate::services::freshness::after_runs(&mut self.conn, self.desk, &records)
        {
            tracing::warn!(error = %e, "freshness check after a drill's runs failed");
        }
        Ok(records)
    }

    /// File an analyst report through intake, validated as the form validates it.
    pub fn report(&mut self, raw: RawReport) -> Result<Ticket, String> {
        let report = Report::parse(&raw).map_err(|errors| {
            let fields: Vec<String> = errors.iter().map(|(f, m)| format!("{f}: {m}")).collect();
            format!("the drill's report was rejected: {}", fields.join("; "))
        })?;
        intake::submit(&mut self.conn, self.desk, report, None)
            .map(|s| s.ticket().clone())
            .map_err(|e| format!("intake failed: {e}"))
    }

    /// A synthetic analyst address (the drill's mail never goes to it).
    pub fn analyst(&self, n: usize) -> String {
        format!("analyst{n}.drill{}@drill.inspect-desk.invalid", self.id())
    }

    pub fn ticket(&mut self, id: i64) -> Result<Ticket, String> {
        Ticket::find(&mut self.conn, id).map_err(|e| format!("cannot read ticket {id}: {e}"))
    }

    /// This drill's outbox rows, oldest first.
    pub fn mail(&mut self) -> Result<Vec<OutboxMessage>, String> {
        outbox::table
            .filter(outbox::drill.eq(self.id()))
            .order(outbox::id.asc())
            .select(OutboxMessage::as_select())
            .load(&mut *self.conn)
            .map_err(|e| format!("cannot read the drill's mail: {e}"))
    }

    /// Deliver this drill's due mail through `mailer` (the real one unless given).
    pub fn deliver(&mut self, mailer: Option<&Mailer>) -> Result<DeliveryReport, String> {
        let mailer = mailer.unwrap_or(self.mailer);
        let mut report = DeliveryReport::default();
        loop {
            let (now, id) = (self.now(), self.id());
            let claimed = claim(&mut self.conn, now, 100, id)
                .map_err(|e| format!("cannot claim the drill's mail: {e}"))?;
            if claimed.is_empty() {
                return Ok(report);
            }
            for row in claimed {
                let outcome = match transport::build(&self.desk.mail, &self.desk.signing_key, &row)
                {
                    Ok(message) => self.runtime.block_on(mailer.send(message)),
                    Err(e) => Err(e),
                };
                let now = self.now();
                match record(&mut self.conn, &row, outcome, now)
                    .map_err(|e| format!("cannot record a delivery: {e}"))?
                {
                    Outcome::Sent => report.sent += 1,
                    Outcome::Retry => report.failed += 1,
                    Outcome::Dead => report.dead += 1,
                }
            }
        }
    }

    /// Check that every message of the drill went to its recipients, tagged `[DRILL]`.
    pub fn check_mail_confined(&mut self) -> Result<usize, String> {
        let id = self.id();
        let recipients = crate::db::models::drill::Drill::recipients_of(&mut self.conn, id)
            .map_err(|e| format!("cannot read the drill's recipients: {e}"))?;
        let mail = self.mail()?;
        for m in &mail {
            if !recipients.contains(&m.recipient) {
                return Err(format!(
                    "message {} went to {}, not to a drill recipient",
                    m.message_id, m.recipient
                ));
            }
            if !m.subject.starts_with(crate::domain::drill::SUBJECT_TAG) {
                return Err(format!("message {} has no [DRILL] subject", m.message_id));
            }
        }
        Ok(mail.len())
    }

    /// Close whatever the drill left open (a failed drill leaves tickets mid-way), and
    /// give up on mail it did not deliver: nothing of a drill lingers to escalate or send.
    pub fn wind_down(&mut self) {
        let id = self.id();
        let now = self.now();
        let open = Status::OPEN;
        let result = write_transaction(&mut self.conn, |conn| -> Result<(), AppError> {
            let left: Vec<i64> = tickets::table
                .filter(tickets::drill.eq(id))
                .filter(tickets::status.eq_any(&open))
                .select(tickets::id)
                .load(conn)?;
            diesel::update(tickets::table.filter(tickets::id.eq_any(&left)))
                .set((
                    tickets::status.eq(Status::Closed),
                    tickets::next_escalation_at.eq(None::<NaiveDateTime>),
                    tickets::updated_at.eq(now),
                    tickets::version.eq(tickets::version + 1),
                ))
                .execute(conn)?;
            diesel::update(
                crate::db::schema::signal_incidents::table
                    .filter(crate::db::schema::signal_incidents::ticket_id.eq_any(&left))
                    .filter(crate::db::schema::signal_incidents::resolved_at.is_null()),
            )
            .set(crate::db::schema::signal_incidents::resolved_at.eq(Some(now)))
            .execute(conn)?;
            diesel::update(
                outbox::table
                    .filter(outbox::drill.eq(id))
                    .filter(outbox::status.eq(OutboxStatus::Pending)),
            )
            .set((
                outbox::status.eq(OutboxStatus::Dead),
                outbox::last_error.eq(Some("the drill ended before it was delivered")),
            ))
            .execute(conn)?;
            Ok(())
        });
        if let Err(e) = result {
            tracing::warn!(error = %e, drill = id, "cannot wind down a drill");
        }
    }
}

/// `Ok(detail)` when `ok`, else `Err(detail)`.
pub fn check(ok: bool, detail: String) -> StepResult {
    if ok { Ok(detail) } else { Err(detail) }
}
