//! Use-cases, each one transaction.

pub mod accounts;
pub mod intake;
pub mod linking;
pub mod runs;
pub mod tokens;
pub mod workflow;
