//! Pure rules of the desk: no web framework, no database.

pub mod calendar;
pub mod category;
pub mod classify;
pub mod drill;
pub mod email;
pub mod escalation;
pub mod lineage;
pub mod local_path;
pub mod model_check;
pub mod outbox;
pub mod report;
pub mod role;
pub mod routing;
pub mod run;
pub mod run_record;
pub mod run_stats;
pub mod secret;
pub mod severity;
pub mod signals;
pub mod sla;
pub mod status;
pub mod support_model;
pub mod table;
pub mod ticket_number;
pub mod warehouse;
pub mod window;
