//! Demo and benchmark data: run records across every warehouse type (some failing, some
//! tables stale) and tickets filed through the real intake, in every status.

use chrono::{NaiveDateTime, TimeDelta};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::clock::Clock;
use crate::db::models::ticket::Ticket;
use crate::db::models::user::User;
use crate::domain::report::{RawReport, Report};
use crate::domain::role::Role;
use crate::domain::run::RunStatus;
use crate::domain::run_record::{ColumnType, RunRecord};
use crate::domain::status::Status;
use crate::domain::table::TableName;
use crate::domain::warehouse::WarehouseType;
use crate::services::accounts::{self, Actor};
use crate::services::ticket_changes::{Changes, Who};
use crate::services::triage;
use crate::services::{intake, runs};
use crate::state::Desk;

/// Tables the demo knows, per warehouse type.
const TABLES: &[(WarehouseType, &[&str])] = &[
    (
        WarehouseType::Snowflake,
        &[
            "ANALYTICS.SALES.ORDERS",
            "ANALYTICS.EVENTS.PAGEVIEWS",
            "ANALYTICS.CRM.CONTACTS",
            "RAW.EVENTS.CLICKS",
        ],
    ),
    (
        WarehouseType::Bigquery,
        &[
            "proj.marketing.sessions",
            "proj.core.users",
            "proj.web.events",
            "proj.core.transactions",
        ],
    ),
    (
        WarehouseType::Redshift,
        &["dw.finance.invoices", "dw.logs.requests", "dw.hr.employees"],
    ),
    (
        WarehouseType::Postgres,
        &["public.customers", "public.orders", "public.audit_log"],
    ),
    (
        WarehouseType::Databricks,
        &[
            "main.ops.shipments",
            "main.finance.ledger",
            "main.ml.features",
        ],
    ),
    (
        WarehouseType::Duckdb,
        &["local.main.trips", "local.main.patients"],
    ),
];

/// Tables whose runs stop a few days ago: the demo's stale profiles.
const STALE: &[&str] = &["proj.core.users", "public.customers", "main.ops.shipments"];

const STATUSES: &[Status] = &[
    Status::New,
    Status::Triaged,
    Status::InProgress,
    Status::WaitingOnReporter,
    Status::Resolved,
    Status::Closed,
];

/// Demo accounts: email, role, password. For `serve --demo` only; printed at start.
pub const DEMO_USERS: [(&str, Role, &str); 4] = [
    ("admin@inspect.example", Role::Admin, "demo-admin-password"),
    ("owner@inspect.example", Role::Owner, "demo-owner-password"),
    ("agent@inspect.example", Role::Agent, "demo-agent-password"),
    (
        "analyst1@example.com",
        Role::Analyst,
        "demo-analyst-password",
    ),
];

/// Seed only when the database holds no tickets yet.
pub fn seed_if_empty(desk: &Desk) -> Result<String, String> {
    let mut conn = desk.pool.get().map_err(|e| e.to_string())?;
    if Ticket::count(&mut conn).map_err(|e| e.to_string())? > 0 {
        return Ok("demo data: the database already holds tickets; nothing added".into());
    }
    drop(conn);
    let seeded = seed(desk, 200, 50)?;
    // Escalate at once what the five days of tickets have breached, so the escalation
    // view and the demo owner's escalations (owner@inspect.example leads Warehouse
    // Connectors) are there at the first page load, not at the first sweep.
    let swept = crate::services::escalation::sweep(desk, desk.clock.now())
        .map_err(|e| format!("escalating the demo tickets: {e}"))?;
    let mail = demo_mail(desk)?;
    Ok(format!(
        "{seeded}; {} escalation steps fired on {} tickets; {mail} emails received",
        swept.steps, swept.tickets
    ))
}

/// A little received mail, so the ticket page and /admin/mail show it: the reporter of
/// the first open ticket answers by email, a colleague of theirs writes too (an
/// unverified sender), and someone opens a report by writing to the support address.
fn demo_mail(desk: &Desk) -> Result<usize, String> {
    let mut conn = desk.pool.get().map_err(|e| e.to_string())?;
    let Some(ticket) = Ticket::first_open(&mut conn).map_err(|e| e.to_string())? else {
        return Ok(0);
    };
    let number = ticket.number();
    let support = &desk.mail.support_address;
    let messages = [
        format!(
            "From: {reporter}\r\nTo: {support}\r\nSubject: Re: [{number}] Report received\r\nMessage-ID: <demo-reply-1@example.com>\r\n\r\nIt happened again after this morning's run; the inspector still shows last week's numbers.\r\n\r\nOn Mon, 7 Dec 2026 at 09:28, inspect-desk <{support}> wrote:\r\n> Thanks for your report.\r\n",
            reporter = ticket.reporter_email
        ),
        format!(
            "From: Sam Lee <sam.lee@partner.example>\r\nTo: {support}\r\nSubject: Re: [{number}] Report received\r\nMessage-ID: <demo-colleague-1@partner.example>\r\n\r\nWe see the same on our side since Friday.\r\n"
        ),
        format!(
            "From: Ines Park <ines.park@example.com>\r\nTo: {support}\r\nSubject: Profile of warehouse.events failed overnight\r\nMessage-ID: <demo-new-1@example.com>\r\n\r\nThe nightly profile of warehouse.events failed with a timeout, and the report for it is missing.\r\n"
        ),
    ];
    for message in &messages {
        crate::services::inbound::receive(&mut conn, desk, message.as_bytes())
            .map_err(|e| format!("demo mail: {e}"))?;
    }
    Ok(messages.len())
}

/// The name a demo account shows: the demo owner is the lead of Warehouse Connectors in
/// the shipped support model.
fn demo_name(email: &str) -> Option<&'static str> {
    match email {
        "admin@inspect.example" => Some("Robin Admin"),
        "owner@inspect.example" => Some("Dana Okafor"),
        "agent@inspect.example" => Some("Alex Rivera"),
        "analyst1@example.com" => Some("Demo Analyst 1"),
        _ => None,
    }
}

/// The demo accounts (`DEMO_USERS`), each created unless its address is taken.
fn ensure_demo_users(desk: &Desk) -> Result<(), String> {
    let mut conn = desk.pool.get().map_err(|e| e.to_string())?;
    let actor = Actor {
        name: "demo",
        ip: None,
    };
    for (email, role, password) in DEMO_USERS {
        if User::find_by_email(&mut conn, email)
            .map_err(|e| e.to_string())?
            .is_none()
        {
            accounts::create_user(
                &mut conn,
                &actor,
                email,
                demo_name(email),
                role,
                Some(password),
                desk.clock.now(),
            )
            .map_err(|e| format!("demo account {email}: {e}"))?;
        }
    }
    Ok(())
}

/// Add the demo accounts (benchmarks sign in as them), `run_count` runs and `ticket_count`
/// tickets. Deterministic for the same counts.
pub fn seed(desk: &Desk, run_count: usize, ticket_count: usize) -> Result<String, String> {
    // Seeding files reports through the real intake, which would run the threshold rules
    // after each one (and attach tickets to incidents under the seeder's feet). The data
    // goes in first; a running desk's background job opens whatever incidents it shows.
    let mut quiet = desk.with_clock(desk.clock.clone());
    quiet.model.signals = crate::domain::signals::SignalRules::default();
    let desk = &quiet;
    ensure_demo_users(desk)?;
    let mut rng = StdRng::seed_from_u64(0x15_u64.wrapping_add(run_count as u64));
    let now = desk.clock.now();
    let tables = table_pool(run_count);
    let mut conn = desk.pool.get().map_err(|e| e.to_string())?;
    let mut batch = Vec::with_capacity(1000);
    for index in 0..run_count {
        batch.push(generate_run(&mut rng, &tables, index, now));
        if batch.len() == 1000 || index + 1 == run_count {
            runs::store(&mut conn, &batch, now, crate::domain::drill::LIVE)
                .map_err(|e| format!("seeding runs: {e}"))?;
            batch.clear();
        }
    }
    for index in 0..ticket_count {
        // File each ticket as if it arrived up to five days ago, through the real intake.
        let age = TimeDelta::minutes(rng.random_range(0..5 * 24 * 60));
        let clock = Clock::system();
        clock.advance(-age);
        let at_desk = desk.with_clock(clock);
        let report = Report::parse(&generate_report(&mut rng, index))
            .map_err(|e| format!("demo report: {e:?}"))?;
        let ticket = intake::submit(&mut conn, &at_desk, report, None)
            .map_err(|e| format!("seeding tickets: {e}"))?;
        let status = STATUSES[index % STATUSES.len()];
        if status != Status::New {
            let ticket = ticket.ticket();
            let changes = Changes {
                status: Some(status),
                ..Changes::default()
            };
            let who = Who {
                name: "demo".into(),
                user_id: None,
            };
            triage::update(
                &mut conn,
                &at_desk,
                &who,
                ticket.id,
                ticket.version,
                &changes,
            )
            .map_err(|e| format!("seeding ticket status: {e}"))?
            .map_err(|_| "seeding ticket status: the ticket changed meanwhile".to_string())?;
        }
    }
    Ok(format!(
        "demo data: {run_count} runs and {ticket_count} tickets added"
    ))
}

fn table_pool(run_count: usize) -> Vec<(WarehouseType, String)> {
    let mut tables: Vec<(WarehouseType, String)> = TABLES
        .iter()
        .flat_map(|(w, names)| names.iter().map(move |n| (*w, n.to_string())))
        .collect();
    // Large seeds spread over many tables, as a real warehouse fleet would.
    let extra = run_count / 200;
    for i in 0..extra {
        let warehouse = WarehouseType::ALL[i % WarehouseType::ALL.len()];
        tables.push((
            warehouse,
            format!("bench{}.schema{}.table{i}", i % 7, i % 13),
        ));
    }
    tables
}

fn generate_run(
    rng: &mut StdRng,
    tables: &[(WarehouseType, String)],
    index: usize,
    now: NaiveDateTime,
) -> RunRecord {
    let (warehouse, table) = &tables[index % tables.len()];
    let stale = STALE.contains(&table.as_str());
    let age_minutes = if stale {
        rng.random_range(4 * 1440..7 * 1440)
    } else {
        rng.random_range(0..7 * 1440)
    };
    let started_at = now - TimeDelta::minutes(age_minutes);
    let roll = rng.random_range(0..100);
    let status = match roll {
        0..10 => RunStatus::Failed,
        10..17 => RunStatus::TimedOut,
        17..20 => RunStatus::Cancelled,
        20..23 if age_minutes < 60 => RunStatus::Running,
        _ => RunStatus::Succeeded,
    };
    let minutes = match warehouse {
        WarehouseType::Snowflake | WarehouseType::Databricks => rng.random_range(2..45),
        WarehouseType::Bigquery | WarehouseType::Redshift => rng.random_range(1..25),
        WarehouseType::Postgres | WarehouseType::Duckdb => rng.random_range(1..8),
    };
    let finished_at = (status != RunStatus::Running)
        .then(|| started_at + TimeDelta::seconds(minutes * 60 + rng.random_range(0..60)));
    let error = match status {
        RunStatus::Failed => Some(["permission denied for table", "disk full on cluster", "Cluster terminated", "column type changed during scan"][roll % 4].to_string()),
        RunStatus::TimedOut => Some("SQL execution canceled: statement reached its statement or warehouse timeout of 3600 second(s)".into()),
        _ => None,
    };
    let columns = [
        ("id", "identifier", 0.99),
        ("email", "email", 0.93),
        ("country", "country_code", 0.88),
        ("amount", "currency", 0.81),
    ]
    .iter()
    .map(|(name, kind, confidence)| ColumnType {
        name: name.to_string(),
        semantic_type: Some(kind.to_string()),
        confidence: Some(*confidence),
    })
    .collect();
    RunRecord {
        run_id: format!("run-{index:07}"),
        warehouse_type: *warehouse,
        table: TableName::parse(table, Some(*warehouse)).expect("demo tables are valid"),
        status,
        started_at,
        finished_at,
        error,
        row_count: (status == RunStatus::Succeeded).then(|| rng.random_range(1_000..5_000_000)),
        columns,
    }
}

fn generate_report(rng: &mut StdRng, index: usize) -> RawReport {
    let (warehouse, names) = TABLES[index % TABLES.len()];
    let table = names[rng.random_range(0..names.len())];
    let mut raw = RawReport {
        reporter_name: Some(format!("Demo Analyst {}", index % 17 + 1)),
        reporter_email: Some(format!("analyst{}@example.com", index % 17 + 1)),
        warehouse_type: Some(warehouse.as_str().into()),
        table: Some(table.into()),
        impact: Some(["blocked", "degraded", "minor"][index % 3].into()),
        ..RawReport::default()
    };
    let (kind, description) = match index % 5 {
        0 => ("stale_profile", format!("The profile for {table} still shows last week's row count; the table was reloaded since and the inspector has not caught up.")),
        1 => {
            let (column, detected, expected) = [("zip", "integer", "postal_code"), ("email_addr", "text", "email"), ("amount_usd", "categorical", "currency"), ("country", "person_name", "country_code")][index % 4];
            raw.column = Some(column.into());
            raw.detected_type = Some(detected.into());
            raw.expected_type = Some(expected.into());
            ("wrong_column_type", format!("{column} is detected as {detected} but it is really {expected}."))
        }
        2 => ("failed_report", "Generating the inspector report fails with 'Report generation failed (code R-502)' after a minute.".to_string()),
        3 => ("unsure", format!("The profiling run for {table} keeps timing out and we have no profile at all.")),
        _ => ("other", "Could the inspector show percentiles for numeric columns, not just min and max?".to_string()),
    };
    raw.kind = Some(kind.into());
    raw.description = Some(description);
    raw
}
