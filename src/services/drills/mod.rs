//! Drills: scripted rehearsals on a live desk. A drill runs the desk's own services —
//! ingest, threshold rules, intake, routing, sweeps, mail delivery, acknowledgement — on
//! a desk of its own: its own movable clock (SLAs pass in seconds) and its own id, which
//! tags every ticket, run and email it makes. The live desk's metrics, dashboards, queue
//! counts, sweeps, rules and mail delivery leave tagged data alone; the drill's mail goes
//! to the drill's recipients with `[DRILL]` in the subject. Each step is checked, timed
//! and stored as it finishes, so the report is there even if the process dies.

mod rehearsal;
mod scenarios;

use crate::db::models::audit::{AuditEntry, NewAuditEntry};
use crate::db::models::drill::{Drill, DrillStep, NewDrill};
use crate::db::{DbConnection, write_transaction};
use crate::domain::drill::DrillStatus;
use crate::domain::email::EmailAddress;
use crate::email::transport::Mailer;
use crate::error::AppError;
use crate::services::accounts::Actor;
use crate::state::Desk;

pub use rehearsal::Rehearsal;

/// A scripted rehearsal.
pub struct Scenario {
    pub name: &'static str,
    pub summary: &'static str,
    /// How many checked steps a passing run has ("step 7 of 9" while it runs).
    pub steps: usize,
    run: fn(&mut Rehearsal<'_>),
}

/// Every scenario, in the order `drill --list` shows them.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "snowflake-timeout-burst",
        summary: "Snowflake runs time out → a threshold incident opens → analyst reports attach → \
                  routed → the SLA passes on a moved clock → escalation emails → acknowledged → \
                  recovery resolves it",
        steps: 9,
        run: scenarios::snowflake_timeout_burst,
    },
    Scenario {
        name: "wrong-type-spike",
        summary: "after a classifier release analysts report wrong column types → each is \
                  classified and routed → the burst opens an incident → an agent confirms a \
                  wrong type → every reporter hears → a quiet spell resolves it",
        steps: 7,
        run: scenarios::wrong_type_spike,
    },
    Scenario {
        name: "report-generation-outage",
        summary: "inspector reports fail to generate → reports burst into an incident → a known \
                  issue shows → an analyst joins it in one click → an update reaches every \
                  reporter → the owner resolves it",
        steps: 6,
        run: scenarios::report_generation_outage,
    },
    Scenario {
        name: "smtp-down-during-escalation",
        summary: "a ticket escalates while SMTP is down → every attempt fails and is kept → \
                  another sweep doubles nothing → SMTP returns → each message is delivered once",
        steps: 5,
        run: scenarios::smtp_down_during_escalation,
    },
];

pub fn scenario(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// A drill's stored report.
#[derive(Debug, Clone)]
pub struct DrillReport {
    pub drill: Drill,
    pub steps: Vec<DrillStep>,
}

impl DrillReport {
    pub fn passed(&self) -> bool {
        self.drill.status == DrillStatus::Passed
    }

    /// The report as the CLI prints it.
    pub fn to_text(&self) -> String {
        let total: i64 = self.steps.iter().map(|s| s.duration_ms).sum();
        let passed = self.steps.iter().filter(|s| s.passed).count();
        let mut out = format!(
            "DRILL {} {}: {} ({passed}/{} steps passed, {:.1} s)\nmail to: {}\n",
            self.drill.id,
            self.drill.scenario,
            self.drill.status.as_str().to_uppercase(),
            self.steps.len(),
            total as f64 / 1000.0,
            self.drill.recipients
        );
        for step in &self.steps {
            out.push_str(&format!(
                "  {} {}. {} ({} ms)\n",
                if step.passed { "PASS" } else { "FAIL" },
                step.position,
                step.name,
                step.duration_ms
            ));
            for line in step.detail.lines() {
                out.push_str(&format!("       {line}\n"));
            }
        }
        out
    }
}

/// Record a new drill of `scenario`, mail to `recipients` (the support model's drill
/// recipients when empty). Checks everything before anything is stored.
pub fn start(
    conn: &mut DbConnection,
    desk: &Desk,
    scenario_name: &str,
    recipients: &[String],
    actor: &Actor<'_>,
) -> Result<i64, AppError> {
    if scenario(scenario_name).is_none() {
        let known: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        return Err(AppError::invalid(
            "scenario",
            format!(
                "There is no drill '{scenario_name}'. Drills: {}.",
                known.join(", ")
            ),
        ));
    }
    let recipients: Vec<String> = if recipients.is_empty() {
        desk.model.drill_recipients.clone()
    } else {
        recipients.to_vec()
    };
    if recipients.is_empty() {
        return Err(AppError::invalid(
            "recipients",
            "A drill needs someone to mail: set [drills] recipients in the support model or name a recipient.",
        ));
    }
    let mut checked = Vec::new();
    for r in &recipients {
        let address = EmailAddress::parse(r)
            .map_err(|e| AppError::invalid("recipients", format!("Drill recipient: {e}")))?;
        checked.push(address.as_str().to_string());
    }
    let now = desk.clock.now();
    let recipients = checked.join(", ");
    write_transaction(conn, |conn| {
        let id = Drill::insert(
            conn,
            &NewDrill {
                scenario: scenario_name,
                status: DrillStatus::Running,
                started_by: actor.name,
                recipients: &recipients,
                started_at: now,
            },
        )?;
        AuditEntry::record(
            conn,
            &NewAuditEntry {
                at: now,
                actor: actor.name,
                action: "drill_started",
                subject: &format!("drill {id}"),
                detail: &format!("{scenario_name}, mail to {recipients}"),
                ip: actor.ip,
            },
        )?;
        Ok(id)
    })
}

/// Run drill `id` (recorded by `start`) to the end and return its report. `mailer` is
/// where the drill's mail really goes (to the drill's recipients only).
pub fn run(desk: &Desk, id: i64, mailer: &Mailer) -> Result<DrillReport, AppError> {
    let mut conn = desk.pool.get()?;
    let drill = Drill::find(&mut conn, id)?.ok_or(AppError::NotFound)?;
    let scenario = scenario(&drill.scenario).ok_or(AppError::NotFound)?;
    let drill_desk = desk.for_drill(id);
    // Delivery is async (lettre) and its SMTP pool belongs to the runtime it is built and
    // dropped on: the drill has a small runtime of its own, entered for the whole run.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(AppError::internal)?;
    let passed = {
        let _inside = runtime.enter();
        let mailer = mailer.rebuild().map_err(AppError::internal_msg)?;
        let mut rehearsal = Rehearsal::new(&drill_desk, conn, &mailer, &runtime);
        (scenario.run)(&mut rehearsal);
        let passed = rehearsal.passed();
        // Whatever happened, nothing of the drill stays open to escalate or mail later.
        rehearsal.wind_down();
        passed
    };
    let mut conn = desk.pool.get()?;
    let status = if passed {
        DrillStatus::Passed
    } else {
        DrillStatus::Failed
    };
    write_transaction(&mut conn, |conn| {
        Drill::finish(conn, id, status, desk.clock.now()).map_err(AppError::from)
    })?;
    report(&mut conn, id)?.ok_or(AppError::NotFound)
}

pub fn report(conn: &mut DbConnection, id: i64) -> Result<Option<DrillReport>, AppError> {
    let Some(drill) = Drill::find(conn, id)? else {
        return Ok(None);
    };
    let steps = Drill::steps(conn, id)?;
    Ok(Some(DrillReport { drill, steps }))
}

/// The newest drills first, with their steps (all steps in one query).
pub fn recent(conn: &mut DbConnection, limit: i64) -> Result<Vec<DrillReport>, AppError> {
    let drills = Drill::recent(conn, limit)?;
    let ids: Vec<i64> = drills.iter().map(|d| d.id).collect();
    let mut steps: std::collections::HashMap<i64, Vec<_>> = std::collections::HashMap::new();
    for step in Drill::steps_of(conn, &ids)? {
        steps.entry(step.drill_id).or_default().push(step);
    }
    Ok(drills
        .into_iter()
        .map(|drill| DrillReport {
            steps: steps.remove(&drill.id).unwrap_or_default(),
            drill,
        })
        .collect())
}
