//! The scripted scenarios, one file each. Each step does what the live desk would do and
//! checks what an operator would look for; numbers come from the shipped support model (the
//! rule that should fire, the team that should own it), never from constants of the drill.
//! This file holds the steps several scenarios share.

mod report_outage;
mod smtp_down;
mod snowflake;
mod wrong_type;

pub use report_outage::report_generation_outage;
pub use smtp_down::smtp_down_during_escalation;
pub use snowflake::snowflake_timeout_burst;
pub use wrong_type::wrong_type_spike;

use chrono::TimeDelta;

use super::rehearsal::{Rehearsal, StepResult, check};
use crate::db::models::escalation::TicketEscalation;
use crate::db::models::ticket::Ticket;
use crate::domain::category::{Category, TypeVerdict};
use crate::domain::outbox::OutboxStatus;
use crate::domain::report::RawReport;
use crate::domain::routing::RouteQuery;
use crate::domain::run::RunStatus;
use crate::domain::severity::Severity;
use crate::domain::signals::{Condition, Rule, Span};
use crate::domain::status::Status;
use crate::domain::table::TableName;
use crate::domain::ticket_number::TicketNumber;
use crate::domain::warehouse::WarehouseType;
use crate::services::incidents::{self, OpenIncident};
use crate::services::monitor;
use crate::services::ticket_changes::{Changes, Who};
use crate::services::triage;

/// What the drill signs its actions as.
fn drill_agent(r: &Rehearsal<'_>) -> Who {
    Who {
        name: format!("drill {}", r.id()),
        user_id: None,
    }
}

fn first_rule<'m>(
    r: &'m Rehearsal<'_>,
    warehouse: WarehouseType,
    wanted: impl Fn(&Condition) -> bool,
) -> Result<&'m Rule, String> {
    r.desk
        .model
        .signals
        .rules
        .iter()
        .find(|rule| rule.watches(warehouse) && wanted(&rule.condition))
        .ok_or_else(|| format!("the support model has no such threshold rule for {warehouse}"))
}

/// Run the threshold rules for `warehouse` at the drill's now.
fn evaluate(
    r: &mut Rehearsal<'_>,
    warehouse: WarehouseType,
) -> Result<monitor::Evaluation, String> {
    let now = r.now();
    monitor::evaluate_on(&mut r.conn, r.desk, &r.rules_cache, now, Some(&[warehouse]))
        .map_err(|e| format!("threshold rules failed: {e}"))
}

fn open_incidents(r: &mut Rehearsal<'_>) -> Result<Vec<OpenIncident>, String> {
    let id = r.id();
    incidents::open_incidents(&mut r.conn, id).map_err(|e| format!("{e}"))
}

/// The one open incident of the drill, opened by `rule`.
fn the_incident(r: &mut Rehearsal<'_>, rule: &str) -> Result<OpenIncident, String> {
    let open = open_incidents(r)?;
    match open.as_slice() {
        [one] if one.signal.as_ref().is_some_and(|s| s.rule == rule) => Ok(one.clone()),
        [one] => Err(format!(
            "{} is open, but not from rule {rule}",
            one.ticket.number()
        )),
        [] => Err(format!("rule {rule} opened no incident")),
        many => Err(format!(
            "{} incidents are open where one should be",
            many.len()
        )),
    }
}

/// The team the support model routes this to, and by which rule.
fn expected_route(
    r: &Rehearsal<'_>,
    category: Category,
    warehouse: WarehouseType,
    table: &TableName,
    severity: Severity,
) -> (String, String) {
    let route = r.desk.model.router.route(&RouteQuery {
        category,
        warehouse_type: Some(warehouse),
        table: Some(table.as_str()),
        severity: Some(severity),
    });
    (route.team, route.rule)
}

fn check_routed(r: &Rehearsal<'_>, tickets: &[Ticket], table: &TableName) -> StepResult {
    let mut lines = Vec::new();
    for t in tickets {
        let category = t.category;
        let warehouse = t
            .warehouse_type
            .ok_or("a drill ticket has no warehouse type")?;
        let severity = t.severity;
        let (team, rule) = expected_route(r, category, warehouse, table, severity);
        if t.team != team || t.routing_rule != rule {
            return Err(format!(
                "{} went to {} by {}; the support model says {team} by {rule}",
                t.number(),
                t.team,
                t.routing_rule
            ));
        }
        let name = r.desk.model.team_name(&team);
        lines.push(format!("{} → {name} (rule {rule})", t.number()));
    }
    Ok(lines.join("\n"))
}

/// Advance past `ticket`'s first-response due time and sweep: its breach steps fire.
fn breach_and_sweep(r: &mut Rehearsal<'_>, ticket: &Ticket) -> StepResult {
    let wait = ticket.first_response_due - r.now() + TimeDelta::minutes(1);
    if wait > TimeDelta::zero() {
        r.advance(wait);
    }
    let swept = crate::services::escalation::sweep(r.desk, r.now())
        .map_err(|e| format!("the sweep failed: {e}"))?;
    let steps = TicketEscalation::for_ticket(&mut r.conn, ticket.id).map_err(|e| e.to_string())?;
    let names: Vec<String> = steps
        .iter()
        .filter(|s| !s.recipients.starts_with('('))
        .map(|s| format!("{} → {}", s.step, s.recipients))
        .collect();
    check(
        !names.is_empty(),
        format!(
            "clock moved {} min to {}; the sweep fired {} step(s), {} on {}:\n{}",
            wait.num_minutes().max(0),
            crate::clock::rfc3339(r.now()),
            swept.steps,
            names.len(),
            ticket.number(),
            names.join("\n")
        ),
    )
}

/// Deliver the drill's pending mail for real and check it all went, to drill recipients.
fn deliver_confined(r: &mut Rehearsal<'_>) -> StepResult {
    let delivered = r.deliver(None)?;
    let total = r.check_mail_confined()?;
    check(
        delivered.failed == 0 && delivered.dead == 0 && delivered.sent > 0,
        format!(
            "{} sent, {} failed, {} given up; all {total} drill messages went to the drill's recipients with [DRILL] subjects",
            delivered.sent, delivered.failed, delivered.dead
        ),
    )
}

/// Post an incident update: each of `expected` reporters is told once, and the mail goes.
fn update_reaches_reporters(
    r: &mut Rehearsal<'_>,
    incident_id: i64,
    body: &str,
    expected: usize,
) -> StepResult {
    let who = drill_agent(r);
    let told = incidents::update(&mut r.conn, r.desk, &who, incident_id, body)
        .map_err(|e| format!("the update failed: {e}"))?
        .reporters;
    let detail = deliver_confined(r)?;
    check(
        told == expected,
        format!("{told} reporter(s) told (expected {expected}); {detail}"),
    )
}

fn acknowledge(r: &mut Rehearsal<'_>, ticket: &Ticket) -> StepResult {
    let by = format!("drill {} (on call)", r.id());
    let acknowledged = crate::services::escalation::acknowledge(
        &mut r.conn,
        r.desk,
        ticket.id,
        &by,
        None,
        &crate::services::escalation::AckScope::AnyTeam,
    )
    .map_err(|e| format!("acknowledging failed: {e}"))?;
    if !acknowledged {
        return Err(format!("{} was already acknowledged", ticket.number()));
    }
    let before = TicketEscalation::for_ticket(&mut r.conn, ticket.id)
        .map_err(|e| e.to_string())?
        .len();
    r.advance(TimeDelta::hours(3));
    crate::services::escalation::sweep(r.desk, r.now()).map_err(|e| e.to_string())?;
    let after = TicketEscalation::for_ticket(&mut r.conn, ticket.id)
        .map_err(|e| e.to_string())?
        .len();
    check(
        after == before,
        format!(
            "acknowledged by {by}; 3 h later the sweep fired {} further step(s) on {}",
            after - before,
            ticket.number()
        ),
    )
}

/// Quiet until the cool-down passes: two evaluations, the second resolves.
fn quiet_resolves(r: &mut Rehearsal<'_>, warehouse: WarehouseType, skip: TimeDelta) -> StepResult {
    let incident = open_incidents(r)?
        .into_iter()
        .next()
        .ok_or("no incident is open to resolve")?;
    r.advance(skip);
    let first = evaluate(r, warehouse)?;
    if !first.resolved.is_empty() {
        return Err("the incident resolved without a cool-down".into());
    }
    r.advance(r.desk.model.signals.cool_down + TimeDelta::minutes(1));
    let second = evaluate(r, warehouse)?;
    let ticket = r.ticket(incident.ticket.id)?;
    let (resolved, reports) = reports_resolved(r, ticket.id)?;
    check(
        second.resolved == vec![ticket.number()]
            && ticket.status == Status::Resolved
            && resolved == reports,
        format!(
            "{} is {} after {} below threshold, {resolved} of its {reports} reports with it: {}",
            ticket.number(),
            ticket.status,
            crate::domain::signals::describe(r.desk.model.signals.cool_down),
            second.lines.join("; ")
        ),
    )
}

/// An incident's reports: how many are resolved, of how many.
fn reports_resolved(r: &mut Rehearsal<'_>, incident_id: i64) -> Result<(usize, usize), String> {
    let reports = Ticket::children(&mut r.conn, incident_id).map_err(|e| e.to_string())?;
    let resolved = reports
        .iter()
        .filter(|t| t.status == Status::Resolved)
        .count();
    Ok((resolved, reports.len()))
}
