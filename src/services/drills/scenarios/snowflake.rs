//! Snowflake runs time out, an incident opens, reports attach, it escalates, is acknowledged and recovers.

use super::*;
use crate::domain::ticket_number::TicketNumber;

const WAREHOUSE: WarehouseType = WarehouseType::Snowflake;

pub fn snowflake_timeout_burst(r: &mut Rehearsal<'_>) {
    let table = r.table(WAREHOUSE, "PROFILING.ORDERS");
    let (rule_name, over, min_runs) = match failure_rate_rule(r) {
        Ok(rule) => rule,
        Err(e) => {
            r.step("the support model watches Snowflake failures", |_| Err(e));
            return;
        }
    };
    let failing = min_runs.max(5);
    r.step("Snowflake profiling runs time out", |r| {
        runs_time_out(r, &table, failing)
    });
    let mut incident_id = 0;
    r.step("a threshold rule opens one incident", |r| {
        opens_one_incident(r, &rule_name, &mut incident_id)
    });
    r.step("analyst reports attach to the incident", |r| {
        reports_attach(r, &table, incident_id)
    });
    r.step("the incident is routed to its owning team", |r| {
        let incident = r.ticket(incident_id)?;
        check_routed(r, &[incident], &table)
    });
    r.step(
        "the SLA passes on a moved clock and the incident escalates",
        |r| incident_escalates_for_its_reports(r, incident_id),
    );
    r.step(
        "escalation emails reach the drill's recipients",
        deliver_confined,
    );
    r.step("the owner acknowledges and escalation stops", |r| {
        let incident = r.ticket(incident_id)?;
        acknowledge(r, &incident)
    });
    r.step("recovery resolves the incident", |r| {
        recovery_resolves(r, &table, over, failing)
    });
    r.step("reporters hear of the resolution", deliver_confined);
}

/// The support model's first failure-rate rule for Snowflake: its name, what it measures
/// over, and how many runs it needs.
fn failure_rate_rule(r: &Rehearsal<'_>) -> Result<(String, Span, usize), String> {
    match first_rule(r, WAREHOUSE, |c| matches!(c, Condition::FailureRate { .. }))? {
        Rule {
            name,
            condition: Condition::FailureRate { over, min_runs, .. },
            ..
        } => Ok((name.clone(), *over, *min_runs)),
        _ => unreachable!("first_rule matched a failure rate"),
    }
}

fn runs_time_out(r: &mut Rehearsal<'_>, table: &TableName, failing: usize) -> StepResult {
    let error =
        "Statement reached its statement or warehouse timeout of 3600 second(s) and was canceled.";
    let runs = r
        .post_runs(
            WAREHOUSE,
            table,
            RunStatus::TimedOut,
            failing,
            Some(error),
            &[],
        )
        .map_err(|e| format!("storing runs failed: {e}"))?;
    Ok(format!("{} timed-out runs of {table} stored", runs.len()))
}

/// Evaluate twice: the first opens the incident (its id goes to `incident_id`), the
/// second must not open another.
fn opens_one_incident(r: &mut Rehearsal<'_>, rule_name: &str, incident_id: &mut i64) -> StepResult {
    let first = evaluate(r, WAREHOUSE)?;
    let again = evaluate(r, WAREHOUSE)?;
    let incident = the_incident(r, rule_name)?;
    *incident_id = incident.ticket.id;
    check(
        first.opened.len() == 1 && again.opened.is_empty(),
        format!(
            "{} opened by {rule_name}: {}; {} evidence run(s) linked; a second evaluation opened {} more",
            incident.ticket.number(),
            incident
                .signal
                .as_ref()
                .map_or("", |s| s.measurement.as_str()),
            incident.linked_runs.len(),
            again.opened.len()
        ),
    )
}

/// Analysts report the timeouts; each report attaches to the incident, which the known
/// issues show with all of them.
fn reports_attach(r: &mut Rehearsal<'_>, table: &TableName, incident_id: i64) -> StepResult {
    let ids = file_timeout_reports(r, table)?;
    evaluate(r, WAREHOUSE)?;
    let mut lines = Vec::new();
    for id in &ids {
        let t = r.ticket(*id)?;
        if t.parent_id != Some(incident_id) {
            return Err(format!(
                "{} ({}) is not attached to the incident",
                t.number(),
                t.category
            ));
        }
        lines.push(format!("{} ({}) attached", t.number(), t.category));
    }
    let known = incidents::known_issues(&mut r.conn, r.desk).map_err(|e| e.to_string())?;
    let banner = known
        .iter()
        .find(|k| k.number == TicketNumber::of(incident_id))
        .ok_or("the incident is not shown as a known issue")?;
    lines.push(format!(
        "known issue: \"{}\" — {} reports — {} is on it",
        banner.headline, banner.reports, banner.team
    ));
    check(banner.reports == ids.len(), lines.join("\n"))
}

/// Three analysts' reports of the timeouts, worded as they would; the first is unsure of
/// the kind. Returns their ticket ids.
fn file_timeout_reports(r: &mut Rehearsal<'_>, table: &TableName) -> Result<Vec<i64>, String> {
    let texts = [
        "Profiling of ORDERS has failed every run since this morning, the inspector shows a timeout.",
        "Snowflake profile job times out after an hour, no profile for our orders table.",
        "The run failed with statement timeout; we are blocked on the orders dashboard.",
    ];
    let mut ids = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let t = r.report(RawReport {
            reporter_name: Some(format!("Drill analyst {}", i + 1)),
            reporter_email: Some(r.analyst(i + 1)),
            kind: Some(
                if i == 0 {
                    "unsure"
                } else {
                    "profiling_failure"
                }
                .into(),
            ),
            warehouse_type: Some(WAREHOUSE.as_str().into()),
            table: Some(table.as_str().into()),
            impact: Some("degraded".into()),
            description: Some(text.to_string()),
            ..RawReport::default()
        })?;
        ids.push(t.id);
    }
    Ok(ids)
}

/// The incident breaches and escalates; its attached reports stand down (the incident
/// escalates for them).
fn incident_escalates_for_its_reports(r: &mut Rehearsal<'_>, incident_id: i64) -> StepResult {
    let incident = r.ticket(incident_id)?;
    let detail = breach_and_sweep(r, &incident)?;
    let children = Ticket::children(&mut r.conn, incident_id).map_err(|e| e.to_string())?;
    for child in &children {
        let fired = TicketEscalation::for_ticket(&mut r.conn, child.id)
            .map_err(|e| e.to_string())?
            .len();
        if fired > 0 {
            return Err(format!(
                "{} escalated on its own although it is part of the incident",
                child.number()
            ));
        }
    }
    Ok(format!(
        "{detail}\n{} attached report(s) did not escalate on their own",
        children.len()
    ))
}

/// Enough successful runs to bring the failure rate down, then a quiet cool-down.
fn recovery_resolves(
    r: &mut Rehearsal<'_>,
    table: &TableName,
    over: Span,
    failing: usize,
) -> StepResult {
    let n = match over {
        Span::LastRuns(n) => n,
        Span::Window(_) => failing * 5,
    };
    r.post_runs(WAREHOUSE, table, RunStatus::Succeeded, n, None, &[])
        .map_err(|e| format!("storing runs failed: {e}"))?;
    // A rate over a window forgets the timeouts only once the window has moved past them.
    let skip = match over {
        Span::Window(w) => w,
        Span::LastRuns(_) => TimeDelta::zero(),
    };
    let detail = quiet_resolves(r, WAREHOUSE, skip)?;
    Ok(format!("{n} successful runs stored; {detail}"))
}
