//! Inspector report generation fails; a known issue gathers the reports.

use super::*;

const WAREHOUSE: WarehouseType = WarehouseType::Postgres;

pub fn report_generation_outage(r: &mut Rehearsal<'_>) {
    let table = r.table(WAREHOUSE, "reporting.weekly_kpis");
    let (rule_name, reports) = match failed_report_burst_rule(r) {
        Ok(b) => b,
        Err(e) => {
            r.step("the support model watches report bursts", |_| Err(e));
            return;
        }
    };
    let mut filed = Vec::new();
    r.step("inspector reports fail to generate", |r| {
        file_failed_reports(r, &table, reports, &mut filed)
    });
    r.step("each report is routed to the report owners", |r| {
        check_routed(r, &filed, &table)
    });
    let mut incident_id = 0;
    r.step("the burst opens an incident shown as a known issue", |r| {
        opens_known_issue(r, &rule_name, filed.len(), &mut incident_id)
    });
    r.step("an analyst joins the known issue in one click", |r| {
        analyst_joins(r, reports + 1, incident_id)
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
        owner_resolves(r, incident_id)
    });
}

/// The support model's first report-burst rule that gathers failed reports: its name and
/// how many reports it takes.
fn failed_report_burst_rule(r: &Rehearsal<'_>) -> Result<(String, usize), String> {
    first_rule(r, WAREHOUSE, |c| {
        matches!(c, Condition::ReportBurst { .. })
            && c.related_categories().contains(&Category::FailedReport)
    })
    .map(|rule| match rule.condition {
        Condition::ReportBurst { reports, .. } => (rule.name.clone(), reports),
        _ => unreachable!("first_rule matched a report burst"),
    })
}

/// `reports` analysts report the failure (every other one unsure of the kind); each must
/// be classified a failed report. The tickets go to `filed` as they are filed.
fn file_failed_reports(
    r: &mut Rehearsal<'_>,
    table: &TableName,
    reports: usize,
    filed: &mut Vec<Ticket>,
) -> StepResult {
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
            warehouse_type: Some(WAREHOUSE.as_str().into()),
            table: Some(table.as_str().into()),
            impact: Some("blocked".into()),
            description: Some(texts[i % texts.len()].into()),
            ..RawReport::default()
        })?;
        if t.category != Category::FailedReport {
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
}

/// The rules open the incident (its id goes to `incident_id`); the known issues show it
/// with every one of the `filed` reports.
fn opens_known_issue(
    r: &mut Rehearsal<'_>,
    rule_name: &str,
    filed: usize,
    incident_id: &mut i64,
) -> StepResult {
    evaluate(r, WAREHOUSE)?;
    let incident = the_incident(r, rule_name)?;
    *incident_id = incident.ticket.id;
    let known = incidents::known_issues(&mut r.conn, r.desk).map_err(|e| e.to_string())?;
    let banner = known
        .iter()
        .find(|k| k.number == incident.ticket.number())
        .ok_or("the incident is not shown as a known issue")?;
    check(
        banner.reports == filed,
        format!(
            "{}: \"{}\" — {} reports — {} is on it",
            banner.number, banner.headline, banner.reports, banner.team
        ),
    )
}

/// The `analyst`-th drill analyst joins the incident: one ticket, filed and attached.
fn analyst_joins(r: &mut Rehearsal<'_>, analyst: usize, incident_id: i64) -> StepResult {
    let email = crate::domain::email::EmailAddress::parse(&r.analyst(analyst))
        .map_err(|e| e.to_string())?;
    let joined = incidents::join(&mut r.conn, r.desk, incident_id, email, None)
        .map_err(|e| format!("joining failed: {e}"))?;
    check(
        joined.parent_id == Some(incident_id),
        format!(
            "{} filed and attached to {} in one step",
            joined.number(),
            TicketNumber::of(incident_id)
        ),
    )
}

/// An agent resolves the incident; the rule lets go of its signal and the reports resolve
/// with it.
fn owner_resolves(r: &mut Rehearsal<'_>, incident_id: i64) -> StepResult {
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
    evaluate(r, WAREHOUSE)?;
    let left = open_incidents(r)?;
    // Its reports resolved with it: nothing of the outage is left on the queue.
    let (resolved, reports) = reports_resolved(r, incident_id)?;
    check(
        left.is_empty() && resolved == reports,
        format!(
            "{} resolved by {}, {resolved} of its {reports} reports with \
             it; {} incident(s) still open",
            TicketNumber::of(incident_id),
            who.name,
            left.len()
        ),
    )
}
