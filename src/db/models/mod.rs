//! One file per table: the row, the new row, and the queries that belong to it.

pub mod api_token;
pub mod attachment;
pub mod audit;
pub mod classifier;
pub mod drill;
pub mod escalation;
pub mod event;
pub mod inbound_mail;
pub mod lineage_event;
pub mod mail_suppression;
pub mod outbox;
pub mod run;
pub mod saved_view;
pub mod session;
pub mod sign_in_throttle;
pub mod signal_incident;
pub mod ticket;
pub mod ticket_run;
pub mod user;
