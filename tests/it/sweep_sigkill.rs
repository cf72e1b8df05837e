//! SIGKILL in the middle of an escalation sweep: thousands of due tickets, `inspect-desk
//! sweep --at` in a process of its own killed after some batches committed and before the
//! last; a second sweep finishes the job. Every due step ends up recorded exactly once and
//! every step's emails queued exactly once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use inspect_desk::db::schema::{outbox, ticket_escalations, ticket_events, tickets};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, desk_cli};
use crate::on_both_backends;

on_both_backends!(a_killed_sweep_loses_and_doubles_no_step);

/// Copies of each template ticket: 4 × 900 = 3,600 due tickets, eight batches of the
/// sweep, seconds of work for a debug build.
const COPIES: usize = 900;

/// Four tickets whose chains differ: sev1 (paged at creation), sev2, sev3, sev4.
fn templates() -> Vec<Value> {
    let report = |kind: &str, impact: &str, warehouse: &str, table: &str| {
        let description = match kind {
            "failed_report" => format!("The inspector report for {table} fails to generate."),
            _ => format!("The profile of {table} still shows last week's row count."),
        };
        json!({"reporter_email": "ana@example.com", "kind": kind, "impact": impact,
               "warehouse_type": warehouse, "table": table, "description": description})
    };
    vec![
        report(
            "failed_report",
            "blocked",
            "snowflake",
            "ANALYTICS.SALES.ORDERS",
        ),
        report("failed_report", "blocked", "redshift", "dw.logs.requests"),
        report("failed_report", "degraded", "postgres", "public.orders"),
        report("stale_profile", "minor", "bigquery", "proj.web.events"),
    ]
}

/// What the sweeps recorded: step keys per ticket, with their recipients.
type Steps = BTreeMap<i64, BTreeMap<String, String>>;

fn recorded_steps(app: &TestApp) -> Steps {
    let mut conn = app.desk.pool.get().unwrap();
    let rows: Vec<(i64, String, String)> = ticket_escalations::table
        .select((
            ticket_escalations::ticket_id,
            ticket_escalations::step,
            ticket_escalations::recipients,
        ))
        .load(&mut conn)
        .unwrap();
    let mut steps = Steps::new();
    for (ticket, step, recipients) in rows {
        let previous = steps.entry(ticket).or_default().insert(step, recipients);
        assert!(
            previous.is_none(),
            "a step recorded twice on ticket {ticket}"
        );
    }
    steps
}

fn due_tickets(app: &TestApp, at: NaiveDateTime) -> i64 {
    let mut conn = app.desk.pool.get().unwrap();
    tickets::table
        .filter(tickets::next_escalation_at.le(at))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

/// Each template ticket `COPIES` times over, interleaved by id (copy 1 of every template,
/// then copy 2, …) and all due at the same instant, so every batch of the sweep holds
/// every kind of chain. The copies keep their template's clocks (`created_at` too).
fn copy_templates(app: &TestApp, due_at: NaiveDateTime) {
    let columns = "tracking_token, submission_key, status, kind, category, confidence, \
        classification_reasons, severity, severity_reasons, team, routing_rule, routing_reason, \
        reporter_name, reporter_email, warehouse_type, table_name, column_name, detected_type, \
        expected_type, run_ref, impact, description, first_response_due, resolution_due, \
        created_at, updated_at, version, assignee_id, parent_id, is_incident, merged_into, \
        type_verdict, reclassified, first_responded_at, sla_due_at, sla_warn_at, \
        next_escalation_at, acknowledged_at, paused_at";
    let copied = columns
        .replace(
            "tracking_token,",
            "t.tracking_token || '-' || CAST(s.n AS TEXT),",
        )
        .replace("submission_key,", "NULL,");
    let mut conn = app.desk.pool.get().unwrap();
    let inserted = diesel::sql_query(format!(
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {}) \
         INSERT INTO tickets ({columns}) SELECT {copied} FROM tickets t CROSS JOIN s \
         ORDER BY s.n, t.id",
        COPIES - 1
    ))
    .execute(&mut conn)
    .unwrap();
    assert_eq!(inserted, 4 * (COPIES - 1));
    diesel::update(tickets::table)
        .set(tickets::next_escalation_at.eq(Some(due_at)))
        .execute(&mut conn)
        .unwrap();
}

async fn a_killed_sweep_loses_and_doubles_no_step(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for report in templates() {
        app.file_report(report).await;
    }
    let filed = app.desk.clock.now();
    copy_templates(&app, filed);
    assert_eq!(app.count("tickets"), (4 * COPIES) as i64);
    // 30 hours on: sev1 and sev2 have breached both clocks, sev3 its first response (with
    // the manager's repeats), sev4 its first response.
    let at = filed + TimeDelta::hours(30);

    let killed_after = kill_a_sweep_once_it_commits(&app, at);
    let before = recorded_steps(&app);
    let left_due = due_tickets(&app, at);
    assert!(
        !before.is_empty() && left_due > 0,
        "killed mid-way: {} ticket(s) escalated, {left_due} still due (after {killed_after:?})",
        before.len()
    );
    assert_eq!(
        before.len() as i64 + left_due,
        app.count("tickets"),
        "every ticket is either done by the killed sweep or still due"
    );
    eprintln!(
        "sweep killed after {killed_after:?}: {} ticket(s) escalated, {left_due} still due",
        before.len()
    );

    let after = second_sweep_finishes(&app, at, left_due, &before);
    copies_share_their_templates_chain(&app, &after);
    each_step_queues_one_email_per_recipient(&app, &after);
    each_step_notes_one_timeline_event(&app, &after);
}

/// `inspect-desk sweep --at` on the app's database, in a process of its own.
fn sweep_at(app: &TestApp, at: NaiveDateTime) -> std::process::Command {
    let at_text = format!("{}Z", at.format("%Y-%m-%dT%H:%M:%S"));
    let mut command = desk_cli(&app.settings.database_url);
    command
        .env("DESK_DATA_DIR", &app.settings.data_dir)
        .args(["sweep", "--at", &at_text]);
    command
}

/// The first sweep, killed once its first batches are committed. Returns how long it ran.
fn kill_a_sweep_once_it_commits(app: &TestApp, at: NaiveDateTime) -> Duration {
    let mut first = sweep_at(app, at)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if app.count("ticket_escalations") > 0 {
            break;
        }
        if let Some(status) = first.try_wait().unwrap() {
            panic!("the sweep ended ({status}) before it could be killed: give it more tickets");
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the sweep recorded nothing in 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    first.kill().unwrap(); // SIGKILL
    let status = first.wait().unwrap();
    assert!(!status.success(), "the sweep was killed, not finished");
    started.elapsed()
}

/// The second sweep takes exactly what the first left and leaves the first's steps as
/// they were. Returns every step recorded in the end.
fn second_sweep_finishes(app: &TestApp, at: NaiveDateTime, left_due: i64, before: &Steps) -> Steps {
    let out = sweep_at(app, at).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("{left_due} ticket(s) due")),
        "the second sweep takes exactly what the first left: {}",
        text.lines().next().unwrap_or("")
    );
    assert_eq!(due_tickets(app, at), 0, "nothing is left due");
    let after = recorded_steps(app);
    for (ticket, steps) in before {
        assert_eq!(
            after.get(ticket),
            Some(steps),
            "ticket {ticket}: what the killed sweep committed stays as it was"
        );
    }
    after
}

/// Every copy of a template has the same chain, whichever sweep escalated it.
fn copies_share_their_templates_chain(app: &TestApp, after: &Steps) {
    let mut conn = app.desk.pool.get().unwrap();
    let template_of: HashMap<i64, NaiveDateTime> = tickets::table
        .select((tickets::id, tickets::created_at))
        .load::<(i64, NaiveDateTime)>(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    let mut chains: BTreeMap<NaiveDateTime, BTreeSet<Vec<&String>>> = BTreeMap::new();
    for (ticket, created) in &template_of {
        let steps: Vec<&String> = after.get(ticket).map_or(Vec::new(), |s| s.keys().collect());
        chains.entry(*created).or_default().insert(steps);
    }
    assert_eq!(chains.len(), 4, "four templates");
    for (created, variants) in &chains {
        assert_eq!(
            variants.len(),
            1,
            "copies of the template filed at {created} differ: {variants:?}"
        );
    }
    let fired: Vec<usize> = chains
        .values()
        .map(|v| v.iter().next().unwrap().len())
        .collect();
    assert!(
        fired.iter().all(|&n| n >= 2),
        "each chain fires at least two steps by then: {chains:?}"
    );
    let sev1 = chains.values().next().unwrap().iter().next().unwrap();
    assert!(
        sev1.iter().any(|s| s.as_str() == "sev1-page"),
        "the first template is sev1: {sev1:?}"
    );
}

/// Each fired step queued one email per recipient, each with its own Message-ID; nothing
/// else.
fn each_step_queues_one_email_per_recipient(app: &TestApp, after: &Steps) {
    let mut conn = app.desk.pool.get().unwrap();
    let emails: Vec<(Option<i64>, Option<String>, String, String)> = outbox::table
        .filter(outbox::template.eq("escalation"))
        .select((
            outbox::ticket_id,
            outbox::dedupe_key,
            outbox::recipient,
            outbox::message_id,
        ))
        .load(&mut conn)
        .unwrap();
    let mut per_email: HashMap<(i64, String, String), usize> = HashMap::new();
    let mut message_ids = BTreeSet::new();
    for (ticket, key, recipient, message_id) in &emails {
        *per_email
            .entry((ticket.unwrap(), key.clone().unwrap(), recipient.clone()))
            .or_default() += 1;
        assert!(
            message_ids.insert(message_id.clone()),
            "Message-ID {message_id} queued twice"
        );
    }
    let mut expected_emails = 0;
    for (ticket, step, recipients) in fired_steps(after) {
        for recipient in recipients.split(", ").filter(|r| !r.is_empty()) {
            expected_emails += 1;
            let key = (
                ticket,
                format!("INS-{ticket}:{step}"),
                recipient.to_string(),
            );
            assert_eq!(
                per_email.get(&key),
                Some(&1),
                "ticket {ticket} step {step}: one email to {recipient}"
            );
        }
    }
    assert_eq!(emails.len(), expected_emails, "no email beyond the steps'");
}

/// Each fired step noted one "escalated" event on its ticket's timeline; nothing else.
fn each_step_notes_one_timeline_event(app: &TestApp, after: &Steps) {
    let mut expected_events: HashMap<i64, usize> = HashMap::new();
    for (ticket, _, _) in fired_steps(after) {
        *expected_events.entry(ticket).or_default() += 1;
    }
    let mut conn = app.desk.pool.get().unwrap();
    let events: Vec<i64> = ticket_events::table
        .filter(ticket_events::kind.eq("escalated"))
        .select(ticket_events::ticket_id)
        .load(&mut conn)
        .unwrap();
    let mut per_ticket: HashMap<i64, usize> = HashMap::new();
    for ticket in events {
        *per_ticket.entry(ticket).or_default() += 1;
    }
    assert_eq!(
        per_ticket, expected_events,
        "one timeline event per fired step"
    );
}

/// The steps that fired (ticket, step, recipients): a repeat a late sweep superseded is
/// recorded but fired nothing.
fn fired_steps(after: &Steps) -> impl Iterator<Item = (i64, &String, &String)> {
    after.iter().flat_map(|(ticket, steps)| {
        steps
            .iter()
            .filter(|(_, recipients)| !recipients.starts_with("(superseded"))
            .map(|(step, recipients)| (*ticket, step, recipients))
    })
}
