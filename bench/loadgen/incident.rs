//! How soon an incident opens after the event that crosses its threshold: for each
//! warehouse type, twenty healthy runs in one NDJSON request, then timeouts one request at
//! a time as a failing profiler posts them; the fifth crosses the shipped failure-rate
//! rule (over 20% of the last 20 runs). The time from that request's answer until
//! `GET /api/v1/incidents` lists an incident of the warehouse type is one sample.

use std::time::Duration;
use tokio::time::Instant;

use crate::stats::Tally;

/// Warehouse types, one round each (an open incident keeps its type busy).
const WAREHOUSES: [&str; 6] = [
    "snowflake",
    "bigquery",
    "redshift",
    "postgres",
    "databricks",
    "duckdb",
];
/// Timeouts posted per round; the fifth crosses the rule.
const TIMEOUTS: usize = 13;
const CROSSING: usize = 5;
/// Longer than this and the round counts as an error.
const GIVE_UP: Duration = Duration::from_secs(30);

fn run_json(warehouse: &str, id: &str, status: &str, minutes_ago: i64) -> serde_json::Value {
    let at = |m: i64| {
        (chrono::Utc::now() - chrono::TimeDelta::minutes(m))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    serde_json::json!({
        "run_id": id, "warehouse_type": warehouse, "table": "bench.latency.probe",
        "status": status, "started_at": at(minutes_ago), "finished_at": at(minutes_ago - 1),
    })
}

/// Measure `rounds` rounds (at most one per warehouse type) against the desk at `base`
/// with a token of scopes `ingest` and `read`.
pub async fn measure(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    rounds: usize,
) -> Result<Tally, String> {
    let mut tally = Tally::default();
    for (round, warehouse) in WAREHOUSES.iter().take(rounds).enumerate() {
        match one_round(client, base, token, warehouse, round).await {
            Ok(waited) => tally.latencies_us.push(waited.as_micros() as u64),
            Err(e) => tally.error(format!("{warehouse}: {e}"), String::new()),
        }
    }
    Ok(tally)
}

async fn one_round(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    warehouse: &str,
    round: usize,
) -> Result<Duration, String> {
    let healthy: Vec<String> = (0..20)
        .map(|i| {
            run_json(
                warehouse,
                &format!("lat-{round}-ok-{i}"),
                "succeeded",
                60 - i,
            )
            .to_string()
        })
        .collect();
    let response = client
        .post(format!("{base}/api/v1/runs"))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(healthy.join("\n"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("healthy runs: HTTP {}", response.status()));
    }
    let mut crossed = None;
    for i in 0..TIMEOUTS {
        let run = run_json(
            warehouse,
            &format!("lat-{round}-t-{i}"),
            "timed_out",
            30 - i as i64,
        );
        let response = client
            .post(format!("{base}/api/v1/runs"))
            .bearer_auth(token)
            .json(&run)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("timeout {i}: HTTP {}", response.status()));
        }
        if i + 1 == CROSSING {
            crossed = Some(Instant::now());
        }
    }
    let crossed = crossed.ok_or("no crossing event")?;
    loop {
        if incident_open(client, base, token, warehouse).await? {
            return Ok(crossed.elapsed());
        }
        if crossed.elapsed() > GIVE_UP {
            return Err(format!("no incident after {} s", GIVE_UP.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn incident_open(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    warehouse: &str,
) -> Result<bool, String> {
    let body: serde_json::Value = client
        .get(format!("{base}/api/v1/incidents"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    Ok(body["incidents"]
        .as_array()
        .is_some_and(|list| list.iter().any(|i| i["warehouse_type"] == warehouse)))
}
