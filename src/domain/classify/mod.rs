//! Deterministic, explainable classification of analyst reports.
//!
//! Every signal is data: a row of [`RULES`] matched against the description, or one of
//! the few structured checks on form fields, the analyst's pick and run evidence. A signal
//! that fires adds its weight to one category and leaves a reason. The best total wins; on
//! a tie `other` wins, then the earlier category in [`Category::ALL`].

mod rules;
#[cfg(test)]
mod tests;
mod text;

use crate::domain::category::{Category, ProblemKind};
use crate::domain::run::RunEvidence;
use rules::{OTHER, RULES, RUN, Rule, STALE, WRONG_TYPE};
use text::{Cue, Hit, Text};

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

/// Classifies one report. Pure: the same input always gives the same output.
pub fn classify(input: &ClassifierInput<'_>) -> Classification {
    let text = Text::new(input.description);
    let mut tally = Tally::default();
    for rule in RULES {
        if let Some(hit) = text.hit(&rule.cue) {
            apply_hit(rule, &hit, &mut tally);
        }
    }
    apply_fields(input, &mut tally);
    apply_prior(input.kind, &text, &mut tally);
    apply_evidence(input.evidence, &text, &mut tally);
    tally.verdict()
}

/// What the description must mention for a failed run to count as its likely cause.
const RUN_TALK: &str = "profil*|run|runs|job|jobs|scan*|refresh*|numbers|stats";
// Big enough to tip a report with no text signal, smaller than one telling phrase (3).
const PRIOR_WEIGHT: f64 = 1.5;
// Analysts use "other" as a catch-all when unsure, so that pick is weaker evidence.
const OTHER_PRIOR_WEIGHT: f64 = 0.5;
// A category must beat this to win, so one weak hint alone does not make a category.
const OTHER_BASELINE: f64 = 1.0;
// Softmax temperature: a lead of about 5 points reads as ~0.9 confidence.
const TEMPERATURE: f64 = 2.0;

fn apply_hit(rule: &Rule, hit: &Hit, tally: &mut Tally) {
    let mut what = format!("{}: description mentions {}", rule.label, hit.shown);
    if hit.keep < 1.0 {
        what.push_str(", before the analyst's correction, so discounted");
    }
    tally.add(rule.category, rule.weight * hit.keep, what);
}

fn apply_fields(input: &ClassifierInput<'_>, tally: &mut Tally) {
    match (filled(input.detected_type), filled(input.expected_type)) {
        (Some(detected), Some(expected)) if !detected.eq_ignore_ascii_case(expected) => {
            let what = format!("detected type \"{detected}\" differs from expected \"{expected}\"");
            tally.add(WRONG_TYPE, 5.0, what);
        }
        // The same type named twice says nothing about inference.
        (Some(_), Some(_)) => {}
        (Some(only), None) | (None, Some(only)) => {
            let what = format!("one semantic type filled in (\"{only}\")");
            tally.add(WRONG_TYPE, 2.0, what);
        }
        (None, None) => {
            if let Some(column) = filled(input.column) {
                tally.add(WRONG_TYPE, 0.5, format!("column \"{column}\" named"));
            }
        }
    }
}

fn filled(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn apply_prior(kind: ProblemKind, text: &Text, tally: &mut Tally) {
    let Some(picked) = kind.suggested() else {
        return;
    };
    let mut weight = if picked == OTHER {
        OTHER_PRIOR_WEIGHT
    } else {
        PRIOR_WEIGHT
    };
    let mut what = format!("analyst picked {picked}");
    // An analyst who corrects themselves in the text likely picked the first guess.
    if let Some((_, keep)) = text.correction {
        weight *= keep;
        what.push_str(", but the description corrects itself, so discounted");
    }
    tally.add(picked, weight, what);
}

fn apply_evidence(evidence: &RunEvidence, text: &Text, tally: &mut Tally) {
    if let Some(status) = evidence.latest_status.filter(|s| s.is_failure()) {
        let error = match evidence.latest_error.as_deref() {
            Some(error) => format!(" with \"{}\"", error.chars().take(80).collect::<String>()),
            None => String::new(),
        };
        // A failed run behind a report about the profile or run is most likely its cause.
        let (weight, talk) = match text.hit(&Cue::Any(RUN_TALK)) {
            Some(_) => (3.0, " and the description is about the profile or run"),
            None => (2.0, ""),
        };
        let what = format!("latest profiling run {status}{error}{talk}");
        tally.add(RUN, weight, what);
    }
    if evidence.stale {
        let what = "last successful run is older than the freshness target".to_string();
        tally.add(STALE, 2.0, what);
    }
}

#[derive(Default)]
struct Tally {
    points: [f64; Category::ALL.len()],
    reasons: Vec<String>,
}

impl Tally {
    fn add(&mut self, category: Category, weight: f64, what: String) {
        self.points[slot(category)] += weight;
        let name = category.as_str().replace('_', " ");
        self.reasons.push(format!("{what} ({name}, {weight:+})"));
    }

    fn verdict(mut self) -> Classification {
        self.points[slot(OTHER)] += OTHER_BASELINE;
        // Highest total first; ties go to other, then to the order of `Category::ALL`.
        let mut ranking: Vec<usize> = (0..self.points.len()).collect();
        let tie_order = |index: &usize| (*index != slot(OTHER), *index);
        ranking.sort_by(|a, b| {
            let by_points = self.points[*b].total_cmp(&self.points[*a]);
            by_points.then_with(|| tie_order(a).cmp(&tie_order(b)))
        });
        let (best, runner_up) = (ranking[0], ranking[1]);
        let category = Category::ALL[best];
        if category == OTHER {
            let what = "baseline: no stronger sign of a specific problem";
            self.reasons
                .push(format!("{what} (other, {OTHER_BASELINE:+})"));
        }
        let (points, next) = (self.points[best], self.points[runner_up]);
        let next_category = Category::ALL[runner_up];
        let summary = format!("{category} scored {points:.1}; next best {next_category} {next:.1}");
        self.reasons.push(summary);
        let confidence = softmax_share(&self.points, best);
        Classification {
            category,
            confidence,
            reasons: self.reasons,
        }
    }
}

fn slot(category: Category) -> usize {
    Category::ALL
        .iter()
        .position(|c| *c == category)
        .unwrap_or(0)
}

/// The winner's share of a softmax over all totals, rounded to two places.
fn softmax_share(points: &[f64], winner: usize) -> f64 {
    let top = points[winner];
    let total: f64 = points.iter().map(|p| ((p - top) / TEMPERATURE).exp()).sum();
    (100.0 / total).round() / 100.0
}
