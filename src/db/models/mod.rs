//! One file per table: the row, the new row, and the queries that belong to it.

pub mod event;
pub mod outbox;
pub mod run;
pub mod ticket;
pub mod ticket_run;
