//! `signal_incidents`: incidents a threshold rule opened, one open row per signal.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{signal_incidents, tickets};
use crate::domain::warehouse::WarehouseType;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = signal_incidents)]
pub struct SignalIncident {
    pub id: i64,
    /// `rule:warehouse_type[:category]`: what "the same signal" means.
    pub signal_key: String,
    pub rule: String,
    /// The kind of rule: `failure_rate`, `critical_timeout`, `duration_regression`,
    /// `report_burst`.
    pub signal: String,
    pub warehouse_type: WarehouseType,
    /// The incident (parent) ticket.
    pub ticket_id: i64,
    pub opened_at: NaiveDateTime,
    /// The last evaluation that found the signal over its threshold.
    pub last_breach_at: NaiveDateTime,
    /// What the last breaching evaluation measured, in words.
    pub measurement: String,
    /// The first evaluation since the last breach that found the signal below threshold.
    pub clear_since: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = signal_incidents)]
// None binds NULL: one SQL text whatever is missing, so the statement is cached.
#[diesel(treat_none_as_default_value = false)]
pub struct NewSignalIncident<'a> {
    pub signal_key: &'a str,
    pub rule: &'a str,
    pub signal: &'a str,
    pub warehouse_type: &'a str,
    pub ticket_id: i64,
    pub opened_at: NaiveDateTime,
    pub last_breach_at: NaiveDateTime,
    pub measurement: &'a str,
}

impl SignalIncident {
    /// Record an opening; a second open row for the same signal fails on the unique index.
    pub fn insert(conn: &mut DbConnection, new: &NewSignalIncident<'_>) -> QueryResult<usize> {
        diesel::insert_into(signal_incidents::table)
            .values(new)
            .execute(conn)
    }

    /// Every signal incident still open, with whether its ticket is still open too (an
    /// agent may have resolved or closed it by hand).
    pub fn open_with_ticket_state(
        conn: &mut DbConnection,
        drill: i64,
    ) -> QueryResult<Vec<(SignalIncident, bool)>> {
        let open = crate::domain::status::Status::OPEN;
        let rows: Vec<(SignalIncident, crate::domain::status::Status)> = signal_incidents::table
            .inner_join(tickets::table)
            .filter(signal_incidents::resolved_at.is_null())
            .filter(tickets::drill.eq(drill))
            .order(signal_incidents::id.asc())
            .select((SignalIncident::as_select(), tickets::status))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(incident, status)| (incident, open.contains(&status)))
            .collect())
    }

    /// The open row of one signal, if any.
    pub fn open_for(conn: &mut DbConnection, key: &str) -> QueryResult<Option<SignalIncident>> {
        signal_incidents::table
            .filter(signal_incidents::signal_key.eq(key))
            .filter(signal_incidents::resolved_at.is_null())
            .select(SignalIncident::as_select())
            .first(conn)
            .optional()
    }

    /// The signal behind an incident ticket (the latest opening), if a rule opened it.
    pub fn for_tickets(
        conn: &mut DbConnection,
        ticket_ids: &[i64],
    ) -> QueryResult<Vec<SignalIncident>> {
        signal_incidents::table
            .filter(signal_incidents::ticket_id.eq_any(ticket_ids))
            .order(signal_incidents::id.asc())
            .select(SignalIncident::as_select())
            .load(conn)
    }

    pub fn still_breached(
        conn: &mut DbConnection,
        id: i64,
        at: NaiveDateTime,
        measurement: &str,
    ) -> QueryResult<usize> {
        diesel::update(signal_incidents::table.find(id))
            .set((
                signal_incidents::last_breach_at.eq(at),
                signal_incidents::measurement.eq(measurement),
                signal_incidents::clear_since.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)
    }

    /// The signal is below its threshold now: the cool-down starts (if not started).
    pub fn clearing(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(signal_incidents::table.find(id))
            .filter(signal_incidents::clear_since.is_null())
            .set(signal_incidents::clear_since.eq(at))
            .execute(conn)
    }

    pub fn resolve(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> QueryResult<usize> {
        diesel::update(signal_incidents::table.find(id))
            .filter(signal_incidents::resolved_at.is_null())
            .set(signal_incidents::resolved_at.eq(at))
            .execute(conn)
    }
}
