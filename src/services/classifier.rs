//! Learning from the agents: the model is trained at start on the repository's corpus and
//! every correction so far, and retrained in the background when corrections come. A
//! retrain replaces the model in use unless it does worse on the held-back slice
//! (`eval::held_back`) than the model in use did, each trained without that slice: more
//! than `SLICE_TOLERANCE` fewer of its reports right.

use std::sync::Arc;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::db::DbConnection;
use crate::db::models::classifier::{
    Correction, IN_USE, KEPT_PREVIOUS, ModelRecord, NewModelRecord, Seen,
};
use crate::domain::category::Category;
use crate::domain::classify::{Labelled, Model, corpus, eval};
use crate::error::AppError;
use crate::state::{Classifier, Current};

/// An agent's correction counts as much as this many corpus lines: it is a real report,
/// judged by someone who read it.
pub const CORRECTION_WEIGHT: f64 = 2.0;
/// A retrain is worse when it gets more than this many fewer of the held-back slice right:
/// one report flipping is within what a few new examples move by chance, and a phrasing
/// whose corrections all fall outside the slice must still be learned.
pub const SLICE_TOLERANCE: usize = 1;
/// Folds of the cross-validation shown on /admin.
pub const FOLDS: usize = 5;

/// The model to start with: the corpus alone when there are no corrections (trained once
/// per process), else the corpus and every correction. Reads only; the server records the
/// model in its first background pass (`retrain`).
pub fn start(conn: &mut DbConnection) -> Result<Classifier, AppError> {
    let seen = Correction::seen(conn)?;
    let examples = if seen.count == 0 {
        None
    } else {
        Some(examples(&Correction::all(conn)?, i64::MAX))
    };
    Ok(Classifier::new(Current::untrained(examples, seen)))
}

/// The corpus and the corrections up to id `newest`.
fn examples(corrections: &[Correction], newest: i64) -> Vec<Labelled> {
    let mut examples = corpus().to_vec();
    let taken = corrections.iter().filter(|c| c.id <= newest);
    examples.extend(taken.map(|c| c.labelled(CORRECTION_WEIGHT)));
    examples
}

/// What a background pass did.
#[derive(Debug, Clone, PartialEq)]
pub enum Retrained {
    /// The model in use was recorded, and its cross-validation measured.
    Recorded { version: i64 },
    /// A model trained with the new corrections is in use.
    Replaced { version: i64, corrections: i64 },
    /// The retrain did worse on the held-back slice; the model in use stays.
    KeptPrevious { candidate: f64, previous: f64 },
}

/// Retrain when corrections came since the model in use was trained, and record the
/// model in use when it is not yet. Slow (it trains several models): call it off the
/// request path. `None`: nothing to do.
pub fn retrain(
    conn: &mut DbConnection,
    classifier: &Classifier,
    now: NaiveDateTime,
) -> Result<Option<Retrained>, AppError> {
    let current = classifier.current();
    let seen = Correction::seen(conn)?;
    if seen != current.considered {
        return consider(conn, classifier, &current, seen, now).map(Some);
    }
    if current.record.is_none() {
        // The model in use was trained at start: on the corpus alone, or on it and the
        // corrections then.
        let corrections = match current.trained_on.count {
            0 => None,
            _ => Some(examples(&Correction::all(conn)?, current.trained_on.newest)),
        };
        let trained_on = corrections.as_deref();
        let record = record_in_use(conn, &current.model(), trained_on, seen, None, now)?;
        let version = record.id;
        classifier.replace(current.with(current.considered, Some(record)));
        return Ok(Some(Retrained::Recorded { version }));
    }
    Ok(None)
}

fn consider(
    conn: &mut DbConnection,
    classifier: &Classifier,
    current: &Current,
    seen: Seen,
    now: NaiveDateTime,
) -> Result<Retrained, AppError> {
    let corrections = Correction::all(conn)?;
    // What was read, which may be newer than what was counted a moment ago.
    let seen = Seen {
        count: corrections.len() as i64,
        newest: corrections.last().map_or(seen.newest, |c| c.id),
    };
    let all = examples(&corrections, i64::MAX);
    let before = examples(&corrections, current.trained_on.newest);
    let candidate = eval::slice_evaluation(&all, &all);
    let previous = eval::slice_evaluation(&before, &all);
    let model = Model::train(&all);
    let worse = candidate.correct() + SLICE_TOLERANCE < previous.correct();
    let (candidate, previous) = (candidate.accuracy(), previous.accuracy());
    if worse {
        ModelRecord::find_or_add(
            conn,
            &NewModelRecord {
                digest: &model.digest(),
                trained_at: now,
                corpus_examples: corpus().len() as i32,
                corrections: corrections.len() as i32,
                last_correction_id: seen.newest,
                slice_accuracy: Some(candidate),
                previous_slice_accuracy: Some(previous),
                outcome: KEPT_PREVIOUS,
            },
        )?;
        tracing::warn!(
            candidate,
            previous,
            corrections = corrections.len(),
            "classifier retrain did worse on the held-back slice; the model in use stays"
        );
        classifier.replace(current.with(seen, current.record.clone()));
        return Ok(Retrained::KeptPrevious {
            candidate,
            previous,
        });
    }
    let slice = Some((candidate, previous));
    let record = record_in_use(conn, &model, Some(&all), seen, slice, now)?;
    let version = record.id;
    tracing::info!(
        version,
        corrections = corrections.len(),
        slice_accuracy = candidate,
        "classifier retrained with the agents' corrections"
    );
    classifier.replace(Current::trained(Arc::new(model), seen, Some(record)));
    Ok(Retrained::Replaced {
        version,
        corrections: seen.count,
    })
}

/// The record of `model` as the one in use, with its cross-validated accuracy measured
/// once (desks that trained the same model share the record and its measurement).
/// `trained_on`: the examples behind `model`, `None` for the corpus alone.
fn record_in_use(
    conn: &mut DbConnection,
    model: &Model,
    trained_on: Option<&[Labelled]>,
    seen: Seen,
    slice: Option<(f64, f64)>,
    now: NaiveDateTime,
) -> Result<ModelRecord, AppError> {
    let mut record = ModelRecord::find_or_add(
        conn,
        &NewModelRecord {
            digest: &model.digest(),
            trained_at: now,
            corpus_examples: corpus().len() as i32,
            corrections: seen.count as i32,
            last_correction_id: seen.newest,
            slice_accuracy: slice.map(|s| s.0),
            previous_slice_accuracy: slice.map(|s| s.1),
            outcome: IN_USE,
        },
    )?;
    if record.outcome != IN_USE {
        ModelRecord::set_in_use(conn, record.id)?;
        record.outcome = IN_USE.into();
    }
    if record.cross_validation.is_none() {
        let measured = match trained_on {
            None => CrossValidation::of_corpus().clone(),
            Some(examples) => CrossValidation::measure(examples),
        };
        let json = serde_json::to_string(&measured).map_err(|e| {
            AppError::internal_msg(format!("cannot write the cross-validation: {e}"))
        })?;
        ModelRecord::set_cross_validation(conn, record.id, &json)?;
        record.cross_validation = Some(json);
    }
    Ok(record)
}

/// Cross-validated accuracy, overall and per category, as stored with a model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CrossValidation {
    pub folds: usize,
    pub examples: usize,
    pub accuracy: f64,
    /// Per category (by slug): the share of its reports the held-out models got right.
    pub per_category: Vec<(Category, f64)>,
}

impl CrossValidation {
    pub fn measure(examples: &[Labelled]) -> CrossValidation {
        let evaluation = eval::cross_validate(examples, FOLDS);
        CrossValidation {
            folds: FOLDS,
            examples: examples.len(),
            accuracy: evaluation.accuracy(),
            per_category: Category::ALL
                .into_iter()
                .filter_map(|c| evaluation.recall(c).map(|r| (c, r)))
                .collect(),
        }
    }

    /// The corpus alone, measured once per process.
    pub fn of_corpus() -> &'static CrossValidation {
        static MEASURED: std::sync::OnceLock<CrossValidation> = std::sync::OnceLock::new();
        MEASURED.get_or_init(|| CrossValidation::measure(corpus()))
    }

    pub fn parse(json: &str) -> Option<CrossValidation> {
        serde_json::from_str(json).ok()
    }
}
