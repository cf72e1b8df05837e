//! How long classifying one report takes: `cargo run --release --example classify-bench`.
//!
//! Times `classify` (rules, features and the learned model) on 2,000-character
//! descriptions built from the corpus's reports, and on the corpus's reports as written,
//! one call at a time, and prints the percentiles against the target (p99 under 1 ms for
//! 2,000 characters). Options: `--iterations N` (default 20000).

use std::time::{Duration, Instant};

use inspect_desk::domain::category::ProblemKind;
use inspect_desk::domain::classify::{ClassifierInput, Model, classify, corpus};
use inspect_desk::domain::run::RunEvidence;

const LONG: usize = 2_000;
const TARGET: Duration = Duration::from_millis(1);

fn main() {
    let iterations = std::env::args()
        .skip_while(|a| a != "--iterations")
        .nth(1)
        .map(|n| n.parse().expect("--iterations takes a number"))
        .unwrap_or(20_000usize);
    let started = Instant::now();
    let model = Model::builtin();
    println!(
        "model trained on {} reports in {:.0} ms",
        model.examples,
        started.elapsed().as_secs_f64() * 1e3
    );
    let reports: Vec<String> = corpus().iter().map(|r| r.description.clone()).collect();
    let long = long_descriptions(&reports);
    for (name, descriptions) in [("2,000 characters", &long), ("as written", &reports)] {
        let mut times = time(model, descriptions, iterations);
        times.sort_unstable();
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        println!(
            "{name:>17}: {} calls, mean {:?}, p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?}",
            times.len(),
            mean,
            at(0.5),
            at(0.99),
            at(0.999),
            times[times.len() - 1]
        );
    }
    let mut times = time(model, &long, iterations);
    times.sort_unstable();
    let p99 = times[((times.len() - 1) as f64 * 0.99) as usize];
    let verdict = if p99 < TARGET { "met" } else { "MISSED" };
    println!("target p99 < {TARGET:?} at 2,000 characters: {verdict} ({p99:?})");
}

/// Corpus reports joined, one after another, into descriptions of exactly `LONG`
/// characters.
fn long_descriptions(reports: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for report in reports.iter().cycle().take(reports.len() * 3) {
        current.push_str(report);
        current.push('\n');
        if current.chars().count() >= LONG {
            out.push(current.chars().take(LONG).collect());
            current.clear();
        }
    }
    out
}

fn time(model: &Model, descriptions: &[String], iterations: usize) -> Vec<Duration> {
    let evidence = RunEvidence::default();
    let mut times = Vec::with_capacity(iterations);
    for description in descriptions.iter().cycle().take(iterations) {
        let input = ClassifierInput {
            kind: ProblemKind::Unsure,
            description,
            column: Some("zip"),
            detected_type: None,
            expected_type: None,
            evidence: &evidence,
        };
        let started = Instant::now();
        std::hint::black_box(classify(&input, model));
        times.push(started.elapsed());
    }
    times
}
