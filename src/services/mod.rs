//! Use-cases, each one transaction.

pub mod accounts;
pub mod incidents;
pub mod intake;
pub mod linking;
pub mod notify;
pub mod queue;
pub mod runs;
pub mod ticket_actions;
pub mod tokens;
pub mod triage;
