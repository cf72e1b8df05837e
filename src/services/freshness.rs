//! Freshness: when a successful run lands for a table with open stale-profile tickets,
//! those tickets move to resolved (the reporter can reopen by replying) with a note of
//! what the fresh profile changed.

use std::collections::{BTreeSet, HashMap};

use chrono::TimeDelta;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::models::run::{Run, RunColumn};
use crate::db::models::ticket::Ticket;
use crate::db::schema::{runs, tickets};
use crate::domain::category::Category;
use crate::domain::run::RunStatus;
use crate::domain::run_record::RunRecord;
use crate::domain::status::Status;
use crate::domain::ticket_number::TicketNumber;
use crate::domain::warehouse::WarehouseType;
use crate::error::AppError;
use crate::services::ticket_changes::{Changes, Who};
use crate::services::triage;
use crate::state::Desk;

/// How far the profiler's clock may lag the desk's.
const CLOCK_SLACK_MINUTES: i64 = 5;

/// Resolve the open stale-profile tickets of every table a successful record in `records`
/// profiled. Call after the records are committed. Returns the tickets resolved.
pub fn after_runs(
    conn: &mut DbConnection,
    desk: &Desk,
    records: &[RunRecord],
) -> Result<Vec<TicketNumber>, AppError> {
    let mut seen = BTreeSet::new();
    let fresh: Vec<&RunRecord> = records
        .iter()
        .filter(|r| r.status == RunStatus::Succeeded)
        .filter(|r| seen.insert((r.warehouse_type.as_str(), r.table.as_str())))
        .collect();
    // Most tables have no open stale-profile ticket: look for them all on one snapshot
    // (one SQLite read transaction, not one per table; see `db::read_snapshot`), a chunk
    // of tables to a query, then resolve the few that have some, each in its own write.
    let found = crate::db::read_snapshot(conn, |conn| {
        let mut found = Vec::new();
        for chunk in fresh.chunks(TABLES_PER_QUERY) {
            found.extend(stale_candidates(conn, chunk)?);
        }
        Ok::<_, AppError>(found)
    })?;
    let mut resolved = Vec::new();
    for (record, candidates) in found {
        resolved.extend(resolve_stale(conn, desk, record, &candidates)?);
    }
    Ok(resolved)
}

/// Tables looked up in one query: one bound name each.
const TABLES_PER_QUERY: usize = 200;

/// The open stale-profile tickets (ids) of each table in `fresh` (one record per table)
/// that its run answers; tables without any are left out.
fn stale_candidates<'r>(
    conn: &mut DbConnection,
    fresh: &[&'r RunRecord],
) -> Result<Vec<(&'r RunRecord, Vec<i64>)>, AppError> {
    let open = Status::OPEN;
    let names: Vec<&str> = fresh.iter().map(|r| r.table.as_str()).collect();
    // The tables' tickets through `tickets_table` (table, warehouse type); the rest is
    // checked here, so SQLite cannot prefer an index on status or on the incident flag,
    // which would walk every open ticket for each run ingested.
    type Row = (
        i64,
        Option<String>,
        Option<WarehouseType>,
        Category,
        Status,
        bool,
        Option<i64>,
        chrono::NaiveDateTime,
    );
    let rows: Vec<Row> = tickets::table
        .filter(tickets::table_name.eq_any(&names))
        .select((
            tickets::id,
            tickets::table_name,
            tickets::warehouse_type,
            tickets::category,
            tickets::status,
            tickets::is_incident,
            tickets::merged_into,
            tickets::created_at,
        ))
        .load::<Row>(conn)?;
    // Open stale-profile reports of each table (and warehouse type), with when filed.
    let mut by_table: HashMap<(String, WarehouseType), Vec<(i64, chrono::NaiveDateTime)>> =
        HashMap::new();
    for (id, table, warehouse, category, status, incident, merged, created_at) in rows {
        if let (Some(table), Some(warehouse)) = (table, warehouse)
            && category == Category::StaleProfile
            && open.contains(&status)
            && !incident
            && merged.is_none()
        {
            by_table
                .entry((table, warehouse))
                .or_default()
                .push((id, created_at));
        }
    }
    let mut found = Vec::new();
    for record in fresh {
        let key = (record.table.as_str().to_string(), record.warehouse_type);
        let Some(reports) = by_table.get(&key) else {
            continue;
        };
        // A profile that finished before the report was filed is what it complained of (a
        // backfilled old run resolves nothing); minutes of slack for clocks that differ
        // and timestamps sent to the second.
        let landed = record.finished_at.unwrap_or(record.started_at);
        let ids: Vec<i64> = reports
            .iter()
            .filter(|(_, created_at)| {
                *created_at <= landed + TimeDelta::minutes(CLOCK_SLACK_MINUTES)
            })
            .map(|(id, _)| *id)
            .collect();
        if !ids.is_empty() {
            found.push((*record, ids));
        }
    }
    Ok(found)
}

fn resolve_stale(
    conn: &mut DbConnection,
    desk: &Desk,
    fresh: &RunRecord,
    candidates: &[i64],
) -> Result<Vec<TicketNumber>, AppError> {
    let stale: Vec<Ticket> = tickets::table
        .filter(tickets::id.eq_any(candidates))
        .select(Ticket::as_select())
        .load(conn)?;
    if stale.is_empty() {
        return Ok(Vec::new());
    }
    let note = what_changed(conn, fresh)?;
    let who = Who {
        name: "inspect-desk freshness".into(),
        user_id: None,
    };
    let mut resolved = Vec::new();
    for ticket in stale {
        let changes = Changes {
            status: Some(Status::Resolved),
            reason: Some(note.clone()),
            ..Changes::default()
        };
        // A concurrent edit by an agent wins: that ticket stays as the agent left it.
        if triage::update(conn, desk, &who, ticket.id, ticket.version, &changes)?.is_ok() {
            resolved.push(ticket.number());
        }
    }
    Ok(resolved)
}

/// "fresh profile from run R (succeeded at T); since run P: …": columns added and removed
/// and semantic types changed against the previous successful run of the table.
fn what_changed(conn: &mut DbConnection, fresh: &RunRecord) -> Result<String, AppError> {
    let landed = fresh.finished_at.unwrap_or(fresh.started_at);
    let mut note = format!(
        "a fresh profile landed: run {} succeeded at {}",
        fresh.run_id,
        crate::clock::rfc3339(landed)
    );
    let previous: Option<Run> = runs::table
        .filter(runs::table_name.eq(fresh.table.as_str()))
        .filter(runs::warehouse_type.eq(fresh.warehouse_type))
        .filter(runs::status.eq(RunStatus::Succeeded))
        .filter(runs::started_at.lt(fresh.started_at))
        .filter(runs::run_id.ne(&fresh.run_id))
        .order(runs::started_at.desc())
        .select(Run::as_select())
        .first(conn)
        .optional()?;
    let Some(previous) = previous else {
        note.push_str("; no earlier successful profile to compare with");
        return Ok(note);
    };
    let before = previous.columns()?;
    let mut changes = Vec::new();
    match (previous.row_count, fresh.row_count) {
        (Some(a), Some(b)) if a != b => changes.push(format!("row count {a} → {b}")),
        (Some(a), Some(_)) => changes.push(format!("row count unchanged at {a}")),
        (None, Some(b)) => changes.push(format!("row count {b}")),
        _ => {}
    }
    changes.extend(column_changes(&before, fresh));
    if changes.is_empty() {
        note.push_str(&format!(
            "; against run {}: same columns and semantic types",
            previous.run_id
        ));
    } else {
        note.push_str(&format!(
            "; against run {}: {}",
            previous.run_id,
            changes.join("; ")
        ));
    }
    Ok(note)
}

fn column_changes(before: &[RunColumn], fresh: &RunRecord) -> Vec<String> {
    let type_of = |name: &str| {
        before
            .iter()
            .find(|c| c.column_name == name)
            .map(|c| c.semantic_type.clone())
    };
    let added: Vec<&str> = fresh
        .columns
        .iter()
        .filter(|c| type_of(&c.name).is_none())
        .map(|c| c.name.as_str())
        .collect();
    let removed: Vec<&str> = before
        .iter()
        .filter(|b| !fresh.columns.iter().any(|c| c.name == b.column_name))
        .map(|b| b.column_name.as_str())
        .collect();
    let retyped: Vec<String> = fresh
        .columns
        .iter()
        .filter_map(|c| {
            let old = type_of(&c.name)?;
            (old != c.semantic_type).then(|| {
                format!(
                    "{}: {} → {}",
                    c.name,
                    old.as_deref().unwrap_or("untyped"),
                    c.semantic_type.as_deref().unwrap_or("untyped")
                )
            })
        })
        .collect();
    let mut out = Vec::new();
    if !added.is_empty() {
        out.push(format!("columns added: {}", added.join(", ")));
    }
    if !removed.is_empty() {
        out.push(format!("columns removed: {}", removed.join(", ")));
    }
    if !retyped.is_empty() {
        out.push(format!("semantic types changed: {}", retyped.join(", ")));
    }
    out
}
