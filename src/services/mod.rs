//! Use-cases, each one transaction.

pub mod accounts;
pub mod bulk;
pub mod delivery;
pub mod drills;
pub mod escalation;
pub mod freshness;
pub mod gauges;
pub mod import_runs;
pub mod incident_list;
pub mod incidents;
pub mod intake;
pub mod lineage;
pub mod linking;
pub mod monitor;
pub mod people;
pub mod queue;
pub mod retention;
pub mod rollups;
pub mod run_list;
pub mod run_telemetry;
pub mod runs;
pub mod suggestions;
pub mod ticket_actions;
pub mod ticket_changes;
pub mod tokens;
pub mod triage;
