//! How well a model does on labelled reports: accuracy, each category's precision and
//! recall, the confusion matrix and every miss; K-fold cross-validation; the held-back
//! slice a retrained model must not do worse on.

use super::model::{CATEGORIES, Model, slot};
use super::{Classification, Labelled, classify};
use crate::domain::category::Category;
use crate::domain::run::RunEvidence;

/// One report the model got wrong.
#[derive(Debug, Clone)]
pub struct Miss {
    /// Its place in the list evaluated (0-based).
    pub index: usize,
    pub expected: Category,
    pub got: Classification,
    pub description: String,
}

/// The outcome of classifying labelled reports.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// `confusion[expected][got]`, in the order of `Category::ALL`.
    pub confusion: [[usize; CATEGORIES]; CATEGORIES],
    pub misses: Vec<Miss>,
}

impl Evaluation {
    pub fn total(&self) -> usize {
        self.confusion.iter().flatten().sum()
    }

    pub fn correct(&self) -> usize {
        (0..CATEGORIES).map(|c| self.confusion[c][c]).sum()
    }

    /// Share right, 0 when there was nothing to classify.
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct(), self.total())
    }

    /// Of the reports given `category`, the share that are it; `None` when none were.
    pub fn precision(&self, category: Category) -> Option<f64> {
        let c = slot(category);
        let given: usize = (0..CATEGORIES).map(|e| self.confusion[e][c]).sum();
        (given > 0).then(|| ratio(self.confusion[c][c], given))
    }

    /// Of the reports that are `category`, the share given it (the category's accuracy);
    /// `None` when there were none.
    pub fn recall(&self, category: Category) -> Option<f64> {
        let c = slot(category);
        let actual: usize = self.confusion[c].iter().sum();
        (actual > 0).then(|| ratio(self.confusion[c][c], actual))
    }

    /// How many reports are `category`.
    pub fn support(&self, category: Category) -> usize {
        self.confusion[slot(category)].iter().sum()
    }

    fn add(&mut self, index: usize, example: &Labelled, got: Classification) {
        self.confusion[slot(example.label)][slot(got.category)] += 1;
        if got.category != example.label {
            self.misses.push(Miss {
                index,
                expected: example.label,
                got,
                description: example.description.clone(),
            });
        }
    }

    fn merge(&mut self, other: Evaluation) {
        for (row, other_row) in self.confusion.iter_mut().zip(other.confusion) {
            for (cell, other_cell) in row.iter_mut().zip(other_row) {
                *cell += other_cell;
            }
        }
        self.misses.extend(other.misses);
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Classify each of `examples` with `model` (without run evidence) and tally the outcome.
pub fn evaluate(model: &Model, examples: &[Labelled]) -> Evaluation {
    evaluate_indexed(model, examples.iter().enumerate())
}

fn evaluate_indexed<'a>(
    model: &Model,
    examples: impl Iterator<Item = (usize, &'a Labelled)>,
) -> Evaluation {
    let evidence = RunEvidence::default();
    let mut evaluation = Evaluation::default();
    for (index, example) in examples {
        let got = classify(&example.input(&evidence), model);
        evaluation.add(index, example, got);
    }
    evaluation
}

/// K-fold cross-validation: each report is classified by a model trained on the other
/// folds. Folds are fixed by each report's text, so a run is repeatable.
pub fn cross_validate(examples: &[Labelled], folds: usize) -> Evaluation {
    let folds = folds.max(2) as u64;
    let mut total = Evaluation::default();
    for fold in 0..folds {
        let in_fold = |example: &Labelled| example.key() % folds == fold;
        let training: Vec<Labelled> = examples.iter().filter(|e| !in_fold(e)).cloned().collect();
        let model = Model::train(&training);
        let held = examples.iter().enumerate().filter(|(_, e)| in_fold(e));
        total.merge(evaluate_indexed(&model, held));
    }
    total.misses.sort_by_key(|m| m.index);
    total
}

/// One report in `SLICE` is held back from training when a retrained model is judged.
const SLICE: u64 = 10;

/// Whether `example` is in the held-back slice.
pub fn held_back(example: &Labelled) -> bool {
    example.key().is_multiple_of(SLICE)
}

/// How a model trained on the rest of `trained_on` does on the held-back slice of
/// `judged_on`: how a set of examples generalises to reports it has not seen.
pub fn slice_evaluation(trained_on: &[Labelled], judged_on: &[Labelled]) -> Evaluation {
    let training: Vec<Labelled> = trained_on
        .iter()
        .filter(|e| !held_back(e))
        .cloned()
        .collect();
    let slice: Vec<Labelled> = judged_on.iter().filter(|e| held_back(e)).cloned().collect();
    evaluate(&Model::train(&training), &slice)
}
