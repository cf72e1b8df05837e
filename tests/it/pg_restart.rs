//! PostgreSQL stopped and started again under a stream of report submissions, on a
//! private cluster (the machine's shared one is never touched): while it is down every
//! answer is a prompt 503 problem, never a 500 or a hang; afterwards submissions succeed
//! again, and no ticket is half-written.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::private_pg::PrivatePostgres;

/// One answer of the load loop.
#[derive(Debug, Clone)]
struct Answer {
    sent: Instant,
    answered: Instant,
    /// HTTP status, or 0 when no answer came (connection error or client timeout).
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    body: String,
}

impl Answer {
    fn took_ms(&self) -> u128 {
        (self.answered - self.sent).as_millis()
    }
}

/// How long any one submission may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(15);
/// How soon after the restart submissions must succeed again.
const RECOVERY: Duration = Duration::from_secs(8);
/// How long an answer may take while the database is down.
const PROMPT_503: Duration = Duration::from_millis(1000);

fn report(i: usize) -> Value {
    json!({"reporter_email": format!("ana{i}@example.com"), "kind": "failed_report",
           "impact": "degraded", "warehouse_type": "postgres", "table": "public.orders",
           "description": format!("Report {i} failed during the database restart drill")})
}

/// Submit reports from `workers` loops until `stop` is set.
fn load(
    app: &TestApp,
    workers: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (Arc<Mutex<Vec<Answer>>>, Vec<tokio::task::JoinHandle<()>>) {
    let answers = Arc::new(Mutex::new(Vec::new()));
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handles = (0..workers)
        .map(|_| {
            let (answers, counter, stop) = (answers.clone(), counter.clone(), stop.clone());
            let url = app.url("/api/v1/reports");
            tokio::spawn(async move {
                let client = reqwest::Client::builder().timeout(HANG).build().unwrap();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let sent = Instant::now();
                    let header = |r: &reqwest::Response, name: &str| {
                        r.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    let answer = match client.post(&url).json(&report(i)).send().await {
                        Ok(r) => Answer {
                            sent,
                            answered: sent,
                            status: r.status().as_u16(),
                            content_type: header(&r, "content-type").unwrap_or_default(),
                            retry_after: header(&r, "retry-after"),
                            body: r.text().await.unwrap_or_default(),
                        },
                        Err(e) => Answer {
                            sent,
                            answered: sent,
                            status: 0,
                            content_type: String::new(),
                            retry_after: None,
                            body: e.to_string(),
                        },
                    };
                    answers.lock().unwrap().push(Answer {
                        answered: Instant::now(),
                        ..answer
                    });
                    // A steady stream, not a flood: the point is the database, not the CPU.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();
    (answers, handles)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_under_load_answers_503_then_recovers() {
    let Some(pg) = tokio::task::spawn_blocking(PrivatePostgres::start)
        .await
        .unwrap()
    else {
        return;
    };
    let pg = Arc::new(pg);
    let app = TestApp::spawn_with(Backend::Postgres(pg.url()), |s| s.pool_size = 4).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (answers, workers) = load(&app, 3, stop.clone());

    let Outage {
        stopping,
        down,
        restarting,
        up,
    } = stop_and_restart(&app, &pg).await;
    await_recovery(&answers, up).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    let answers = answers.lock().unwrap().clone();

    // Only two answers ever: stored, or a 503 problem. No 500, no hang, no dropped line.
    for a in &answers {
        assert!(
            a.status == 201 || a.status == 503,
            "{} after {} ms: {}",
            a.status,
            a.took_ms(),
            a.body
        );
    }
    let before: Vec<&Answer> = answers.iter().filter(|a| a.answered < stopping).collect();
    assert!(
        before.len() >= 10 && before.iter().all(|a| a.status == 201),
        "before the stop every submission is stored ({} answers)",
        before.len()
    );
    let (during, slowest) = prompt_503_problems_while_down(&answers, down, restarting);
    let recovered = stored_again_after_the_restart(&answers, up);
    eprintln!(
        "{} answers: {during} while down (slowest {slowest} ms), first success {:?} after the restart",
        answers.len(),
        recovered - up
    );
    every_stored_answer_names_one_ticket(&app, &answers, down);
    no_ticket_is_half_written(&app);
}

/// When each phase of the outage began.
struct Outage {
    stopping: Instant,
    down: Instant,
    restarting: Instant,
    up: Instant,
}

/// 1.5 s of normal load, PostgreSQL stopped for 3 s (the probes asked half-way), then
/// started again.
async fn stop_and_restart(app: &TestApp, pg: &Arc<PrivatePostgres>) -> Outage {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stopping = Instant::now();
    let stopper = pg.clone();
    tokio::task::spawn_blocking(move || stopper.stop_immediately())
        .await
        .unwrap();
    let down = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    probes_say_alive_not_ready(app).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let restarting = Instant::now();
    let starter = pg.clone();
    tokio::task::spawn_blocking(move || starter.start_server())
        .await
        .unwrap();
    Outage {
        stopping,
        down,
        restarting,
        up: Instant::now(),
    }
}

/// While the database is down the probes tell the truth: alive, not ready, and promptly.
async fn probes_say_alive_not_ready(app: &TestApp) {
    let asked = Instant::now();
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    assert_eq!(
        ready.json::<Value>().await.unwrap()["database"],
        "unreachable"
    );
    assert!(
        asked.elapsed() < PROMPT_503,
        "/readyz took {:?}",
        asked.elapsed()
    );
    assert_eq!(app.get("/healthz").await.status(), 200);
}

/// Until the first submission sent after `up` succeeds (the pool reconnects with a backoff
/// of up to 2.5 s), or RECOVERY has passed.
async fn await_recovery(answers: &Mutex<Vec<Answer>>, up: Instant) {
    while up.elapsed() < RECOVERY
        && !answers
            .lock()
            .unwrap()
            .iter()
            .any(|a| a.sent >= up && a.status == 201)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// While it is down: prompt 503 problems that say what is wrong. Returns how many came and
/// the slowest in ms.
fn prompt_503_problems_while_down(
    answers: &[Answer],
    down: Instant,
    restarting: Instant,
) -> (usize, u128) {
    let during: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.sent >= down && a.answered < restarting)
        .collect();
    assert!(
        during.len() >= 6,
        "answers while the database was down: {}",
        during.len()
    );
    for a in &during {
        assert_eq!(a.status, 503, "while down: {}", a.body);
        assert!(
            a.answered - a.sent < PROMPT_503,
            "a 503 took {} ms while the database was down",
            a.took_ms()
        );
        let problem: Value = serde_json::from_str(&a.body).expect("a JSON problem");
        assert_eq!(problem["status"], 503);
        assert!(
            problem["detail"].as_str().unwrap().contains("database"),
            "{problem}"
        );
        assert_eq!(a.content_type, "application/problem+json");
        assert_eq!(a.retry_after.as_deref(), Some("5"));
    }
    let slowest = during.iter().map(|a| a.took_ms()).max().unwrap();
    (during.len(), slowest)
}

/// Back up: submissions succeed again within seconds, and keep succeeding. Returns when the
/// first successful one was sent.
fn stored_again_after_the_restart(answers: &[Answer], up: Instant) -> Instant {
    let recovered = answers
        .iter()
        .filter(|a| a.sent >= up && a.status == 201)
        .map(|a| a.sent)
        .min()
        .expect("a submission succeeded after the restart");
    assert!(
        recovered - up < RECOVERY,
        "first success {:?} after the restart",
        recovered - up
    );
    let after: Vec<&Answer> = answers.iter().filter(|a| a.sent >= recovered).collect();
    assert!(
        after.len() >= 20 && after.iter().all(|a| a.status == 201),
        "after recovery every submission is stored: {:?}",
        after
            .iter()
            .filter(|a| a.status != 201)
            .map(|a| &a.body)
            .collect::<Vec<_>>()
    );
    recovered
}

/// Every 201 named a ticket that exists, and no more tickets exist than answers could
/// account for.
fn every_stored_answer_names_one_ticket(app: &TestApp, answers: &[Answer], down: Instant) {
    let stored: Vec<String> = answers
        .iter()
        .filter(|a| a.status == 201)
        .map(|a| {
            serde_json::from_str::<Value>(&a.body).unwrap()["number"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // Reports only: the burst of reports also opened an incident (a ticket of the desk's).
    let tickets = app.count("tickets WHERE is_incident = false") as usize;
    // A request cut off at its commit may have stored its ticket without hearing so.
    let cut_off = answers
        .iter()
        .filter(|a| a.status != 201 && a.sent < down)
        .count();
    assert!(
        (stored.len()..=stored.len() + cut_off).contains(&tickets),
        "{tickets} tickets for {} stored answers ({cut_off} cut off)",
        stored.len()
    );
    for number in &stored {
        let id: i64 = number.trim_start_matches("INS-").parse().unwrap();
        assert_eq!(
            app.count(&format!("tickets WHERE id = {id}")),
            1,
            "{number}"
        );
    }
}

/// Each ticket has its whole intake: timeline, routing, SLA, both emails.
fn no_ticket_is_half_written(app: &TestApp) {
    let lacking = |what: &str, expected: usize| {
        app.count(&format!(
            "tickets t WHERE (SELECT COUNT(*) FROM {what} AND x.ticket_id = t.id) <> {expected}"
        ))
    };
    for kind in ["created", "classified", "severity_set", "routed", "sla_set"] {
        let events = format!("ticket_events x WHERE x.kind = '{kind}'");
        assert_eq!(
            lacking(&events, 1),
            0,
            "a ticket without exactly one '{kind}' event"
        );
    }
    assert_eq!(
        lacking("outbox x WHERE x.template = 'new_ticket'", 1),
        0,
        "a ticket without exactly one team notice queued"
    );
    assert_eq!(
        app.count(
            "tickets t WHERE t.is_incident = false AND (SELECT COUNT(*) FROM outbox x \
             WHERE x.template = 'confirmation' AND x.ticket_id = t.id) <> 1"
        ),
        0,
        "a report without exactly one confirmation queued"
    );
    assert_eq!(
        app.count(
            "tickets WHERE team = '' OR routing_rule = '' OR first_response_due <= created_at \
             OR resolution_due <= created_at"
        ),
        0,
        "every ticket is routed and has its SLA"
    );
}
