//! Unit tests of the classifier, with paraphrased reports of every category.

use super::rules::{REPORT, RULES, WRONG_TYPE};
use super::text::Cue::{Any, Near, Negated, Question};
use super::*;
use crate::domain::run::RunStatus;

static NO_EVIDENCE: RunEvidence = RunEvidence {
    latest_status: None,
    latest_error: None,
    stale: false,
    runs_seen: 0,
};

fn input(kind: ProblemKind, description: &str) -> ClassifierInput<'_> {
    ClassifierInput {
        kind,
        description,
        column: None,
        detected_type: None,
        expected_type: None,
        evidence: &NO_EVIDENCE,
    }
}

fn unsure(description: &str) -> Classification {
    classify(&input(ProblemKind::Unsure, description), Model::builtin())
}

const UNSURE: ProblemKind = ProblemKind::Unsure;
const fn pick(category: Category) -> ProblemKind {
    ProblemKind::Known(category)
}

// Paraphrases written for these tests, not copied from the corpus:
// (expected category, the analyst's pick, description).
#[rustfmt::skip]
const PARAPHRASES: &[(Category, ProblemKind, &str)] = &[
    (STALE, UNSURE, "The inspector still shows 40k rows for this table, but we loaded another \
        200k yesterday."),
    (STALE, UNSURE, "Profile looks like it's from last month - none of this week's data is \
        reflected."),
    (STALE, pick(OTHER), "We renamed cust_id to customer_id on Tuesday and the inspector still \
        has the old name."),
    (STALE, pick(STALE), "Numbers on the profile are stale; can you trigger a refresh?"),
    (STALE, UNSURE, "Last refresh timestamp on the inspector is 12 days old even though the \
        table is updated hourly."),
    (STALE, pick(WRONG_TYPE), "The two columns we deleted last sprint are still listed in the \
        profile."),
    (WRONG_TYPE, UNSURE, "order_id is being profiled as a numeric measure; it's an \
        identifier."),
    (WRONG_TYPE, pick(OTHER), "created_at comes up as plain text rather than a timestamp"),
    (WRONG_TYPE, UNSURE, "The semantic type for country looks wrong, it's an ISO country code \
        not a free-text field."),
    (WRONG_TYPE, UNSURE, "Inspector thinks the uuid column is categorical, it should be an \
        identifier."),
    (REPORT, UNSURE, "Exporting the report to PDF crashes with an internal server error."),
    (REPORT, pick(OTHER), "The context artifact download never starts, it just spins."),
    (REPORT, UNSURE, "When I open the inspector report I get a blank white screen."),
    (REPORT, pick(RUN), "Report generation keeps failing with error R-500 for this table."),
    (REPORT, UNSURE, "Half of the charts in the generated report are missing and the page \
        shows a render error."),
    (RUN, pick(STALE), "The profiling job has been stuck in 'running' since yesterday \
        morning."),
    (RUN, UNSURE, "Every scan of this table errors with 'insufficient privileges on schema \
        ANALYTICS'."),
    (RUN, pick(OTHER), "Profiler crashes on this table: out of memory on the cluster."),
    (RUN, pick(REPORT), "Nightly profile run gets killed by the warehouse after an hour, query \
        timeout."),
    (RUN, pick(STALE), "I assumed the profile just wasn't updating, but the job has failed \
        every night since Monday."),
    (OTHER, UNSURE, "Could you add support for profiling Iceberg tables?"),
    (OTHER, pick(WRONG_TYPE), "Where can I find documentation on how semantic types are \
        inferred?"),
    (OTHER, UNSURE, "Is it possible to schedule profiles to run every hour instead of \
        nightly?"),
    (OTHER, pick(OTHER), "How do I add a colleague to our inspect workspace?"),
    (OTHER, UNSURE, "It would be nice to see top-k values for string columns in the \
        inspector."),
];

/// A learned model is judged on a share, not on each sentence: at most one paraphrase
/// may miss (a single sentence can sit on a boundary the corpus draws).
#[test]
fn paraphrased_reports_land_in_their_category() {
    let misses: Vec<String> = PARAPHRASES
        .iter()
        .filter_map(|&(expected, kind, description)| {
            let got = classify(&input(kind, description), Model::builtin());
            (got.category != expected).then(|| format!("{description} → {got:#?}"))
        })
        .collect();
    assert!(misses.len() <= 1, "misclassified:\n{}", misses.join("\n"));
}

#[test]
fn paraphrases_cover_every_category() {
    for category in Category::ALL {
        let count = PARAPHRASES
            .iter()
            .filter(|(c, _, _)| *c == category)
            .count();
        assert!(count >= 4, "{category} has only {count} paraphrases");
    }
}

#[test]
fn same_input_gives_same_output() {
    for &(_, kind, description) in PARAPHRASES {
        assert_eq!(
            classify(&input(kind, description), Model::builtin()),
            classify(&input(kind, description), &Model::train(corpus()))
        );
    }
}

#[test]
fn clear_report_is_more_confident_than_an_ambiguous_one() {
    let clear =
        unsure("The profiling job times out every night: statement timeout on the warehouse.");
    let ambiguous =
        unsure("The numbers for this table look odd, and the profile job shows an error.");
    assert_eq!(clear.category, RUN);
    assert!(clear.confidence > 0.8, "{clear:#?}");
    assert!(
        clear.confidence > ambiguous.confidence,
        "{clear:#?}\n{ambiguous:#?}"
    );
}

#[test]
fn analyst_pick_cannot_override_clear_text() {
    let description = "Exporting the inspector report to PDF fails with a template error.";
    for category in Category::ALL {
        let result = classify(&input(pick(category), description), Model::builtin());
        assert_eq!(result.category, REPORT, "picked {category}");
    }
}

/// With nothing in the text, the pick is the only sign: it moves the vote its way, but
/// how far is learned from analysts who picked wrong.
#[test]
fn analyst_pick_weighs_on_a_report_with_no_text_signal() {
    let description = "Please take a look at this table.";
    let unsure = classify(&input(UNSURE, description), Model::builtin());
    let picked = classify(&input(pick(WRONG_TYPE), description), Model::builtin());
    assert_eq!(unsure.category, OTHER);
    let moved = picked.category == WRONG_TYPE || picked.confidence < unsure.confidence;
    assert!(moved, "{unsure:#?}\n{picked:#?}");
    assert!(
        picked
            .reasons
            .iter()
            .any(|r| r.contains("analyst picked wrong_column_type"))
    );
}

#[test]
fn run_evidence_tips_an_ambiguous_report() {
    let description = "Please have a look at this table.";
    let failed = RunEvidence {
        latest_status: Some(RunStatus::TimedOut),
        latest_error: Some("statement timeout".into()),
        runs_seen: 3,
        ..RunEvidence::default()
    };
    let stale = RunEvidence {
        stale: true,
        runs_seen: 3,
        ..RunEvidence::default()
    };
    let with = |evidence| {
        let report = ClassifierInput {
            evidence,
            ..input(UNSURE, description)
        };
        classify(&report, Model::builtin())
    };
    assert_eq!(unsure(description).category, OTHER);
    assert_eq!(with(&failed).category, RUN);
    assert!(
        with(&failed)
            .reasons
            .iter()
            .any(|r| r.contains("statement timeout"))
    );
    assert_eq!(with(&stale).category, STALE);
}

#[test]
fn differing_types_on_the_form_point_to_wrong_type() {
    let report = ClassifierInput {
        detected_type: Some("integer"),
        expected_type: Some("postal_code"),
        column: Some("zip"),
        ..input(UNSURE, "Please have a look at this column.")
    };
    let result = classify(&report, Model::builtin());
    assert_eq!(result.category, WRONG_TYPE);
    assert!(
        result
            .reasons
            .iter()
            .any(|r| r.contains("differs from expected")),
        "{result:#?}"
    );
}

#[test]
fn correction_after_but_actually_wins() {
    let result = unsure("Looked stale to me but actually the profiling run errors out every time.");
    assert_eq!(result.category, RUN, "{result:#?}");
    assert!(
        result
            .reasons
            .iter()
            .any(|r| r.contains("before the analyst's correction")),
        "{result:#?}"
    );
}

#[test]
fn negation_is_respected() {
    assert_eq!(
        unsure("The profile hasn't been refreshed for a week.").category,
        STALE
    );
    let result = unsure("The run didn't fail and has no errors; the PDF export is blank.");
    assert_eq!(result.category, REPORT, "{result:#?}");
    assert!(
        !result
            .reasons
            .iter()
            .any(|r| r.contains("profiling run fails"))
    );
}

#[test]
fn empty_description_is_other_with_low_confidence() {
    for description in ["", "   ", "?!"] {
        let result = unsure(description);
        assert_eq!(result.category, OTHER);
        assert!(result.confidence < 0.75, "{result:#?}");
        assert!(!result.reasons.is_empty());
    }
}

#[test]
fn rule_patterns_are_normalised() {
    let lists = RULES.iter().flat_map(|rule| match rule.cue {
        Any(p) | Negated(p) | Question(p) => vec![p],
        Near(a, b) => vec![a, b],
    });
    for pattern in lists.flat_map(|list| list.split('|')) {
        let clean = pattern
            .chars()
            .all(|c| c.is_lowercase() || c.is_numeric() || " _*".contains(c));
        assert!(
            clean && !pattern.trim().is_empty(),
            "pattern {pattern:?} cannot match"
        );
    }
}

#[test]
fn negation_and_contrast_point_at_the_part_that_is_broken() {
    let report = unsure(
        "The profile finished fine an hour ago but the report page says 'report not available'.",
    );
    assert_eq!(report.category, REPORT, "{report:#?}");
    let report = unsure("Report page loads forever. The profile itself is fine.");
    assert_eq!(report.category, REPORT, "{report:#?}");
    let stale = unsure("No errors in the run log, but the counts are from last week.");
    assert_eq!(stale.category, STALE, "{stale:#?}");
}

#[test]
fn the_explanation_names_rules_and_the_weightiest_words() {
    let result = unsure("The sample rows are all from October; current data is November.");
    assert_eq!(result.category, STALE, "{result:#?}");
    let words = result
        .reasons
        .iter()
        .find(|r| r.starts_with("words that weighed most for stale profile"))
        .unwrap_or_else(|| panic!("no words in {result:#?}"));
    assert!(words.contains('"'), "{words}");
    let last = result.reasons.last().unwrap();
    assert!(last.starts_with("stale profile "), "{last}");
}

/// Ten agents' corrections of one phrasing teach the model that phrasing, against what
/// the corpus alone says of it.
#[test]
fn corrections_teach_a_phrasing() {
    let phrasing = |n: usize| {
        format!("The lineage graph widget for table t{n} shows the wrong upstream owner.")
    };
    let probe = input(
        UNSURE,
        "The lineage graph widget shows the wrong upstream owner again.",
    );
    let before = classify(&probe, Model::builtin()).category;
    let corrected = if before == STALE { REPORT } else { STALE };
    let mut examples = corpus().to_vec();
    examples.extend((0..10).map(|n| Labelled {
        kind: UNSURE,
        description: phrasing(n),
        column: None,
        detected_type: None,
        expected_type: None,
        label: corrected,
        weight: 2.0,
    }));
    let after = classify(&probe, &Model::train(&examples));
    assert_eq!(after.category, corrected, "{after:#?}");
}
