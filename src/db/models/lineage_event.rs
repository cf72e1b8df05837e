//! `lineage_events`: the OpenLineage events received for each run, kept so the run
//! record can be folded again from all of them when another arrives.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::DbConnection;
use crate::db::schema::lineage_events;
use crate::domain::lineage::{Dataset, EventType, LineageEvent};
use crate::domain::run_record::ColumnType;
use crate::domain::table::TableName;
use crate::domain::warehouse::WarehouseType;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = lineage_events)]
// None binds NULL: one SQL text whatever is missing, so the statement is cached.
#[diesel(treat_none_as_default_value = false)]
pub struct LineageEventRow {
    pub run_id: String,
    pub event_type: EventType,
    pub event_time: NaiveDateTime,
    pub warehouse_type: Option<WarehouseType>,
    pub table_name: Option<String>,
    pub error: Option<String>,
    pub schema_fields: Option<String>,
    pub semantic_types: Option<String>,
    pub received_at: NaiveDateTime,
    pub row_count: Option<i64>,
}

/// A typed column as stored in `semantic_types`.
#[derive(Debug, Serialize, Deserialize)]
struct StoredColumn {
    name: String,
    semantic_type: Option<String>,
    confidence: Option<f64>,
}

impl LineageEventRow {
    pub fn new(event: &LineageEvent, received_at: NaiveDateTime) -> Self {
        let semantic = event.semantic_types.as_ref().map(|columns| {
            columns
                .iter()
                .map(|c| StoredColumn {
                    name: c.name.clone(),
                    semantic_type: c.semantic_type.clone(),
                    confidence: c.confidence,
                })
                .collect::<Vec<_>>()
        });
        LineageEventRow {
            run_id: event.run_id.clone(),
            event_type: event.event_type,
            event_time: event.event_time,
            warehouse_type: event.dataset.as_ref().map(|d| d.warehouse_type),
            table_name: event.dataset.as_ref().map(|d| d.table.as_str().to_string()),
            error: event.error.clone(),
            // Serialising strings and plain structs cannot fail.
            schema_fields: event
                .schema
                .as_ref()
                .map(|s| serde_json::to_string(s).unwrap_or_default()),
            semantic_types: semantic.map(|s| serde_json::to_string(&s).unwrap_or_default()),
            received_at,
            row_count: event.row_count,
        }
    }

    /// The event again, or a message saying which stored value no longer parses.
    pub fn to_event(&self) -> Result<LineageEvent, String> {
        let context = |e: String| format!("lineage event {} {}: {e}", self.run_id, self.event_type);
        let dataset = match (&self.warehouse_type, &self.table_name) {
            (Some(warehouse_type), Some(t)) => {
                let warehouse_type = *warehouse_type;
                let table = TableName::parse(t, Some(warehouse_type)).map_err(context)?;
                Some(Dataset {
                    warehouse_type,
                    table,
                })
            }
            _ => None,
        };
        let schema = self
            .schema_fields
            .as_deref()
            .map(serde_json::from_str::<Vec<String>>)
            .transpose()
            .map_err(|e| context(e.to_string()))?;
        let semantic_types = self
            .semantic_types
            .as_deref()
            .map(serde_json::from_str::<Vec<StoredColumn>>)
            .transpose()
            .map_err(|e| context(e.to_string()))?
            .map(|columns| {
                columns
                    .into_iter()
                    .map(|c| ColumnType {
                        name: c.name,
                        semantic_type: c.semantic_type,
                        confidence: c.confidence,
                    })
                    .collect()
            });
        Ok(LineageEvent {
            run_id: self.run_id.clone(),
            event_type: self.event_type,
            event_time: self.event_time,
            dataset,
            error: self.error.clone(),
            schema,
            semantic_types,
            row_count: self.row_count,
        })
    }

    /// Store an event; the same run, type and time sent again replaces the stored one.
    /// True when the event was new. Call inside a transaction.
    pub fn replace(conn: &mut DbConnection, row: &LineageEventRow) -> QueryResult<bool> {
        let key = (&row.run_id, &row.event_type, row.event_time);
        let replaced = diesel::delete(lineage_events::table.find(key)).execute(conn)?;
        diesel::insert_into(lineage_events::table)
            .values(row)
            .execute(conn)?;
        Ok(replaced == 0)
    }

    pub fn for_run(conn: &mut DbConnection, run_id: &str) -> QueryResult<Vec<LineageEventRow>> {
        lineage_events::table
            .filter(lineage_events::run_id.eq(run_id))
            .order((
                lineage_events::event_time.asc(),
                lineage_events::event_type.asc(),
            ))
            .select(LineageEventRow::as_select())
            .load(conn)
    }

    /// Hold the run until the transaction ends, so two events of one run arriving at once
    /// are folded one after the other. SQLite write transactions are already serial.
    pub fn lock_run(conn: &mut DbConnection, run_id: &str) -> QueryResult<()> {
        match conn {
            DbConnection::Sqlite(_) => Ok(()),
            DbConnection::Postgres(pg) => {
                diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind::<diesel::sql_types::Text, _>(run_id)
                    .execute(pg)
                    .map(|_| ())
            }
        }
    }
}
