//! `classifier_corrections`: agents' reclassifications, kept as labelled examples;
//! `classifier_models`: each model the desk trained and how it did.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::models::ticket::Ticket;
use crate::db::schema::{classifier_corrections, classifier_models};
use crate::domain::category::{Category, ProblemKind};
use crate::domain::classify::Labelled;

/// One agent's reclassification of a report.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = classifier_corrections)]
pub struct Correction {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: ProblemKind,
    pub description: String,
    pub column_name: Option<String>,
    pub detected_type: Option<String>,
    pub expected_type: Option<String>,
    pub from_category: Category,
    pub label: Category,
    pub reason: String,
    pub corrected_by: String,
    pub created_at: NaiveDateTime,
}

/// How many corrections there are and the newest id: which set a model was trained on.
/// Both, since on PostgreSQL an earlier id can commit after a later one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    pub count: i64,
    pub newest: i64,
}

impl Correction {
    /// Keep `ticket` (as the analyst filed it), moved from `from` to its new category, as a
    /// labelled example.
    pub fn record(
        conn: &mut DbConnection,
        ticket: &Ticket,
        from: Category,
        reason: &str,
        corrected_by: &str,
        now: NaiveDateTime,
    ) -> QueryResult<()> {
        diesel::insert_into(classifier_corrections::table)
            .values((
                classifier_corrections::ticket_id.eq(ticket.id),
                classifier_corrections::kind.eq(ticket.kind),
                classifier_corrections::description.eq(&ticket.description),
                classifier_corrections::column_name.eq(&ticket.column_name),
                classifier_corrections::detected_type.eq(&ticket.detected_type),
                classifier_corrections::expected_type.eq(&ticket.expected_type),
                classifier_corrections::from_category.eq(from),
                classifier_corrections::label.eq(ticket.category),
                classifier_corrections::reason.eq(reason),
                classifier_corrections::corrected_by.eq(corrected_by),
                classifier_corrections::created_at.eq(now),
            ))
            .execute(conn)
            .map(drop)
    }

    pub fn seen(conn: &mut DbConnection) -> QueryResult<Seen> {
        let (count, newest) = classifier_corrections::table
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::max(classifier_corrections::id),
            ))
            .first::<(i64, Option<i64>)>(conn)?;
        Ok(Seen {
            count,
            newest: newest.unwrap_or(0),
        })
    }

    /// Every correction, oldest first.
    pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Correction>> {
        classifier_corrections::table
            .order(classifier_corrections::id)
            .select(Correction::as_select())
            .load(conn)
    }

    /// As a labelled example counting `weight` times a corpus line.
    pub fn labelled(&self, weight: f64) -> Labelled {
        Labelled {
            kind: self.kind,
            description: self.description.clone(),
            column: self.column_name.clone(),
            detected_type: self.detected_type.clone(),
            expected_type: self.expected_type.clone(),
            label: self.label,
            weight,
        }
    }
}

/// A trained model's record.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = classifier_models)]
pub struct ModelRecord {
    /// The model's version.
    pub id: i64,
    pub digest: String,
    pub trained_at: NaiveDateTime,
    pub corpus_examples: i32,
    pub corrections: i32,
    pub last_correction_id: i64,
    pub slice_accuracy: Option<f64>,
    pub previous_slice_accuracy: Option<f64>,
    /// JSON: overall and per-category cross-validated accuracy.
    pub cross_validation: Option<String>,
    /// `in_use` or `kept_previous`.
    pub outcome: String,
}

/// A model's record before it has a version.
pub struct NewModelRecord<'a> {
    pub digest: &'a str,
    pub trained_at: NaiveDateTime,
    pub corpus_examples: i32,
    pub corrections: i32,
    pub last_correction_id: i64,
    pub slice_accuracy: Option<f64>,
    pub previous_slice_accuracy: Option<f64>,
    pub outcome: &'a str,
}

impl ModelRecord {
    /// The record of the model with `digest`, made if it is new: desks that trained the
    /// same weights share it.
    pub fn find_or_add(
        conn: &mut DbConnection,
        new: &NewModelRecord<'_>,
    ) -> QueryResult<ModelRecord> {
        let insert = diesel::insert_into(classifier_models::table)
            .values((
                classifier_models::digest.eq(new.digest),
                classifier_models::trained_at.eq(new.trained_at),
                classifier_models::corpus_examples.eq(new.corpus_examples),
                classifier_models::corrections.eq(new.corrections),
                classifier_models::last_correction_id.eq(new.last_correction_id),
                classifier_models::slice_accuracy.eq(new.slice_accuracy),
                classifier_models::previous_slice_accuracy.eq(new.previous_slice_accuracy),
                classifier_models::outcome.eq(new.outcome),
            ))
            .on_conflict(classifier_models::digest)
            .do_nothing();
        // ON CONFLICT goes through each backend's own connection, not the multi-backend one.
        match conn {
            DbConnection::Sqlite(c) => insert.execute(c)?,
            DbConnection::Postgres(c) => insert.execute(c)?,
        };
        classifier_models::table
            .filter(classifier_models::digest.eq(new.digest))
            .select(ModelRecord::as_select())
            .first(conn)
    }

    /// Record the cross-validated accuracy of the model with `id`.
    pub fn set_cross_validation(conn: &mut DbConnection, id: i64, json: &str) -> QueryResult<()> {
        diesel::update(classifier_models::table.find(id))
            .set(classifier_models::cross_validation.eq(json))
            .execute(conn)
            .map(drop)
    }

    /// Mark the model with `id` as the one in use (a retrain that was kept out once may
    /// come back with more corrections).
    pub fn set_in_use(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
        diesel::update(classifier_models::table.find(id))
            .set(classifier_models::outcome.eq(IN_USE))
            .execute(conn)
            .map(drop)
    }

    /// The latest retrain that was kept out, if it came after the model with `version`.
    pub fn latest_kept_out(
        conn: &mut DbConnection,
        version: i64,
    ) -> QueryResult<Option<ModelRecord>> {
        classifier_models::table
            .filter(classifier_models::outcome.eq(KEPT_PREVIOUS))
            .filter(classifier_models::id.gt(version))
            .order(classifier_models::id.desc())
            .select(ModelRecord::as_select())
            .first(conn)
            .optional()
    }
}

pub const IN_USE: &str = "in_use";
pub const KEPT_PREVIOUS: &str = "kept_previous";
