//! Two desks on one PostgreSQL database under a burst of reports and sweeps: two full
//! instances (each its own listener, pool and mailer; one SMTP server; one movable clock)
//! take reports in turn while both deliver the outbox, then both sweep while more reports
//! arrive. Every report makes one ticket, every due step fires once, every email goes out
//! once, whichever desk did the work.
//!
//! PostgreSQL only, with no SQLite variant: several processes on one SQLite file is not
//! how the desk scales.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use actix_web::web::Data;
use chrono::TimeDelta;
use diesel::pg::Pg;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use inspect_desk::domain::ticket_number::TicketNumber;
use inspect_desk::services::delivery::{DeliveryReport, deliver_due};
use inspect_desk::services::escalation::sweep;
use inspect_desk::state::Desk;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, manifest_dir};
use crate::smtp::{SmtpSink, free_port};

const BURST_1: usize = 120;
const BURST_2: usize = 40;
/// Reports on the wire at once, spread over both desks.
const IN_FLIGHT: usize = 16;
/// Delivery loops on each desk, each running its own passes: more claimers contending for
/// the same rows, and an outbox that drains in a fraction of the time one sender per desk
/// would take (a message waits on its SMTP exchange, not on the desk).
const LOOPS_PER_DESK: usize = 2;
/// Sweeps each desk runs at least in burst 2.
const SWEEPS: usize = 4;
/// The shipped chain's steps due for a sev3 report eight hours and five minutes after it
/// came in: the reminder at 75% of first response, and the breach.
const DUE_STEPS: [&str; 2] = ["first-response-breach", "first-response-reminder"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_desks_share_one_database_under_reports_and_sweeps() {
    let Some(backend) = Backend::postgres() else {
        eprintln!("SKIPPED (two desks): desks share a PostgreSQL database, never a SQLite file");
        return;
    };
    let port = free_port();
    let Some(sink) = SmtpSink::start(port) else {
        return;
    };
    let model_dir = tempfile::tempdir().unwrap();
    let model = model_without_threshold_rules(model_dir.path());
    let a = TestApp::spawn_with(backend, |s| {
        s.smtp_url = Some(inspect_desk::config::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )));
        s.support_model = model;
        // The pool a desk runs with, not the tests' small one: the burst meets it as in
        // production.
        s.pool_size = inspect_desk::config::Settings::default().pool_size;
    })
    .await;
    let (b_address, b_desk) = second_instance(&a);
    let desks = [a.desk.clone(), b_desk];
    let urls = [
        a.url("/api/v1/reports"),
        format!("{b_address}/api/v1/reports"),
    ];

    let delivering = Delivering::start(&desks);
    let first = file_reports(&urls, 0..BURST_1).await;
    let mut delivered = delivering.stop_when_caught_up(&a).await;
    // Real time never jumps hours in the middle of a pass; a lease taken just before the
    // jump would look expired to the other desk at once. Passes pause while it moves.
    a.clock.advance(TimeDelta::hours(8) + TimeDelta::minutes(5));

    let delivering = Delivering::start(&desks);
    let stop_sweeping = Arc::new(AtomicBool::new(false));
    let sweeping = sweep_together(&desks, stop_sweeping.clone());
    let second = file_reports(&urls, BURST_1..BURST_1 + BURST_2).await;
    stop_sweeping.store(true, Ordering::Relaxed);
    let steps_reported = sweeping.await.unwrap();
    add(&mut delivered, delivering.stop_when_caught_up(&a).await);
    add(&mut delivered, drain(&desks).await);

    let first = one_ticket_each(&first);
    let second = one_ticket_each(&second);
    let distinct: BTreeSet<i64> = first.iter().chain(&second).copied().collect();
    assert_eq!(
        distinct.len(),
        BURST_1 + BURST_2,
        "a ticket number was handed out twice"
    );

    let mut db = PgConnection::establish(&a.settings.database_url).unwrap();
    let fired = each_due_step_fired_once(&mut db, &first, steps_reported);
    timeline_shows_each_step_once(&mut db, &fired);
    let outbox: Vec<Mail> = rows(
        &mut db,
        "SELECT id, ticket_id, template, recipient, status, message_id, dedupe_key, last_error \
         FROM outbox ORDER BY id",
    );
    one_escalation_email_per_step_and_recipient(&outbox, &fired);
    smtp_received_each_message_once(&sink, &outbox);
    each_row_sent_once(&mut db, &outbox, delivered);
}

/// The shipped model without its threshold rules: a burst of alike reports would open
/// an incident that takes them over, and a report attached to an incident does not
/// escalate on its own (the incident does). The rules have tests of their own; here
/// every report must escalate by itself.
fn model_without_threshold_rules(dir: &std::path::Path) -> std::path::PathBuf {
    let model = std::fs::read_to_string(manifest_dir().join("config/support-model.toml")).unwrap();
    let rules = model
        .find("[[incidents.rules]]")
        .expect("the model has rules");
    let path = dir.join("support-model.toml");
    std::fs::write(&path, &model[..rules]).unwrap();
    path
}

/// A second full desk on A's database: its own listener, pool, mailer and data folder,
/// A's clock. Returns its base URL and its desk.
fn second_instance(a: &TestApp) -> (String, Data<Desk>) {
    let mut settings = a.settings.clone();
    settings.data_dir = a.settings.data_dir.with_file_name("data-b");
    let app = inspect_desk::startup::Application::build(&settings, a.clock.clone())
        .expect("second instance builds");
    let address = format!("http://{}", app.address());
    let desk = app.desk();
    tokio::spawn(app.run_until_stopped());
    (address, desk)
}

/// A sev3 failed report for team `reports` (first response in 8 hours, round the clock),
/// from its own reporter so no two submissions look alike.
fn report(i: usize) -> Value {
    json!({"reporter_email": format!("analyst{i}@example.com"), "kind": "failed_report",
           "impact": "degraded", "warehouse_type": "postgres", "table": "public.orders",
           "description": format!("Report generation failed (R-{})", 500 + i)})
}

/// One submission's answer: which report (its number names its desk), status and body.
struct Filed {
    report: usize,
    status: u16,
    body: String,
}

/// Submit reports `range`, `IN_FLIGHT` at a time, each report to the desk after the
/// previous one's (A, B, A, …).
async fn file_reports(urls: &[String; 2], range: Range<usize>) -> Vec<Filed> {
    let next = Arc::new(AtomicUsize::new(range.start));
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (next, urls, end) = (next.clone(), urls.clone(), range.end);
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut filed = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= end {
                        return filed;
                    }
                    let response = client.post(&urls[i % 2]).json(&report(i)).send().await;
                    let response = response.expect("an answer to the report");
                    let status = response.status().as_u16();
                    let body = response.text().await.unwrap_or_default();
                    filed.push(Filed {
                        report: i,
                        status,
                        body,
                    });
                }
            })
        })
        .collect();
    let mut filed = Vec::new();
    for worker in workers {
        filed.extend(worker.await.unwrap());
    }
    filed
}

/// Every submission answered 201 with a sev3 ticket of team `reports`; their ids.
fn one_ticket_each(filed: &[Filed]) -> Vec<i64> {
    let refused: Vec<String> = filed
        .iter()
        .filter(|f| f.status != 201)
        .map(|f| {
            format!(
                "report {} on desk {}: {} {}",
                f.report,
                ["A", "B"][f.report % 2],
                f.status,
                f.body
            )
        })
        .collect();
    assert!(
        refused.is_empty(),
        "reports not created:\n{}",
        refused.join("\n")
    );
    filed
        .iter()
        .map(|f| {
            let ticket: Value = serde_json::from_str(&f.body).unwrap();
            // The expected steps hold for this team and severity only.
            assert_eq!(
                (ticket["team"].as_str(), ticket["severity"].as_str()),
                (Some("reports"), Some("sev3")),
                "report {} was routed otherwise: {ticket}",
                f.report
            );
            TicketNumber::parse(ticket["number"].as_str().unwrap())
                .unwrap()
                .id()
        })
        .collect()
}

/// Both desks deliver the outbox in loops, pass after pass, until stopped.
struct Delivering {
    stop: Arc<AtomicBool>,
    loops: Vec<tokio::task::JoinHandle<DeliveryReport>>,
}

impl Delivering {
    fn start(desks: &[Data<Desk>; 2]) -> Delivering {
        let stop = Arc::new(AtomicBool::new(false));
        let loops = desks
            .iter()
            .flat_map(|desk| std::iter::repeat_n(desk, LOOPS_PER_DESK))
            .map(|desk| {
                let (desk, stop) = (desk.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut total = DeliveryReport::default();
                    while !stop.load(Ordering::Relaxed) {
                        let pass = deliver_due(&desk, &desk.mailer)
                            .await
                            .expect("delivery pass");
                        add(&mut total, pass);
                        if pass == DeliveryReport::default() {
                            // Nothing was due: leave the cores to the reports a moment.
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                    total
                })
            })
            .collect();
        Delivering { stop, loops }
    }

    /// Once every message is sent (or a while has passed: the checks say what is left),
    /// stop after the passes under way; what all passes did.
    async fn stop_when_caught_up(self, app: &TestApp) -> DeliveryReport {
        for _ in 0..400 {
            if app.count("outbox WHERE status <> 'sent'") == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.stop.store(true, Ordering::Relaxed);
        let mut total = DeliveryReport::default();
        for pass_loop in self.loops {
            add(&mut total, pass_loop.await.unwrap());
        }
        total
    }
}

fn add(total: &mut DeliveryReport, pass: DeliveryReport) {
    total.sent += pass.sent;
    total.failed += pass.failed;
    total.dead += pass.dead;
}

/// Final passes on both desks at once until neither finds anything due.
async fn drain(desks: &[Data<Desk>; 2]) -> DeliveryReport {
    let mut total = DeliveryReport::default();
    for _ in 0..20 {
        let (a, b) = tokio::join!(
            deliver_due(&desks[0], &desks[0].mailer),
            deliver_due(&desks[1], &desks[1].mailer)
        );
        let mut round = a.expect("delivery pass on A");
        add(&mut round, b.expect("delivery pass on B"));
        add(&mut total, round);
        if round == DeliveryReport::default() {
            return total;
        }
    }
    panic!("the outbox still had messages due after twenty passes on each desk")
}

/// Both desks sweep back to back on blocking threads, their first sweeps started
/// together, until `stop` and at least `SWEEPS` times each; the steps all sweeps reported.
fn sweep_together(
    desks: &[Data<Desk>; 2],
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<usize> {
    let start = Arc::new(Barrier::new(desks.len()));
    let sweepers: Vec<_> = desks
        .iter()
        .map(|desk| {
            let (desk, start, stop) = (desk.clone(), start.clone(), stop.clone());
            tokio::task::spawn_blocking(move || {
                start.wait();
                let mut steps = 0;
                for done in 0.. {
                    if done >= SWEEPS && stop.load(Ordering::Relaxed) {
                        break;
                    }
                    steps += sweep(&desk, desk.clock.now()).expect("sweep").steps;
                }
                steps
            })
        })
        .collect();
    tokio::spawn(async move {
        let mut steps = 0;
        for sweeper in sweepers {
            steps += sweeper.await.unwrap();
        }
        steps
    })
}

/// Rows of a query, each as `T`.
fn rows<T: QueryableByName<Pg> + 'static>(db: &mut PgConnection, sql: &str) -> Vec<T> {
    diesel::sql_query(sql)
        .load(db)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Values by ticket, each ticket's sorted.
fn by_ticket(pairs: impl Iterator<Item = (i64, String)>) -> BTreeMap<i64, Vec<String>> {
    let mut grouped: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (ticket, value) in pairs {
        grouped.entry(ticket).or_default().push(value);
    }
    grouped.values_mut().for_each(|v| v.sort());
    grouped
}

/// A step a sweep recorded as fired.
#[derive(QueryableByName)]
struct Fired {
    #[diesel(sql_type = BigInt)]
    ticket_id: i64,
    #[diesel(sql_type = Text)]
    step: String,
    #[diesel(sql_type = Text)]
    recipients: String,
}

/// Each burst-1 ticket fired exactly the due steps, once each; no other ticket fired any;
/// the sweeps' own counts add up to what was recorded.
fn each_due_step_fired_once(db: &mut PgConnection, due: &[i64], reported: usize) -> Vec<Fired> {
    let fired: Vec<Fired> = rows(
        db,
        "SELECT ticket_id, step, recipients FROM ticket_escalations",
    );
    let steps = by_ticket(fired.iter().map(|f| (f.ticket_id, f.step.clone())));
    let expected: Vec<String> = DUE_STEPS.map(String::from).to_vec();
    let wrong: Vec<String> = due
        .iter()
        .map(|id| (id, steps.get(id).cloned().unwrap_or_default()))
        .filter(|(_, got)| *got != expected)
        .map(|(id, got)| format!("{} (due): fired {got:?}", TicketNumber::of(*id)))
        .chain(
            steps
                .iter()
                .filter(|(id, _)| !due.contains(id))
                .map(|(id, got)| format!("{} (not due yet): fired {got:?}", TicketNumber::of(*id))),
        )
        .collect();
    assert!(
        wrong.is_empty(),
        "each of the {} due tickets should fire {expected:?} once, and no other ticket \
         anything; doubled or missing:\n{}",
        due.len(),
        wrong.join("\n")
    );
    assert_eq!(fired.len(), DUE_STEPS.len() * due.len(), "steps recorded");
    assert_eq!(
        reported,
        fired.len(),
        "the desks' sweeps reported {reported} steps fired for {} recorded: a step fired by \
         both desks (or one not recorded)",
        fired.len()
    );
    fired
}

/// A ticket event.
#[derive(QueryableByName)]
struct Note {
    #[diesel(sql_type = BigInt)]
    ticket_id: i64,
    #[diesel(sql_type = Text)]
    detail: String,
}

/// The timelines show each fired step once, and nothing else as escalated.
fn timeline_shows_each_step_once(db: &mut PgConnection, fired: &[Fired]) {
    let notes: Vec<Note> = rows(
        db,
        "SELECT ticket_id, detail FROM ticket_events WHERE kind = 'escalated'",
    );
    // "escalation step KEY: whom it notified"
    let step_of = |detail: &str| {
        detail
            .strip_prefix("escalation step ")
            .and_then(|rest| rest.split_once(':'))
            .map_or(detail.to_string(), |(key, _)| key.to_string())
    };
    let shown = by_ticket(notes.iter().map(|n| (n.ticket_id, step_of(&n.detail))));
    let recorded = by_ticket(fired.iter().map(|f| (f.ticket_id, f.step.clone())));
    let differ = differences(&shown, &recorded, ("timeline", "fired"));
    assert!(
        differ.is_empty(),
        "escalation events on the timelines differ from the steps fired:\n{}",
        differ.join("\n")
    );
}

/// An outbox row.
#[derive(QueryableByName)]
struct Mail {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    ticket_id: Option<i64>,
    #[diesel(sql_type = Text)]
    template: String,
    #[diesel(sql_type = Text)]
    recipient: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    message_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    dedupe_key: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
}

/// One escalation email queued per step fired and recipient it names.
fn one_escalation_email_per_step_and_recipient(outbox: &[Mail], fired: &[Fired]) {
    let mut per_step: BTreeMap<(&str, Option<&str>), usize> = BTreeMap::new();
    for m in outbox.iter().filter(|m| m.template == "escalation") {
        *per_step
            .entry((&m.recipient, m.dedupe_key.as_deref()))
            .or_default() += 1;
    }
    let doubled: Vec<String> = per_step
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|((to, key), n)| format!("{key:?} to {to}: {n} rows"))
        .collect();
    assert!(
        doubled.is_empty(),
        "escalation emails queued twice:\n{}",
        doubled.join("\n")
    );
    let notified: usize = fired
        .iter()
        .map(|f| f.recipients.split(", ").filter(|r| !r.is_empty()).count())
        .sum();
    assert_eq!(
        per_step.values().sum::<usize>(),
        notified,
        "escalation emails queued, against the recipients of the steps fired"
    );
}

/// Every outbox row is marked sent, the passes of both desks sent as many messages as
/// there are rows, and each ticket's timeline has one `email_sent` event per row.
fn each_row_sent_once(db: &mut PgConnection, outbox: &[Mail], delivered: DeliveryReport) {
    let unsent: Vec<String> = outbox
        .iter()
        .filter(|m| m.status != "sent")
        .map(|m| {
            format!(
                "outbox {} ({} to {}): {} {:?}",
                m.id, m.template, m.recipient, m.status, m.last_error
            )
        })
        .collect();
    assert!(
        unsent.is_empty(),
        "outbox rows not sent:\n{}",
        unsent.join("\n")
    );
    assert_eq!(
        (delivered.sent, delivered.failed, delivered.dead),
        (outbox.len(), 0, 0),
        "(sent, failed, dead) over all passes of both desks, against the outbox's rows: more \
         sent than rows is a message sent twice"
    );
    // Counts, not wording: a row recorded as sent twice leaves two events.
    let events: Vec<Note> = rows(
        db,
        "SELECT ticket_id, detail FROM ticket_events WHERE kind = 'email_sent'",
    );
    let count = |pairs: BTreeMap<i64, Vec<String>>| -> BTreeMap<i64, usize> {
        pairs.into_iter().map(|(id, v)| (id, v.len())).collect()
    };
    let events = count(by_ticket(
        events.into_iter().map(|n| (n.ticket_id, n.detail)),
    ));
    let sent = count(by_ticket(
        outbox
            .iter()
            .filter_map(|m| Some((m.ticket_id?, m.template.clone()))),
    ));
    let wrong = differences(&sent, &events, ("outbox rows", "'email sent' events"));
    assert!(
        wrong.is_empty(),
        "'email sent' events on the timelines differ from the outbox rows sent:\n{}",
        wrong.join("\n")
    );
}

/// The SMTP server got each outbox row's message once: no Message-ID twice, none
/// missing, none the outbox does not know; as many escalation emails as queued.
fn smtp_received_each_message_once(sink: &SmtpSink, outbox: &[Mail]) {
    let received = sink.wait_for(outbox.len());
    let mut times: BTreeMap<String, usize> = BTreeMap::new();
    for message in &received {
        let id = message.header("Message-ID").unwrap_or_default();
        *times.entry(id).or_default() += 1;
    }
    let doubled: Vec<String> = times
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, n)| format!("{id} received {n} times"))
        .collect();
    assert!(
        doubled.is_empty(),
        "messages sent twice:\n{}",
        doubled.join("\n")
    );
    let queued: BTreeSet<&str> = outbox.iter().map(|m| m.message_id.as_str()).collect();
    let got: BTreeSet<&str> = times.keys().map(String::as_str).collect();
    let missing: Vec<&&str> = queued.difference(&got).collect();
    let unknown: Vec<&&str> = got.difference(&queued).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "queued but never received: {missing:?}\nreceived but never queued: {unknown:?}"
    );
    assert_eq!(
        received.len(),
        outbox.len(),
        "messages received, against outbox rows"
    );
    let escalations_received = received
        .iter()
        .filter(|m| {
            m.header("Subject")
                .is_some_and(|s| s.contains("Escalation"))
        })
        .count();
    let escalations_queued = outbox.iter().filter(|m| m.template == "escalation").count();
    assert_eq!(
        escalations_received, escalations_queued,
        "escalation emails received, against escalation rows in the outbox"
    );
}

/// Tickets whose values differ between two maps, one line each.
fn differences<V: PartialEq + Default + std::fmt::Debug>(
    left: &BTreeMap<i64, V>,
    right: &BTreeMap<i64, V>,
    (left_name, right_name): (&str, &str),
) -> Vec<String> {
    let tickets: BTreeSet<&i64> = left.keys().chain(right.keys()).collect();
    let none = V::default();
    tickets
        .into_iter()
        .map(|id| {
            (
                id,
                left.get(id).unwrap_or(&none),
                right.get(id).unwrap_or(&none),
            )
        })
        .filter(|(_, l, r)| l != r)
        .map(|(id, l, r)| {
            format!(
                "{}: {left_name} {l:?}, {right_name} {r:?}",
                TicketNumber::of(*id)
            )
        })
        .collect()
}
