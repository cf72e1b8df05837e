//! `classify eval FILE`: how the classifier does on labelled reports, with every miss and
//! its reasons; `--cross-validate K` measures K-fold on FILE itself.

use std::path::Path;

use crate::domain::category::Category;
use crate::domain::classify::eval::{self, Evaluation};
use crate::domain::classify::{Labelled, Model, corpus};

use super::{ClassifyCommand, say};

pub(super) fn run(action: ClassifyCommand) -> Result<(), String> {
    match action {
        ClassifyCommand::Eval {
            file,
            cross_validate,
        } => evaluate(&file, cross_validate),
    }
}

fn evaluate(file: &Path, folds: Option<usize>) -> Result<(), String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let examples = Labelled::parse_jsonl(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    if examples.is_empty() {
        return Err(format!("{} holds no labelled reports", file.display()));
    }
    let evaluation = match folds {
        Some(k) if k < 2 || k > examples.len() => {
            return Err(format!(
                "--cross-validate needs between 2 and {} folds (one report a fold at most)",
                examples.len()
            ));
        }
        Some(k) => {
            say!(
                "{k}-fold cross-validation on {} ({} reports): each fold classified by a model \
                 trained on the others",
                file.display(),
                examples.len()
            );
            eval::cross_validate(&examples, k)
        }
        None => {
            say!(
                "{} reports from {}, classified by the model trained on the corpus ({} reports)",
                examples.len(),
                file.display(),
                corpus().len()
            );
            eval::evaluate(Model::builtin(), &examples)
        }
    };
    print(&evaluation, &examples);
    Ok(())
}

fn print(evaluation: &Evaluation, examples: &[Labelled]) {
    say!(
        "\nAccuracy: {} ({} of {})",
        percent(evaluation.accuracy()),
        evaluation.correct(),
        evaluation.total()
    );
    say!(
        "\n{:<26} {:>9} {:>7} {:>8}",
        "Category",
        "Precision",
        "Recall",
        "Reports"
    );
    for category in Category::ALL {
        let show = |share: Option<f64>| share.map_or("-".to_string(), percent);
        say!(
            "{:<26} {:>9} {:>7} {:>8}",
            category.label(),
            show(evaluation.precision(category)),
            show(evaluation.recall(category)),
            evaluation.support(category)
        );
    }
    say!("\nConfusion matrix (rows: the right category; columns: the classifier's)");
    let short = ["stale", "type", "report", "run", "other"];
    say!(@write, "{:<26}", "");
    for name in short {
        say!(@write, " {name:>6}");
    }
    say!("");
    for (row, category) in evaluation.confusion.iter().zip(Category::ALL) {
        say!(@write, "{:<26}", category.label());
        for cell in row {
            say!(@write, " {cell:>6}");
        }
        say!("");
    }
    if evaluation.misses.is_empty() {
        say!("\nNo misses.");
        return;
    }
    say!("\nMisses ({})", evaluation.misses.len());
    for miss in &evaluation.misses {
        let example = &examples[miss.index];
        say!(
            "\nline {}: {}, classified {} ({} sure); analyst picked {}",
            miss.index + 1,
            miss.expected.label(),
            miss.got.category.label(),
            percent(miss.got.confidence),
            example.kind.label()
        );
        say!("  \"{}\"", miss.description);
        for reason in &miss.got.reasons {
            say!("  - {reason}");
        }
    }
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}
