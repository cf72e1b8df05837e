//! Classifier accuracy on the repository's labelled corpus (`config/classifier/corpus.jsonl`),
//! judged by cross-validation: each report is classified by a model that never saw it. A
//! floor on that share cannot be met by adding a keyword per miss.
//!
//! Run with `cargo test --test it classifier_accuracy -- --nocapture` to see the
//! per-category table and every miss with the reasons the classifier gave; or
//! `inspect-desk classify eval config/classifier/corpus.jsonl --cross-validate 5`.

use std::io::Write;
use std::path::PathBuf;

use inspect_desk::domain::category::Category;
use inspect_desk::domain::classify::Labelled;
use inspect_desk::domain::classify::eval::cross_validate;

use crate::helpers::manifest_dir;

/// Floors on 5-fold cross-validated accuracy, overall and for each category.
const MIN_ACCURACY: f64 = 0.94;
const MIN_CATEGORY_ACCURACY: f64 = 0.90;
const MIN_REPORTS: usize = 300;

fn corpus_path() -> PathBuf {
    manifest_dir().join("config/classifier/corpus.jsonl")
}

fn corpus() -> Vec<Labelled> {
    let path = corpus_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    Labelled::parse_jsonl(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn cross_validated_accuracy_on_the_corpus_meets_the_floor() {
    let corpus = corpus();
    assert!(
        corpus.len() >= MIN_REPORTS,
        "the corpus has {} reports",
        corpus.len()
    );
    let evaluation = cross_validate(&corpus, 5);
    println!("5-fold cross-validation on {}", corpus_path().display());
    for category in Category::ALL {
        println!(
            "  {:<18} recall {:.3} precision {:.3} ({} reports)",
            category.as_str(),
            evaluation.recall(category).unwrap_or_default(),
            evaluation.precision(category).unwrap_or_default(),
            evaluation.support(category)
        );
    }
    println!("  overall {:.3}", evaluation.accuracy());
    for miss in &evaluation.misses {
        println!(
            "MISS line {}: expected {}, got {}: {}",
            miss.index + 1,
            miss.expected,
            miss.got.category,
            miss.description
        );
        for reason in &miss.got.reasons {
            println!("    - {reason}");
        }
    }
    assert!(
        evaluation.accuracy() >= MIN_ACCURACY,
        "cross-validated accuracy {:.3} is below {MIN_ACCURACY}",
        evaluation.accuracy()
    );
    for category in Category::ALL {
        let recall = evaluation.recall(category).unwrap_or_default();
        assert!(
            recall >= MIN_CATEGORY_ACCURACY,
            "{category}: cross-validated accuracy {recall:.3} is below {MIN_CATEGORY_ACCURACY}"
        );
    }
}

#[test]
fn every_category_is_written_many_ways() {
    let corpus = corpus();
    for category in Category::ALL {
        let count = corpus.iter().filter(|r| r.label == category).count();
        assert!(count >= 60, "{category} has only {count} labelled reports");
    }
    let mut descriptions: Vec<&str> = corpus.iter().map(|r| r.description.as_str()).collect();
    descriptions.sort_unstable();
    let before = descriptions.len();
    descriptions.dedup();
    assert_eq!(before, descriptions.len(), "the corpus repeats a report");
}

/// `classify eval` prints accuracy, precision and recall, the confusion matrix and each
/// miss with its reasons; a bad line is refused with its number.
#[test]
fn classify_eval_prints_the_whole_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reports.jsonl");
    let mut out = std::fs::File::create(&file).unwrap();
    let lines = [
        (
            "The PDF export of the inspector report is blank.",
            "failed_report",
        ),
        (
            "Profiling job fails with 'permission denied for schema analytics'.",
            "profiling_failure",
        ),
        // Labelled wrong on purpose: it must show as a miss, with reasons.
        ("zip is detected as integer, it is a postal code", "other"),
    ];
    for (description, label) in lines {
        let line =
            serde_json::json!({"kind": "unsure", "description": description, "label": label});
        writeln!(out, "{line}").unwrap();
    }
    drop(out);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_inspect-desk"))
        .args(["classify", "eval"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "Accuracy: 66.7% (2 of 3)",
        "Precision",
        "Recall",
        "Confusion matrix",
        "Misses (1)",
        "line 3: Other / question, classified Wrong column type",
        "  - words that weighed most for wrong column type",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }

    std::fs::write(
        &file,
        "{\"kind\":\"unsure\",\"description\":\"x\",\"label\":\"slow\"}\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_inspect-desk"))
        .args(["classify", "eval", "--cross-validate", "3"])
        .arg(&file)
        .output()
        .unwrap();
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        error.contains("line 1:") && error.contains("slow"),
        "{error}"
    );
}
