//! Varied analyst reports, so every request makes the desk classify, link runs and route
//! for real: seeded tables with many runs, seeded "fleet" tables with few, tables the desk
//! has never seen, explicit run ids, every problem kind, with and without column details.

use rand::Rng;
use rand::rngs::StdRng;

/// Tables `inspect-desk seed` files runs for (the demo's named tables), by warehouse type.
/// Each carries ~runs/1000 run records after a seed.
const SEEDED_TABLES: &[(&str, &[&str])] = &[
    (
        "snowflake",
        &[
            "ANALYTICS.SALES.ORDERS",
            "ANALYTICS.EVENTS.PAGEVIEWS",
            "ANALYTICS.CRM.CONTACTS",
            "RAW.EVENTS.CLICKS",
        ],
    ),
    (
        "bigquery",
        &[
            "proj.marketing.sessions",
            "proj.core.users",
            "proj.web.events",
            "proj.core.transactions",
        ],
    ),
    (
        "redshift",
        &["dw.finance.invoices", "dw.logs.requests", "dw.hr.employees"],
    ),
    (
        "postgres",
        &["public.customers", "public.orders", "public.audit_log"],
    ),
    (
        "databricks",
        &[
            "main.ops.shipments",
            "main.finance.ledger",
            "main.ml.features",
        ],
    ),
    ("duckdb", &["local.main.trips", "local.main.patients"]),
];

/// Warehouse types in the order `inspect-desk seed` cycles through for its fleet tables.
const WAREHOUSES: [&str; 6] = [
    "snowflake",
    "bigquery",
    "redshift",
    "postgres",
    "databricks",
    "duckdb",
];

const KINDS: [&str; 6] = [
    "stale_profile",
    "wrong_column_type",
    "failed_report",
    "profiling_failure",
    "other",
    "unsure",
];

const WRONG_TYPES: &[(&str, &str, &str)] = &[
    ("zip", "integer", "postal_code"),
    ("email_addr", "text", "email"),
    ("amount_usd", "categorical", "currency"),
    ("country", "person_name", "country_code"),
    ("created", "text", "timestamp"),
];

const IMPACTS: [Option<&str>; 4] = [Some("blocked"), Some("degraded"), Some("minor"), None];

/// What the seeded database holds, so references point at real rows.
#[derive(Debug, Clone, Copy)]
pub struct SeedShape {
    /// Runs seeded (`run-0000000` … ); 0 means no run ids are referenced.
    pub runs: usize,
}

/// One report as form/JSON field pairs.
pub type Fields = Vec<(&'static str, String)>;

/// A report built from `sequence` (unique per request) and the worker's generator.
pub fn report(rng: &mut StdRng, shape: SeedShape, sequence: u64) -> Fields {
    let (warehouse, table) = pick_table(rng, shape);
    let kind = KINDS[rng.random_range(0..KINDS.len())];
    let analyst = sequence % 97 + 1;
    let mut fields: Fields = vec![
        ("reporter_name", format!("Bench Analyst {analyst}")),
        ("reporter_email", format!("analyst{analyst}@bench.example")),
        ("kind", kind.to_string()),
        ("warehouse_type", warehouse.to_string()),
        ("table", table.clone()),
    ];
    if let Some(impact) = IMPACTS[rng.random_range(0..IMPACTS.len())] {
        fields.push(("impact", impact.to_string()));
    }
    if shape.runs > 0 && rng.random_ratio(1, 5) {
        let run = rng.random_range(0..shape.runs);
        fields.push(("run_id", format!("run-{run:07}")));
    }
    let description = match rng.random_range(0..6) {
        0 => format!(
            "The profile for {table} still shows last week's row count; we reloaded it on Monday (ref {sequence})."
        ),
        1 => {
            let (column, detected, expected) = WRONG_TYPES[rng.random_range(0..WRONG_TYPES.len())];
            fields.push(("column", column.to_string()));
            fields.push(("detected_type", detected.to_string()));
            fields.push(("expected_type", expected.to_string()));
            format!(
                "{column} is detected as {detected} but it is really {expected} (ref {sequence})."
            )
        }
        2 => format!(
            "Generating the inspector report for {table} fails with 'Report generation failed (code R-502)' after a minute (ref {sequence})."
        ),
        3 => format!(
            "The profiling run for {table} keeps timing out and we have no profile at all (ref {sequence})."
        ),
        4 => format!(
            "Freshness badge is green but max(updated_at) in the profile is from last month?? (ref {sequence})"
        ),
        _ => format!(
            "Could the inspector show percentiles for numeric columns, not just min and max? (ref {sequence})"
        ),
    };
    fields.push(("description", description));
    fields
}

/// 60% seeded named tables (many runs), 25% seeded fleet tables (few runs), 15% tables
/// the desk has no runs for.
fn pick_table(rng: &mut StdRng, shape: SeedShape) -> (&'static str, String) {
    let fleet = shape.runs / 200;
    match rng.random_range(0..100) {
        0..60 => {
            let (warehouse, tables) = SEEDED_TABLES[rng.random_range(0..SEEDED_TABLES.len())];
            (
                warehouse,
                tables[rng.random_range(0..tables.len())].to_string(),
            )
        }
        60..85 if fleet > 0 => {
            // Mirrors the names `inspect-desk seed` gives its extra tables.
            let i = rng.random_range(0..fleet);
            (
                WAREHOUSES[i % WAREHOUSES.len()],
                format!("bench{}.schema{}.table{i}", i % 7, i % 13),
            )
        }
        _ => {
            let warehouse = WAREHOUSES[rng.random_range(0..WAREHOUSES.len())];
            let n = rng.random_range(0..10_000);
            (warehouse, format!("unseen{}.sch.t{n}", n % 11))
        }
    }
}

/// A finished profiling run as the profiler posts it: a new run id each time, every
/// warehouse type, 3,500 tables, mostly successes with some failures and timeouts, a few typed columns,
/// started in the last hour.
pub fn run(rng: &mut StdRng, sequence: u64) -> serde_json::Value {
    let (warehouse, _) = SEEDED_TABLES[rng.random_range(0..SEEDED_TABLES.len())];
    // Fleet tables: the seed's named tables carry thousands of open stale-profile tickets
    // each (an artefact of seeding 100k reports over 20 tables) that the first success
    // would resolve one by one.
    let table = format!(
        "bench{}.ingest.t{}",
        rng.random_range(0..7),
        rng.random_range(0..500)
    );
    let status = match rng.random_range(0..100) {
        0..=89 => "succeeded",
        90..=96 => "failed",
        _ => "timed_out",
    };
    let now = chrono::Utc::now();
    let started = now - chrono::TimeDelta::seconds(rng.random_range(60..3600));
    let finished = started + chrono::TimeDelta::milliseconds(rng.random_range(500..600_000));
    serde_json::json!({
        "run_id": format!("ingest-{}-{sequence}", std::process::id()),
        "warehouse_type": warehouse,
        "table": table,
        "status": status,
        "started_at": started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "finished_at": finished.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "error": if status == "succeeded" { serde_json::Value::Null } else { "Statement reached its statement or warehouse timeout".into() },
        "row_count": rng.random_range(100..10_000_000),
        "columns": [
            {"name": "id", "semantic_type": "identifier", "confidence": 0.99},
            {"name": "email", "semantic_type": "email", "confidence": 0.93},
            {"name": "created_at", "semantic_type": "timestamp", "confidence": 0.97}
        ]
    })
}
