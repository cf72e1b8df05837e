//! Use-cases, each one transaction.

pub mod intake;
pub mod linking;
pub mod runs;
pub mod workflow;
