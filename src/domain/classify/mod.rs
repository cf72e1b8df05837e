//! Explainable classification of analyst reports: hand-written rules and a learned model
//! in one vote.
//!
//! Each rule is a row of [`RULES`] matched against the description; the rules that fire,
//! the form's fields, the analyst's pick and the description's words and word pairs (with
//! negation and "… is fine" scopes) are the features of a logistic regression
//! ([`Model`]) trained on the repository's corpus and the agents' corrections. A rule's
//! own weight is where its learned weight starts. Run evidence is added to the model's
//! vote afterwards, since labelled reports carry none. The reasons name the rules that
//! fired and the words that weighed most.

mod corpus;
pub mod eval;
mod features;
mod model;
mod rules;
#[cfg(test)]
mod tests;
mod text;

use crate::domain::category::{Category, ProblemKind};
use crate::domain::run::RunEvidence;
pub use corpus::Labelled;
use features::{Feature, Source};
pub use model::{CATEGORIES, CORPUS, Model, corpus};
use model::{slot, softmax};
use rules::{OTHER, RUN, STALE};
use text::{Cue, Text};

/// Everything the classifier reads from one report.
pub struct ClassifierInput<'a> {
    /// The analyst's own pick; a prior only, since analysts often pick wrong or "unsure".
    pub kind: ProblemKind,
    /// Free-text description from the form.
    pub description: &'a str,
    /// Column the report is about, if any.
    pub column: Option<&'a str>,
    /// Semantic type the profiler detected, as the analyst copied it.
    pub detected_type: Option<&'a str>,
    /// Semantic type the analyst expected.
    pub expected_type: Option<&'a str>,
    /// What the table's recent profiling runs say.
    pub evidence: &'a RunEvidence,
}

/// The category chosen for a report, how sure the classifier is, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// The category with the highest total.
    pub category: Category,
    /// 0.0..=1.0; high only when one category clearly beats the rest.
    pub confidence: f64,
    /// One line per signal that fired, naming what fired, its category and weight.
    pub reasons: Vec<String>,
}

/// Classifies one report with `model`. Pure: the same input and model give the same output.
pub fn classify(input: &ClassifierInput<'_>, model: &Model) -> Classification {
    let text = Text::new(input.description);
    let features = features::extract(input, &text);
    let (weighed, mut logits) = model.weigh(&features);
    let mut evidence = Vec::new();
    apply_evidence(input.evidence, &text, &mut logits, &mut evidence);
    let share = softmax(&logits);
    let (best, runner_up) = ranking(&share);
    let category = Category::ALL[best];
    let mut reasons = signal_reasons(&features, &weighed);
    reasons.extend(evidence);
    if let Some(words) = weightiest_words(&features, &weighed, best, runner_up) {
        reasons.push(format!(
            "words that weighed most for {}: {words}",
            name(category)
        ));
    }
    let next = Category::ALL[runner_up];
    reasons.push(format!(
        "{} {}; next best {} {}",
        name(category),
        percent(share[best]),
        name(next),
        percent(share[runner_up])
    ));
    Classification {
        category,
        confidence: (share[best] * 100.0).round() / 100.0,
        reasons,
    }
}

/// What the description must mention for a failed run to count as its likely cause.
const RUN_TALK: &str = "profil*|run|runs|job|jobs|scan*|refresh*|numbers|stats";
/// What run evidence adds to a category's log-odds.
const FAILED_RUN: f64 = 1.0;
const FAILED_RUN_TALKED_OF: f64 = 1.5;
const STALE_RUNS: f64 = 1.0;
/// How many words the explanation names.
const WORDS_SHOWN: usize = 4;

fn apply_evidence(
    evidence: &RunEvidence,
    text: &Text,
    logits: &mut [f64; CATEGORIES],
    reasons: &mut Vec<String>,
) {
    if let Some(status) = evidence.latest_status.filter(|s| s.is_failure()) {
        let error = match evidence.latest_error.as_deref() {
            Some(error) => format!(" with \"{}\"", error.chars().take(80).collect::<String>()),
            None => String::new(),
        };
        // A failed run behind a report about the profile or run is most likely its cause.
        let (weight, talk) = match text.hit(&Cue::Any(RUN_TALK)) {
            Some(_) => (
                FAILED_RUN_TALKED_OF,
                " and the description is about the profile or run",
            ),
            None => (FAILED_RUN, ""),
        };
        logits[slot(RUN)] += weight;
        let what = format!("latest profiling run {status}{error}{talk}");
        reasons.push(format!("{what} ({}, {weight:+.1})", name(RUN)));
    }
    if evidence.stale {
        logits[slot(STALE)] += STALE_RUNS;
        let what = "last successful run is older than the freshness target";
        reasons.push(format!("{what} ({}, {STALE_RUNS:+.1})", name(STALE)));
    }
}

/// The best category and the next: highest share first; ties go to other, then to the
/// order of `Category::ALL`.
fn ranking(share: &[f64; CATEGORIES]) -> (usize, usize) {
    let mut order: Vec<usize> = (0..CATEGORIES).collect();
    let tie_order = |index: &usize| (*index != slot(OTHER), *index);
    order.sort_by(|a, b| {
        let by_share = share[*b].total_cmp(&share[*a]);
        by_share.then_with(|| tie_order(a).cmp(&tie_order(b)))
    });
    (order[0], order[1])
}

/// One line per rule that fired and per form field, with what it weighs for the category
/// it speaks for.
fn signal_reasons(features: &[Feature], weighed: &[[f64; CATEGORIES]]) -> Vec<String> {
    let mut reasons = Vec::new();
    for (feature, weights) in features.iter().zip(weighed) {
        match &feature.source {
            Source::Rule(rule, hit) => {
                let mut what = format!("{}: description mentions {}", rule.label, hit.shown);
                if hit.keep < 1.0 {
                    what.push_str(", before the analyst's correction, so discounted");
                }
                let weight = weights[slot(rule.category)];
                reasons.push(format!("{what} ({}, {weight:+.1})", name(rule.category)));
            }
            Source::Field(what) => {
                let (at, weight) = strongest(weights);
                if weight.abs() >= 0.05 {
                    let category = Category::ALL[at];
                    reasons.push(format!("{what} ({}, {weight:+.1})", name(category)));
                }
            }
            Source::Words(_) | Source::Shape => {}
        }
    }
    reasons
}

/// The category a feature favours most, and by how much.
fn strongest(weights: &[f64; CATEGORIES]) -> (usize, f64) {
    let mut best = (0, weights[0]);
    for (at, &weight) in weights.iter().enumerate() {
        if weight > best.1 {
            best = (at, weight);
        }
    }
    best
}

/// The words that moved the vote most from the runner-up to the winner, as written.
fn weightiest_words(
    features: &[Feature],
    weighed: &[[f64; CATEGORIES]],
    best: usize,
    runner_up: usize,
) -> Option<String> {
    let mut words: Vec<(f64, &str)> = features
        .iter()
        .zip(weighed)
        .filter_map(|(f, weights)| match &f.source {
            Source::Words(shown) => Some((weights[best] - weights[runner_up], shown.as_str())),
            _ => None,
        })
        .filter(|(pull, _)| *pull >= 0.05)
        .collect();
    words.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut shown: Vec<String> = Vec::new();
    for (pull, word) in words {
        let quoted = format!("\"{word}\"");
        if shown.iter().any(|s| s.starts_with(&quoted)) {
            continue;
        }
        shown.push(format!("{quoted} ({pull:+.1})"));
        if shown.len() == WORDS_SHOWN {
            break;
        }
    }
    (!shown.is_empty()).then(|| shown.join(", "))
}

/// A category as the reasons name it ("stale profile").
fn name(category: Category) -> String {
    category.as_str().replace('_', " ")
}

fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

fn filled(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}
