//! Who hears of what happens to a ticket: its reporter, and the reporters of the
//! tickets merged into it, who were told that updates on the problem would reach them.

use std::collections::HashSet;

use crate::db::DbConnection;
use crate::db::models::ticket::Ticket;

/// The reporters of `tickets` and of every ticket merged into them (and into those),
/// each address once, nearest first. Each comes as the ticket their email is about: their
/// own, whose number, thread and tracking link they know.
pub fn reporters(
    conn: &mut DbConnection,
    tickets: Vec<Ticket>,
) -> diesel::QueryResult<Vec<Ticket>> {
    let mut addresses = HashSet::new();
    let mut visited = HashSet::new();
    let mut audience = Vec::new();
    let mut level = tickets;
    while !level.is_empty() {
        let ids: Vec<i64> = level
            .iter()
            .map(|t| t.id)
            .filter(|id| visited.insert(*id))
            .collect();
        for ticket in level {
            if ids.contains(&ticket.id) && addresses.insert(ticket.reporter_email.to_lowercase()) {
                audience.push(ticket);
            }
        }
        level = if ids.is_empty() {
            Vec::new()
        } else {
            Ticket::merged_into_any(conn, &ids)?
        };
    }
    Ok(audience)
}
