//! Black-box tests: the real app on a random port, real SQLite files and (with
//! TEST_DATABASE_URL) real PostgreSQL databases, a real browser.

mod helpers;

mod access_matrix;
mod accounts;
mod api_tokens;
mod browser;
mod classifier_accuracy;
mod cli;
mod csrf;
mod drills;
mod escalation;
mod escalation_scope;
mod freshness;
mod import_runs;
mod incident_timing;
mod incident_triage;
mod incident_windows;
mod incidents;
mod intake_api;
mod intake_form;
mod layers;
mod lineage_api;
mod metrics;
mod migrations;
mod openlineage_client;
mod pg_restart;
mod private_pg;
mod queue;
mod redirects;
mod responses;
mod retention;
mod rollups;
mod run_bounds;
mod run_linking;
mod runs_api;
mod runs_pages;
mod schemathesis;
mod sign_in_throttle;
mod slow_smtp;
mod smtp;
mod sweep_sigkill;
mod telemetry_page;
mod triage;
mod venv;
