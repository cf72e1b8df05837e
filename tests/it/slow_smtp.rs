//! A slow SMTP server (each message takes seconds to be accepted) while the server's own
//! delivery job works through a backlog: submissions, `/healthz` and the ticket page stay
//! fast, and the mail arrives.

use std::time::{Duration, Instant};

use inspect_desk::domain::role::Role;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::smtp::{SmtpSink, free_port};

on_both_backends!(slow_smtp_does_not_slow_the_web);

/// How long the server takes to accept each message.
const SMTP_DELAY: Duration = Duration::from_millis(1500);
/// Reports filed up front: a confirmation and a team notice each, 24 messages, ~36 s of
/// delivery, far longer than the measurement below.
const REPORTS: usize = 12;
/// The slowest a request may be at the 95th percentile while delivery is in progress
/// (a request queued behind one SMTP exchange would take 1.5 s).
const P95_LIMIT: Duration = Duration::from_millis(300);

fn report(i: usize) -> Value {
    json!({"reporter_email": format!("ana{i}@example.com"), "kind": "failed_report",
           "impact": "degraded", "warehouse_type": "postgres", "table": "public.orders",
           "description": format!("Report {i} failed while the mail relay crawls")})
}

fn p95(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[(samples.len() * 95).div_ceil(100) - 1]
}

async fn slow_smtp_does_not_slow_the_web(backend: Backend) {
    let port = free_port();
    let Some(sink) = SmtpSink::start_slow(port, SMTP_DELAY) else {
        return;
    };
    let app = TestApp::spawn_with(backend, |s| {
        s.smtp_url = Some(inspect_desk::config::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )));
        // The server's own outbox worker (every 2 s), as in production.
        s.background_jobs = true;
    })
    .await;
    let (agent, _) = app.signed_in(Role::Agent).await;
    let mut numbers = Vec::new();
    for i in 0..REPORTS {
        numbers.push(
            app.file_report(report(i)).await["number"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let queued = app.count("outbox") as usize;
    assert_eq!(queued, 2 * REPORTS);

    // Wait until the worker is inside an SMTP exchange, then measure.
    let waiting = Instant::now();
    while app.count("outbox WHERE status = 'sending'") == 0 {
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "delivery never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (mut submit, mut health, mut page) = (Vec::new(), Vec::new(), Vec::new());
    let measuring = Instant::now();
    let mut i = REPORTS;
    while measuring.elapsed() < Duration::from_secs(5) {
        let started = Instant::now();
        let response = app.post_json("/api/v1/reports", &report(i)).await;
        assert_eq!(response.status(), 201);
        submit.push(started.elapsed());
        i += 1;

        let started = Instant::now();
        assert_eq!(app.get("/healthz").await.status(), 200);
        health.push(started.elapsed());

        let started = Instant::now();
        let number = &numbers[i % numbers.len()];
        let response = agent
            .get(app.url(&format!("/tickets/{number}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap();
        page.push(started.elapsed());
        // A steady stream of users, not a flood.
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // The measurement happened while delivery was going on, not before or after it.
    let delivered_meanwhile = sink.received().len();
    let sent = app.count("outbox WHERE status = 'sent'") as usize;
    assert!(
        delivered_meanwhile >= 1 && sent < queued,
        "delivery in progress during the measurement: {delivered_meanwhile} received, {sent} of {queued} sent"
    );
    let (submit_p95, health_p95, page_p95) = (p95(&mut submit), p95(&mut health), p95(&mut page));
    eprintln!(
        "while {delivered_meanwhile} of {queued} messages crawled through SMTP: p95 submit {submit_p95:?}, \
         /healthz {health_p95:?}, ticket page {page_p95:?} ({} rounds)",
        submit.len()
    );
    assert!(submit.len() >= 10, "only {} rounds in 5 s", submit.len());
    for (what, p95) in [
        ("report submission", submit_p95),
        ("/healthz", health_p95),
        ("ticket page", page_p95),
    ] {
        assert!(p95 < P95_LIMIT, "{what}: p95 {p95:?} while SMTP is slow");
    }

    // The mail does arrive, in order, each message once.
    let arrived = sink.wait_for(delivered_meanwhile + 2);
    assert!(arrived.len() >= delivered_meanwhile + 2, "delivery goes on");
    let first = &arrived[0];
    assert_eq!(first.header("To").as_deref(), Some("ana0@example.com"));
    assert!(first.header("Subject").unwrap().contains(&numbers[0]));
    let mut ids: Vec<String> = arrived
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), arrived.len(), "no message twice");
}

/// A pass over a slow server can outlive the lease on the messages it claimed (100 at
/// 1.5 s each take longer than the 2-minute lease), after which another worker (an
/// instance beside it, `inspect-desk outbox deliver`) may take them. The pass hands back
/// what it can no longer send safely instead of sending it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_hands_back_messages_whose_lease_runs_out() {
    let port = free_port();
    let Some(sink) = SmtpSink::start_slow(port, Duration::from_millis(800)) else {
        return;
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.smtp_url = Some(inspect_desk::config::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )))
    })
    .await;
    for i in 0..3 {
        app.file_report(report(i)).await;
    }
    let first = {
        let desk = app.desk.clone();
        tokio::spawn(async move {
            inspect_desk::services::delivery::deliver_due(&desk, &desk.mailer)
                .await
                .unwrap()
        })
    };
    // The pass has claimed all six and is in the first SMTP exchange; meanwhile its
    // claim nears its end (1 min 50 s of the 2 minutes gone).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.count("outbox WHERE status = 'sending'"), 6);
    app.clock
        .advance(chrono::TimeDelta::minutes(1) + chrono::TimeDelta::seconds(50));
    let first = first.await.unwrap();
    assert_eq!(
        first.sent, 1,
        "only the message already in flight: {first:?}"
    );
    assert_eq!(
        app.count("outbox WHERE status = 'pending' AND locked_until IS NULL"),
        5,
        "the rest are back in the queue"
    );
    let second = app.deliver().await;
    assert_eq!(second.sent, 5, "the next pass sends them: {second:?}");
    assert_eq!(app.count("outbox WHERE status = 'sent'"), 6);
    let received = sink.wait_for(6);
    std::thread::sleep(Duration::from_millis(300));
    let mut ids: Vec<String> = received
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (sink.received().len(), ids.len()),
        (6, 6),
        "six messages, none twice"
    );
}
