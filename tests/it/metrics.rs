//! `GET /metrics`: access, content, and `promtool check metrics` on the output.
//! Without promtool (Debian package `prometheus`) the lint says `SKIPPED (promtool)`;
//! with `CI` set it fails instead.

use std::process::{Command, Stdio};

use inspect_desk::domain::role::Scope;
use inspect_desk::telemetry::metrics;
use serde_json::json;

use crate::helpers::{Backend, TestApp, minutes_ago};
use crate::on_both_backends;

on_both_backends!(metrics_report_the_desk_and_pass_promtool);

async fn scrape(app: &TestApp, scope: Option<Scope>) -> reqwest::Response {
    let request = app.new_client().get(app.url("/metrics"));
    let request = match scope {
        Some(scope) => request.bearer_auth(app.token(&[scope])),
        None => request,
    };
    request.send().await.unwrap()
}

/// The line of `metric` whose labels include every one of `labels`.
fn sample<'a>(text: &'a str, metric: &str, labels: &[&str]) -> Option<&'a str> {
    text.lines().find(|line| {
        line.starts_with(&format!("{metric}{{")) && labels.iter().all(|l| line.contains(l))
    })
}

fn promtool(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("CI is set but promtool cannot run ({e}); .ci/run installs `prometheus`")
        }
        Err(e) => {
            eprintln!(
                "SKIPPED (promtool): cannot run promtool ({e}); install Debian's `prometheus`"
            );
            return;
        }
    };
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}\n---\n{text}"
    );
}

async fn metrics_report_the_desk_and_pass_promtool(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ticket = app
        .file_report(json!({
            "reporter_email": "ana@example.com", "kind": "stale_profile",
            "warehouse_type": "snowflake", "table": "ANALYTICS.SALES.ORDERS",
            "description": "The orders profile has not refreshed since Monday."
        }))
        .await;
    let tracking = ticket["tracking_url"].as_str().unwrap();
    let secret = tracking.rsplit('/').next().unwrap().to_string();
    app.new_client().get(tracking).send().await.unwrap();
    app.post_run(json!({
        "run_id": "m-1", "warehouse_type": "redshift", "table": "dev.public.events",
        "status": "timed_out", "started_at": minutes_ago(70), "finished_at": minutes_ago(10)
    }))
    .await;
    // The hooks the SLA and email code call.
    metrics::sla_breach("warehouse-connectors");
    metrics::escalation_email("sent");
    metrics::escalation_email("failed");

    assert_eq!(scrape(&app, None).await.status(), 401);
    assert_eq!(scrape(&app, Some(Scope::Read)).await.status(), 403);
    let response = scrape(&app, Some(Scope::Metrics)).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();

    let category = ticket["category"].as_str().unwrap();
    let tickets = sample(
        &text,
        "desk_tickets",
        &[&format!("category=\"{category}\""), "status=\"new\""],
    );
    assert!(tickets.is_some_and(|l| l.ends_with(" 1")), "{text}");
    assert!(
        sample(&text, "desk_outbox_messages", &["status=\"pending\""]).is_some(),
        "{text}"
    );
    let report_latency = sample(
        &text,
        "desk_http_request_duration_seconds_bucket",
        &[
            "method=\"POST\"",
            "route=\"/api/v1/reports\"",
            "status=\"201\"",
            "le=\"+Inf\"",
        ],
    );
    assert!(report_latency.is_some(), "{text}");
    assert!(
        text.contains("route=\"/t/{token}\""),
        "tracking pages counted by pattern"
    );
    assert!(
        !text.contains(&secret),
        "a tracking token leaked into /metrics"
    );
    let outcome = sample(
        &text,
        "desk_profiler_runs_finished_total",
        &["warehouse_type=\"redshift\"", "outcome=\"timed_out\""],
    );
    assert!(outcome.is_some(), "{text}");
    let duration = sample(
        &text,
        "desk_profiler_run_duration_seconds_bucket",
        &["warehouse_type=\"redshift\"", "le=\"3600\""],
    );
    assert!(duration.is_some(), "{text}");
    assert!(
        sample(
            &text,
            "desk_sla_breaches_total",
            &["team=\"warehouse-connectors\""]
        )
        .is_some()
    );
    assert!(
        sample(
            &text,
            "desk_escalation_emails_total",
            &["outcome=\"failed\""]
        )
        .is_some()
    );
    promtool(&text);
}
