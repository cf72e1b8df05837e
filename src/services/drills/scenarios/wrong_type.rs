//! A classifier release types columns wrongly; analysts report it in a burst.

use super::*;

const WAREHOUSE: WarehouseType = WarehouseType::Bigquery;

/// The reports as analysts word them, with the kinds they pick (often wrong or unsure).
const REPORTS_AS_FILED: [(&str, &str); 6] = [
    (
        "unsure",
        "postal_code is shown as a phone number since the new release, it is a zip code.",
    ),
    (
        "wrong_column_type",
        "Semantic type for postal_code is wrong: phone_number instead of postal code.",
    ),
    (
        "other",
        "Why does inspect think our zip codes are phone numbers? The column type changed overnight.",
    ),
    (
        "wrong_column_type",
        "postal_code detected as phone_number; expected postal_code. Breaks our address checks.",
    ),
    (
        "unsure",
        "The inferred type of the postal_code column looks wrong after today's update.",
    ),
    (
        "wrong_column_type",
        "Misclassified column: postal_code tagged phone_number.",
    ),
];

pub fn wrong_type_spike(r: &mut Rehearsal<'_>) {
    let table = r.table(WAREHOUSE, "marts.customers");
    let (rule_name, reports, window) = match wrong_type_burst_rule(r) {
        Ok(b) => b,
        Err(e) => {
            r.step("the support model watches report bursts", |_| Err(e));
            return;
        }
    };
    r.step("a classifier release types columns", |r| {
        release_types_columns(r, &table)
    });
    let mut filed = Vec::new();
    r.step("analysts report wrong column types", |r| {
        file_wrong_type_reports(r, &table, reports, &mut filed)
    });
    r.step("each report is routed to the semantic-type owners", |r| {
        check_routed(r, &filed, &table)
    });
    let mut incident_id = 0;
    r.step(
        "the burst opens one incident with every report attached",
        |r| opens_one_incident(r, &rule_name, &filed, &mut incident_id),
    );
    r.step("an agent confirms the wrong type", |r| {
        confirms_wrong_type(r, &filed)
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
        quiet_resolves(r, WAREHOUSE, window)
    });
}

/// The support model's first report-burst rule that gathers wrong column types: its name,
/// how many reports it takes and within what window.
fn wrong_type_burst_rule(r: &Rehearsal<'_>) -> Result<(String, usize, TimeDelta), String> {
    first_rule(r, WAREHOUSE, |c| {
        matches!(c, Condition::ReportBurst { .. })
            && c.related_categories().contains(&Category::WrongColumnType)
    })
    .map(|rule| match rule.condition {
        Condition::ReportBurst {
            reports, window, ..
        } => (rule.name.clone(), reports, window),
        _ => unreachable!("first_rule matched a report burst"),
    })
}

/// Two runs whose profiles type postal_code as a phone number.
fn release_types_columns(r: &mut Rehearsal<'_>, table: &TableName) -> StepResult {
    let columns = [
        ("customer_email", "email", 0.97),
        ("postal_code", "phone_number", 0.61),
        ("signup_date", "date", 0.99),
    ];
    r.post_runs(WAREHOUSE, table, RunStatus::Succeeded, 2, None, &columns)
        .map_err(|e| format!("storing runs failed: {e}"))?;
    Ok(format!(
        "2 runs of {table} typed postal_code as phone_number (confidence 0.61)"
    ))
}

/// `reports` analysts report the wrong type; each must be classified a wrong column type
/// whatever kind they picked. The tickets go to `filed` as they are filed.
fn file_wrong_type_reports(
    r: &mut Rehearsal<'_>,
    table: &TableName,
    reports: usize,
    filed: &mut Vec<Ticket>,
) -> StepResult {
    let mut lines = Vec::new();
    for i in 0..reports {
        let (kind, text) = REPORTS_AS_FILED[i % REPORTS_AS_FILED.len()];
        let t = r.report(RawReport {
            reporter_email: Some(r.analyst(i + 1)),
            kind: Some(kind.into()),
            warehouse_type: Some(WAREHOUSE.as_str().into()),
            table: Some(table.as_str().into()),
            column: Some("postal_code".into()),
            detected_type: Some("phone_number".into()),
            expected_type: Some("postal_code".into()),
            impact: Some("minor".into()),
            description: Some(text.into()),
            ..RawReport::default()
        })?;
        if t.category != Category::WrongColumnType {
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
}

/// One evaluation opens the incident (its id goes to `incident_id`) with every `filed`
/// report attached.
fn opens_one_incident(
    r: &mut Rehearsal<'_>,
    rule_name: &str,
    filed: &[Ticket],
    incident_id: &mut i64,
) -> StepResult {
    let evaluation = evaluate(r, WAREHOUSE)?;
    let incident = the_incident(r, rule_name)?;
    *incident_id = incident.ticket.id;
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
}

/// An agent's verdict on the first report: the type is wrong.
fn confirms_wrong_type(r: &mut Rehearsal<'_>, filed: &[Ticket]) -> StepResult {
    let first = filed.first().ok_or("no report was filed")?;
    let who = drill_agent(r);
    let t =
        crate::services::ticket_actions::type_verdict(&mut r.conn, r.desk, &who, first.id, true)
            .map_err(|e| format!("the verdict failed: {e}"))?;
    check(
        t.type_verdict == Some(TypeVerdict::Confirmed),
        format!("{}: wrong type confirmed for postal_code", t.number()),
    )
}
