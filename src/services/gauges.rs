//! Facts about the database that `/metrics` reports as gauges, read at each scrape:
//! tickets by category, severity and status; outbox messages by status.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::models::outbox::OutboxMessage;
use crate::db::schema::tickets;
use crate::telemetry::metrics::{Sample, gauge_text};

/// The counts, as read.
#[derive(Debug, Default)]
pub struct Gauges {
    /// (category, severity, status, count); only combinations that occur.
    pub tickets: Vec<(String, String, String, i64)>,
    /// (status, count).
    pub outbox: Vec<(String, i64)>,
}

pub fn read(conn: &mut DbConnection) -> QueryResult<Gauges> {
    let tickets = tickets::table
        .filter(tickets::drill.eq(crate::domain::drill::LIVE))
        .group_by((tickets::category, tickets::severity, tickets::status))
        .select((
            tickets::category,
            tickets::severity,
            tickets::status,
            diesel::dsl::count_star(),
        ))
        .order((tickets::category, tickets::severity, tickets::status))
        .load(conn)?;
    Ok(Gauges {
        tickets,
        outbox: OutboxMessage::counts_by_status(conn)?,
    })
}

impl Gauges {
    /// The Prometheus text format.
    pub fn to_text(&self) -> String {
        let tickets: Vec<Sample> = self
            .tickets
            .iter()
            .map(|(category, severity, status, n)| {
                let labels = vec![
                    ("category", category.clone()),
                    ("severity", severity.clone()),
                    ("status", status.clone()),
                ];
                (labels, *n as f64)
            })
            .collect();
        let outbox: Vec<Sample> = self
            .outbox
            .iter()
            .map(|(status, n)| (vec![("status", status.clone())], *n as f64))
            .collect();
        let mut text = gauge_text(
            "desk_tickets",
            "Tickets by category, severity and status",
            &tickets,
        );
        text.push_str(&gauge_text(
            "desk_outbox_messages",
            "Outbox messages by delivery status",
            &outbox,
        ));
        text
    }
}
