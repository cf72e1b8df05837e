//! Classifier accuracy on the labelled development corpus (`../shared/corpus`).
//!
//! Run with `cargo test --test it classifier_accuracy -- --nocapture` to see the
//! per-category table and every miss with the reasons the classifier gave.

use std::collections::BTreeMap;
use std::path::PathBuf;

use inspect_desk::domain::category::{Category, ProblemKind};
use inspect_desk::domain::classify::{ClassifierInput, classify};
use inspect_desk::domain::run::RunEvidence;
use serde::Deserialize;

/// The floor the classifier must keep on the development set.
const MIN_ACCURACY: f64 = 0.90;

/// One corpus line: the report form's fields plus the senior engineer's label.
#[derive(Deserialize)]
struct LabelledReport {
    kind: String,
    column: Option<String>,
    expected_type: Option<String>,
    detected_type: Option<String>,
    description: String,
    label: String,
}

#[derive(Default)]
struct Score {
    correct: usize,
    total: usize,
}

impl Score {
    fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

fn corpus_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/reports-dev.jsonl")
}

/// The corpus text, or `None` when it is absent outside CI (the test then skips loudly).
fn read_corpus() -> Option<String> {
    let path = corpus_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            // CI must always have the corpus; a silent skip there would hide regressions.
            if std::env::var_os("CI").is_some() {
                panic!("corpus not found at {} and CI is set", path.display());
            }
            println!("SKIPPED: corpus not found at {}", path.display());
            eprintln!("SKIPPED: corpus not found at {}", path.display());
            None
        }
        Err(error) => panic!("cannot read corpus at {}: {error}", path.display()),
    }
}

#[test]
fn classifier_accuracy_on_dev_corpus_meets_floor() {
    let Some(corpus) = read_corpus() else { return };
    let evidence = RunEvidence::default();
    let mut per_category: BTreeMap<Category, Score> = BTreeMap::new();
    let mut misses = Vec::new();

    for (index, line) in corpus
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let line_number = index + 1;
        let report: LabelledReport = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("corpus line {line_number} is not a report: {e}"));
        let label = Category::parse(&report.label)
            .unwrap_or_else(|e| panic!("corpus line {line_number}: {e}"));
        let kind = ProblemKind::parse(&report.kind)
            .unwrap_or_else(|e| panic!("corpus line {line_number}: {e}"));
        let result = classify(&ClassifierInput {
            kind,
            description: &report.description,
            column: report.column.as_deref(),
            detected_type: report.detected_type.as_deref(),
            expected_type: report.expected_type.as_deref(),
            evidence: &evidence,
        });
        let score = per_category.entry(label).or_default();
        score.total += 1;
        if result.category == label {
            score.correct += 1;
        } else {
            misses.push((line_number, label, result, report.description));
        }
    }

    let correct: usize = per_category.values().map(|s| s.correct).sum();
    let total: usize = per_category.values().map(|s| s.total).sum();
    assert!(
        total > 0,
        "corpus at {} has no reports",
        corpus_path().display()
    );
    let overall = correct as f64 / total as f64;

    println!("classifier accuracy on {}", corpus_path().display());
    for (category, score) in &per_category {
        let (right, of, share) = (score.correct, score.total, score.accuracy());
        println!("  {:<18} {right:>3}/{of:<3} {share:.2}", category.as_str());
    }
    println!("  {:<18} {correct:>3}/{total:<3} {overall:.2}", "overall");
    for (line_number, label, result, description) in &misses {
        println!(
            "MISS line {line_number}: expected {label}, got {}",
            result.category
        );
        println!("  confidence {:.2}: {description}", result.confidence);
        for reason in &result.reasons {
            println!("    - {reason}");
        }
    }

    assert!(
        overall >= MIN_ACCURACY,
        "overall accuracy {overall:.2} is below {MIN_ACCURACY:.2} ({} misses, see output)",
        misses.len()
    );
}
