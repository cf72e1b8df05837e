//! The scripted scenarios. Each step does what the live desk would do and checks what an
//! operator would look for; numbers come from the shipped support model (the rule that
//! should fire, the team that should own it), never from constants of the drill.

use chrono::TimeDelta;

use super::rehearsal::{Rehearsal, StepResult, check};
use crate::db::models::escalation::TicketEscalation;
use crate::db::models::ticket::Ticket;
use crate::domain::category::Category;
use crate::domain::report::RawReport;
use crate::domain::routing::RouteQuery;
use crate::domain::run::RunStatus;
use crate::domain::severity::Severity;
use crate::domain::signals::{Condition, Rule, Span};
use crate::domain::status::Status;
use crate::domain::table::TableName;
use crate::domain::warehouse::WarehouseType;
use crate::services::incidents::{self, OpenIncident};
use crate::services::monitor;
use crate::services::triage::{self, Changes, Who};

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
    monitor::evaluate_on(&mut r.conn, r.desk, now, Some(&[warehouse]))
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
        let category = Category::parse(&t.category).map_err(|e| e.to_string())?;
        let warehouse = t
            .warehouse_type
            .as_deref()
            .and_then(|w| WarehouseType::parse(w).ok())
            .ok_or("a drill ticket has no warehouse type")?;
        let severity = Severity::parse(&t.severity).map_err(|e| e.to_string())?;
        let (team, rule) = expected_route(r, category, warehouse, table, severity);
        if t.team != team || t.routing_rule != rule {
            return Err(format!(
                "{} went to {} by {}; the support model says {team} by {rule}",
                t.number(),
                t.team,
                t.routing_rule
            ));
        }
        let name = r.desk.model.team(&team).map_or(team.as_str(), |t| &t.name);
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
        .map_err(|e| format!("the update failed: {e}"))?;
    let detail = deliver_confined(r)?;
    check(
        told == expected,
        format!("{told} reporter(s) told (expected {expected}); {detail}"),
    )
}

fn acknowledge(r: &mut Rehearsal<'_>, ticket: &Ticket) -> StepResult {
    let by = format!("drill {} (on call)", r.id());
    let acknowledged =
        crate::services::escalation::acknowledge(&mut r.conn, r.desk, ticket.id, &by, None)
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
    check(
        second.resolved == vec![ticket.number()] && ticket.status == Status::Resolved.as_str(),
        format!(
            "{} is {} after {} below threshold: {}",
            ticket.number(),
            ticket.status,
            crate::domain::signals::describe(r.desk.model.signals.cool_down),
            second.lines.join("; ")
        ),
    )
}

pub fn snowflake_timeout_burst(r: &mut Rehearsal<'_>) {
    let warehouse = WarehouseType::Snowflake;
    let table = r.table(warehouse, "PROFILING.ORDERS");
    let (rule_name, over, min_runs) =
        match first_rule(r, warehouse, |c| matches!(c, Condition::FailureRate { .. })) {
            Ok(Rule {
                name,
                condition: Condition::FailureRate { over, min_runs, .. },
                ..
            }) => (name.clone(), *over, *min_runs),
            Ok(_) => unreachable!("first_rule matched a failure rate"),
            Err(e) => {
                r.step("the support model watches Snowflake failures", |_| Err(e));
                return;
            }
        };
    let failing = min_runs.max(5);
    r.step("Snowflake profiling runs time out", |r| {
        let error = "Statement reached its statement or warehouse timeout of 3600 second(s) and was canceled.";
        let runs = r
            .post_runs(warehouse, &table, RunStatus::TimedOut, failing, Some(error), &[])
            .map_err(|e| format!("storing runs failed: {e}"))?;
        Ok(format!("{} timed-out runs of {table} stored", runs.len()))
    });
    let mut incident_id = 0;
    r.step("a threshold rule opens one incident", |r| {
        let first = evaluate(r, warehouse)?;
        let again = evaluate(r, warehouse)?;
        let incident = the_incident(r, &rule_name)?;
        incident_id = incident.ticket.id;
        check(
            first.opened.len() == 1 && again.opened.is_empty(),
            format!(
                "{} opened by {rule_name}: {}; {} evidence run(s) linked; a second evaluation opened {} more",
                incident.ticket.number(),
                incident.signal.as_ref().map_or("", |s| s.measurement.as_str()),
                incident.linked_runs.len(),
                again.opened.len()
            ),
        )
    });
    r.step("analyst reports attach to the incident", |r| {
        let texts = [
            "Profiling of ORDERS has failed every run since this morning, the inspector shows a timeout.",
            "Snowflake profile job times out after an hour, no profile for our orders table.",
            "The run failed with statement timeout; we are blocked on the orders dashboard.",
        ];
        let mut numbers = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let t = r.report(RawReport {
                reporter_name: Some(format!("Drill analyst {}", i + 1)),
                reporter_email: Some(r.analyst(i + 1)),
                kind: Some(if i == 0 { "unsure" } else { "profiling_failure" }.into()),
                warehouse_type: Some(warehouse.as_str().into()),
                table: Some(table.as_str().into()),
                impact: Some("degraded".into()),
                description: Some(text.to_string()),
                ..RawReport::default()
            })?;
            numbers.push(t.id);
        }
        evaluate(r, warehouse)?;
        let mut lines = Vec::new();
        for id in &numbers {
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
            .find(|k| k.number == format!("INS-{incident_id}"))
            .ok_or("the incident is not shown as a known issue")?;
        lines.push(format!(
            "known issue: \"{}\" — {} reports — {} is on it",
            banner.headline, banner.reports, banner.team
        ));
        check(banner.reports == numbers.len(), lines.join("\n"))
    });
    r.step("the incident is routed to its owning team", |r| {
        let incident = r.ticket(incident_id)?;
        check_routed(r, &[incident], &table)
    });
    r.step(
        "the SLA passes on a moved clock and the incident escalates",
        |r| {
            let incident = r.ticket(incident_id)?;
            let detail = breach_and_sweep(r, &incident)?;
            // Attached reports stand down: the incident escalates for them.
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
        },
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
        let n = match over {
            Span::LastRuns(n) => n,
            Span::Window(_) => failing * 5,
        };
        r.post_runs(warehouse, &table, RunStatus::Succeeded, n, None, &[])
            .map_err(|e| format!("storing runs failed: {e}"))?;
        let skip = match over {
            Span::Window(w) => w,
            Span::LastRuns(_) => TimeDelta::zero(),
        };
        let detail = quiet_resolves(r, warehouse, skip)?;
        Ok(format!("{n} successful runs stored; {detail}"))
    });
    r.step("reporters hear of the resolution", deliver_confined);
}

pub fn wrong_type_spike(r: &mut Rehearsal<'_>) {
    let warehouse = WarehouseType::Bigquery;
    let table = r.table(warehouse, "marts.customers");
    let burst = first_rule(r, warehouse, |c| {
        matches!(c, Condition::ReportBurst { .. })
            && c.related_categories().contains(&Category::WrongColumnType)
    })
    .map(|rule| match rule.condition {
        Condition::ReportBurst {
            reports, window, ..
        } => (rule.name.clone(), reports, window),
        _ => unreachable!("first_rule matched a report burst"),
    });
    let (rule_name, reports, window) = match burst {
        Ok(b) => b,
        Err(e) => {
            r.step("the support model watches report bursts", |_| Err(e));
            return;
        }
    };
    r.step("a classifier release types columns", |r| {
        let columns = [
            ("customer_email", "email", 0.97),
            ("postal_code", "phone_number", 0.61),
            ("signup_date", "date", 0.99),
        ];
        r.post_runs(warehouse, &table, RunStatus::Succeeded, 2, None, &columns)
            .map_err(|e| format!("storing runs failed: {e}"))?;
        Ok(format!(
            "2 runs of {table} typed postal_code as phone_number (confidence 0.61)"
        ))
    });
    let mut filed = Vec::new();
    r.step("analysts report wrong column types", |r| {
        // Worded as analysts word them; kinds as they pick them (often wrong or unsure).
        let reports_text = [
            ("unsure", "postal_code is shown as a phone number since the new release, it is a zip code."),
            ("wrong_column_type", "Semantic type for postal_code is wrong: phone_number instead of postal code."),
            ("other", "Why does inspect think our zip codes are phone numbers? The column type changed overnight."),
            ("wrong_column_type", "postal_code detected as phone_number; expected postal_code. Breaks our address checks."),
            ("unsure", "The inferred type of the postal_code column looks wrong after today's update."),
            ("wrong_column_type", "Misclassified column: postal_code tagged phone_number."),
        ];
        let mut lines = Vec::new();
        for i in 0..reports {
            let (kind, text) = reports_text[i % reports_text.len()];
            let t = r.report(RawReport {
                reporter_email: Some(r.analyst(i + 1)),
                kind: Some(kind.into()),
                warehouse_type: Some(warehouse.as_str().into()),
                table: Some(table.as_str().into()),
                column: Some("postal_code".into()),
                detected_type: Some("phone_number".into()),
                expected_type: Some("postal_code".into()),
                impact: Some("minor".into()),
                description: Some(text.into()),
                ..RawReport::default()
            })?;
            if t.category != Category::WrongColumnType.as_str() {
                return Err(format!(
                    "{} (picked {kind}) was classified {}: {}",
                    t.number(),
                    t.category,
                    t.classification_reasons
                ));
            }
            lines.push(format!(
                "{} picked {kind} → wrong_column_type ({:.0}%)",
                t.number(),
                t.confidence * 100.0
            ));
            filed.push(t);
        }
        Ok(lines.join("\n"))
    });
    r.step("each report is routed to the semantic-type owners", |r| {
        check_routed(r, &filed, &table)
    });
    let mut incident_id = 0;
    r.step(
        "the burst opens one incident with every report attached",
        |r| {
            let evaluation = evaluate(r, warehouse)?;
            let incident = the_incident(r, &rule_name)?;
            incident_id = incident.ticket.id;
            check(
                evaluation.opened.len() == 1 && incident.linked_tickets.len() == filed.len(),
                format!(
                    "{} opened by {rule_name}: {}; {} report(s) attached",
                    incident.ticket.number(),
                    incident
                        .signal
                        .as_ref()
                        .map_or("", |s| s.measurement.as_str()),
                    incident.linked_tickets.len()
                ),
            )
        },
    );
    r.step("an agent confirms the wrong type", |r| {
        let first = filed.first().ok_or("no report was filed")?;
        let who = drill_agent(r);
        let t = crate::services::ticket_actions::type_verdict(
            &mut r.conn,
            r.desk,
            &who,
            first.id,
            true,
        )
        .map_err(|e| format!("the verdict failed: {e}"))?;
        check(
            t.type_verdict.as_deref() == Some("confirmed"),
            format!("{}: wrong type confirmed for postal_code", t.number()),
        )
    });
    r.step("an incident update reaches every reporter once", |r| {
        // Every analyst, plus the incident's own reporter.
        update_reaches_reporters(
            r,
            incident_id,
            "The classifier release that typed postal codes as phone numbers is rolled back; profiles are being refreshed.",
            filed.len() + 1,
        )
    });
    r.step("a quiet spell resolves the incident", |r| {
        quiet_resolves(r, warehouse, window)
    });
}

pub fn report_generation_outage(r: &mut Rehearsal<'_>) {
    let warehouse = WarehouseType::Postgres;
    let table = r.table(warehouse, "reporting.weekly_kpis");
    let burst = first_rule(r, warehouse, |c| {
        matches!(c, Condition::ReportBurst { .. })
            && c.related_categories().contains(&Category::FailedReport)
    })
    .map(|rule| match rule.condition {
        Condition::ReportBurst { reports, .. } => (rule.name.clone(), reports),
        _ => unreachable!("first_rule matched a report burst"),
    });
    let (rule_name, reports) = match burst {
        Ok(b) => b,
        Err(e) => {
            r.step("the support model watches report bursts", |_| Err(e));
            return;
        }
    };
    let mut filed = Vec::new();
    r.step("inspector reports fail to generate", |r| {
        let texts = [
            "The inspector report for weekly_kpis fails to generate, export gives a 500 error.",
            "Generating the inspector report hangs and then errors out.",
            "Report generation failed: PDF export never finishes.",
            "Cannot download the inspector report, it says generation failed.",
            "The report page shows 'report generation failed' for our KPI table.",
            "Inspector report is broken since noon, the export button errors.",
        ];
        let mut lines = Vec::new();
        for i in 0..reports {
            let t = r.report(RawReport {
                reporter_email: Some(r.analyst(i + 1)),
                kind: Some(
                    if i % 2 == 0 {
                        "failed_report"
                    } else {
                        "unsure"
                    }
                    .into(),
                ),
                warehouse_type: Some(warehouse.as_str().into()),
                table: Some(table.as_str().into()),
                impact: Some("blocked".into()),
                description: Some(texts[i % texts.len()].into()),
                ..RawReport::default()
            })?;
            if t.category != Category::FailedReport.as_str() {
                return Err(format!(
                    "{} was classified {}: {}",
                    t.number(),
                    t.category,
                    t.classification_reasons
                ));
            }
            lines.push(format!("{} → failed_report", t.number()));
            filed.push(t);
        }
        Ok(lines.join("\n"))
    });
    r.step("each report is routed to the report owners", |r| {
        check_routed(r, &filed, &table)
    });
    let mut incident_id = 0;
    r.step("the burst opens an incident shown as a known issue", |r| {
        evaluate(r, warehouse)?;
        let incident = the_incident(r, &rule_name)?;
        incident_id = incident.ticket.id;
        let known = incidents::known_issues(&mut r.conn, r.desk).map_err(|e| e.to_string())?;
        let banner = known
            .iter()
            .find(|k| k.number == incident.ticket.number())
            .ok_or("the incident is not shown as a known issue")?;
        check(
            banner.reports == filed.len(),
            format!(
                "{}: \"{}\" — {} reports — {} is on it",
                banner.number, banner.headline, banner.reports, banner.team
            ),
        )
    });
    r.step("an analyst joins the known issue in one click", |r| {
        let email = crate::domain::email::EmailAddress::parse(&r.analyst(reports + 1))
            .map_err(|e| e.to_string())?;
        let joined = incidents::join(&mut r.conn, r.desk, incident_id, email, None)
            .map_err(|e| format!("joining failed: {e}"))?;
        check(
            joined.parent_id == Some(incident_id),
            format!(
                "{} filed and attached to INS-{incident_id} in one step",
                joined.number()
            ),
        )
    });
    r.step("an update reaches every reporter once", |r| {
        // The analysts, the one who joined, and the incident's own reporter.
        update_reaches_reporters(
            r,
            incident_id,
            "Report generation is failing for every table; the reports team is restarting the renderer. Next update in 30 minutes.",
            filed.len() + 2,
        )
    });
    r.step("the owner resolves the incident", |r| {
        let incident = r.ticket(incident_id)?;
        let who = drill_agent(r);
        let changes = Changes {
            status: Some(Status::Resolved),
            reason: Some("renderer restarted; reports generate again".into()),
            ..Changes::default()
        };
        triage::update(
            &mut r.conn,
            r.desk,
            &who,
            incident.id,
            incident.version,
            &changes,
        )
        .map_err(|e| format!("resolving failed: {e}"))?
        .map_err(|_| "someone else changed the incident meanwhile".to_string())?;
        // The rule lets go of a signal whose incident an agent resolved.
        evaluate(r, warehouse)?;
        let left = open_incidents(r)?;
        check(
            left.is_empty(),
            format!(
                "INS-{incident_id} resolved by {}; {} incident(s) still open",
                who.name,
                left.len()
            ),
        )
    });
}

pub fn smtp_down_during_escalation(r: &mut Rehearsal<'_>) {
    let warehouse = WarehouseType::Redshift;
    let table = r.table(warehouse, "finance.invoices");
    let mut ticket_id = 0;
    r.step("a blocking report is filed", |r| {
        let t = r.report(RawReport {
            reporter_email: Some(r.analyst(1)),
            kind: Some("profiling_failure".into()),
            warehouse_type: Some(warehouse.as_str().into()),
            table: Some(table.as_str().into()),
            impact: Some("blocked".into()),
            description: Some(
                "Profiling of invoices fails with a connection error; month-end close is blocked."
                    .into(),
            ),
            ..RawReport::default()
        })?;
        ticket_id = t.id;
        Ok(format!(
            "{}: {} {}, owned by {}, first response due {}",
            t.number(),
            t.severity,
            t.category,
            t.team,
            crate::clock::rfc3339(t.first_response_due)
        ))
    });
    // Nothing listens on a port we just had and let go: every connection is refused.
    let down = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port());
    let dead_mailer = down.map_err(|e| e.to_string()).and_then(|port| {
        crate::email::transport::Mailer::new(
            Some(&format!("smtp://127.0.0.1:{port}")),
            std::path::Path::new("."),
        )
    });
    let dead_mailer = match dead_mailer {
        Ok(m) => m,
        Err(e) => {
            r.step("SMTP goes down", |_| Err(e));
            return;
        }
    };
    let mut queued = 0;
    r.step("the SLA passes while SMTP is down: every attempt fails and is kept", |r| {
        let ticket = r.ticket(ticket_id)?;
        let swept = breach_and_sweep(r, &ticket)?;
        let delivered = r.deliver(Some(&dead_mailer))?;
        let mail = r.mail()?;
        queued = mail.len();
        let kept = mail
            .iter()
            .filter(|m| m.status == "pending" && m.attempts == 1 && m.last_error.is_some())
            .count();
        let retry_at = mail.iter().map(|m| m.next_attempt_at).min();
        check(
            delivered.sent == 0 && delivered.failed == queued && kept == queued && queued > 0,
            format!(
                "{swept}\n{queued} message(s) queued; {} attempt(s) failed, {kept} kept for retry (next at {}); first error: {}",
                delivered.failed,
                retry_at.map_or("-".into(), crate::clock::rfc3339),
                mail.first()
                    .and_then(|m| m.last_error.clone())
                    .unwrap_or_default()
            ),
        )
    });
    r.step("another sweep during the outage doubles nothing", |r| {
        let steps_before = TicketEscalation::for_ticket(&mut r.conn, ticket_id)
            .map_err(|e| e.to_string())?
            .len();
        r.advance(TimeDelta::minutes(1));
        crate::services::escalation::sweep(r.desk, r.now()).map_err(|e| e.to_string())?;
        let steps_after = TicketEscalation::for_ticket(&mut r.conn, ticket_id)
            .map_err(|e| e.to_string())?
            .len();
        let now_queued = r.mail()?.len();
        check(
            steps_after == steps_before && now_queued == queued,
            format!(
                "escalation steps {steps_before} → {steps_after}; messages {queued} → {now_queued}"
            ),
        )
    });
    r.step("SMTP returns: each message is delivered exactly once", |r| {
        r.advance(crate::jobs::outbox::backoff(1) + TimeDelta::seconds(1));
        let delivered = r.deliver(None)?;
        let again = r.deliver(None)?;
        let mail = r.mail()?;
        let mut ids: Vec<&str> = mail.iter().map(|m| m.message_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let sent = mail.iter().filter(|m| m.status == "sent").count();
        let confined = r.check_mail_confined()?;
        check(
            delivered.sent == queued && again.sent == 0 && sent == queued && ids.len() == queued,
            format!(
                "{} sent on the retry, {} on a second pass; {sent} of {queued} messages sent, {} distinct Message-IDs; all {confined} to drill recipients",
                delivered.sent,
                again.sent,
                ids.len()
            ),
        )
    });
    r.step("the owner acknowledges", |r| {
        let ticket = r.ticket(ticket_id)?;
        acknowledge(r, &ticket)
    });
}
