//! Run retention: run records older than `DESK_RUN_RETENTION` go, with their lineage
//! events, so the database stops growing with the profiler's history (launch risk R20).
//!
//! What stays whatever its age: runs linked to a ticket (a report's evidence, shown on its
//! page), each table's latest run and its latest successful run (what a new report about
//! the table links to, and what "last success" means on the run pages). The hourly
//! roll-ups are not touched, so `/telemetry` keeps its figures for pruned hours; the
//! shortest retention allowed covers its 7-day window and every threshold rule's reach.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{lineage_events, runs, table_health, ticket_runs};
use crate::domain::drill::LIVE;
use crate::domain::signals::Condition;
use crate::domain::support_model::SupportModel;
use crate::domain::warehouse::WarehouseType;
use crate::error::AppError;
use crate::state::Desk;

/// The shortest retention: /telemetry's longest window (7 days) and a day to spare for
/// its first, partial hour and for runs that report late.
pub const SHORTEST: TimeDelta = TimeDelta::days(8);

/// Runs looked at, and deleted, per transaction: short enough that ingest waits at most a
/// few milliseconds for the write lock.
const CHUNK: i64 = 1_000;

/// What a pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub runs: usize,
    pub lineage_events: usize,
    /// Old runs kept: linked to a ticket, or a table's latest (successful) run.
    pub kept: usize,
}

/// A retention must reach back further than any threshold rule reads runs: a rule whose
/// window (with a duration rule's baseline before it) reaches past it would judge pruned
/// hours as quiet ones.
pub fn check(retention: TimeDelta, model: &SupportModel) -> Result<(), String> {
    for rule in &model.signals.rules {
        let reach = match &rule.condition {
            Condition::DurationRegression {
                window, baseline, ..
            } => *window + *baseline,
            other => other.reach(),
        };
        if reach >= retention {
            return Err(format!(
                "run retention {} is shorter than threshold rule '{}' reads back ({})",
                describe(retention),
                rule.name,
                describe(reach)
            ));
        }
    }
    Ok(())
}

fn describe(d: TimeDelta) -> String {
    match d.to_std() {
        Ok(std) => humantime::format_duration(std).to_string(),
        Err(_) => format!("{} s", d.num_seconds()),
    }
}

/// Delete the live runs started before `cutoff`, and their lineage events, except those
/// kept (see the module). A chunk at a time, each in its own write transaction; a run
/// linked to a ticket meanwhile is looked up inside the transaction that would delete it.
pub fn prune(desk: &Desk, cutoff: NaiveDateTime) -> Result<Pruned, AppError> {
    let mut conn = desk.pool.get()?;
    let mut pruned = Pruned::default();
    for warehouse in WarehouseType::ALL {
        // Keyset over (started_at, run_id): kept runs are not read twice.
        let mut after: Option<(NaiveDateTime, String)> = None;
        loop {
            let mut q = runs::table
                .filter(runs::warehouse_type.eq(warehouse))
                .filter(runs::started_at.lt(cutoff))
                .filter(runs::drill.eq(LIVE))
                .into_boxed();
            if let Some((at, id)) = &after {
                // The plain bound lets the index start at the last chunk's end; the OR
                // alone would read every kept run again.
                q = q.filter(runs::started_at.ge(*at)).filter(
                    runs::started_at
                        .gt(*at)
                        .or(runs::started_at.eq(*at).and(runs::run_id.gt(id.clone()))),
                );
            }
            let chunk: Vec<(String, String, NaiveDateTime)> = q
                .order((runs::started_at.asc(), runs::run_id.asc()))
                .select((runs::run_id, runs::table_name, runs::started_at))
                .limit(CHUNK)
                .load(&mut conn)?;
            let Some((last_id, _, last_at)) = chunk.last() else {
                break;
            };
            after = Some((*last_at, last_id.clone()));
            let (runs_gone, events_gone, kept) = crate::db::write_transaction(&mut conn, |conn| {
                prune_chunk(conn, warehouse, &chunk, cutoff)
            })?;
            pruned.runs += runs_gone;
            pruned.lineage_events += events_gone;
            pruned.kept += kept;
            if (chunk.len() as i64) < CHUNK {
                break;
            }
        }
    }
    Ok(pruned)
}

/// One chunk of one warehouse type's old runs: (runs deleted, lineage events deleted,
/// runs kept).
fn prune_chunk(
    conn: &mut DbConnection,
    warehouse: WarehouseType,
    chunk: &[(String, String, NaiveDateTime)],
    cutoff: NaiveDateTime,
) -> Result<(usize, usize, usize), AppError> {
    let ids: Vec<&str> = chunk.iter().map(|(id, _, _)| id.as_str()).collect();
    let linked: HashSet<String> = ticket_runs::table
        .filter(ticket_runs::run_id.eq_any(&ids))
        .select(ticket_runs::run_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let mut tables: Vec<&str> = chunk.iter().map(|(_, t, _)| t.as_str()).collect();
    tables.sort_unstable();
    tables.dedup();
    // Each table's latest run and latest success, by start (as table_health keeps them).
    let latest: HashMap<String, (NaiveDateTime, Option<NaiveDateTime>)> = table_health::table
        .filter(table_health::warehouse_type.eq(warehouse))
        .filter(table_health::table_name.eq_any(&tables))
        .select((
            table_health::table_name,
            table_health::last_run_at,
            table_health::last_success_started_at,
        ))
        .load::<(String, NaiveDateTime, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .map(|(table, last, success)| (table, (last, success)))
        .collect();
    let doomed: Vec<&str> = chunk
        .iter()
        .filter(|(id, table, started_at)| {
            let latest_of_table = latest.get(table).is_some_and(|(last, success)| {
                *last == *started_at || *success == Some(*started_at)
            });
            !linked.contains(id) && !latest_of_table
        })
        .map(|(id, _, _)| id.as_str())
        .collect();
    if doomed.is_empty() {
        return Ok((0, 0, chunk.len()));
    }
    let events =
        diesel::delete(lineage_events::table.filter(lineage_events::run_id.eq_any(&doomed)))
            .execute(conn)?;
    // A run replaced since the chunk was read may have started later: it stays.
    let gone = diesel::delete(
        runs::table
            .filter(runs::run_id.eq_any(&doomed))
            .filter(runs::started_at.lt(cutoff)),
    )
    .execute(conn)?;
    Ok((gone, events, chunk.len() - gone))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../config/support-model.toml");

    #[test]
    fn a_retention_must_outlast_every_rules_reach() {
        let model = SupportModel::from_toml(SHIPPED).unwrap();
        assert_eq!(check(SHORTEST, &model), Ok(()));
        let long_baseline = SHIPPED.replace("baseline = \"24h\"", "baseline = \"9days\"");
        assert_ne!(long_baseline, SHIPPED);
        let model = SupportModel::from_toml(&long_baseline).unwrap();
        let err = check(SHORTEST, &model).unwrap_err();
        assert!(
            err.contains("'slow-profiling'") && err.contains("9days 1h"),
            "{err}"
        );
        assert_eq!(check(TimeDelta::days(30), &model), Ok(()));
    }
}
