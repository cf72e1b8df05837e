//! A report as the learned model's features: the rules that fired, the form's fields, the
//! analyst's pick, and the description's words and word pairs, stemmed, with negation and
//! "… is fine" scopes marked.
//!
//! Words in a negation's scope become `not:` features ("hasn't been refreshed" is
//! `not:refresh`), and the words just before a healthy-state word become `ok:` features
//! ("the profile itself is fine" is `ok:profil`): a part the analyst says works is not the
//! problem. Words after a contrast ("… but the report page …") also count as `then:`
//! features, since what follows "but" is usually the complaint.

use rust_stemmers::{Algorithm, Stemmer};

use super::rules::{RULES, Rule};
use super::text::{Hit, Text};
use super::{ClassifierInput, filled};
use crate::domain::category::{Category, ProblemKind};

/// One feature of a report: its key in the model, its value, and what to show a reader.
pub(super) struct Feature {
    pub(super) key: String,
    pub(super) value: f64,
    pub(super) source: Source,
    /// Where training starts this feature's weight, and pulls it back to: a rule's own
    /// weight for its category (as log-odds). Words start at nothing.
    pub(super) prior: Option<(Category, f64)>,
}

/// Where a feature came from, for the explanation.
pub(super) enum Source {
    /// A rule that fired, with its match.
    Rule(&'static Rule, Hit),
    /// A form field or the analyst's pick, with the sentence that says so.
    Field(String),
    /// Words of the description, as written.
    Words(String),
    /// The shape of the text (a question), not worth a reason of its own.
    Shape,
}

/// Words that open a negation's scope.
const NEGATORS: &[&str] = &[
    "not", "no", "never", "none", "without", "nothing", "didnt", "doesnt", "dont", "isnt", "wasnt",
    "hasnt", "havent", "arent", "werent", "cant", "cannot", "wont", "nor",
];
/// Words that close a negation's or a healthy state's scope.
const SCOPE_STOPS: &[&str] = &[
    "but", "and", "or", "though", "although", "however", "because", "while", "whereas", "yet",
    "so", "then",
];
/// Words that say the thing just named works ("the run succeeded", "profile is fine").
const HEALTHY: &[&str] = &[
    "fine",
    "ok",
    "okay",
    "good",
    "green",
    "healthy",
    "normal",
    "correct",
    "right",
    "succeeded",
    "successful",
    "successfully",
    "finished",
    "completed",
    "complete",
    "works",
    "worked",
    "working",
    "loads",
    "renders",
    "rendered",
    "accurate",
];
/// Words that start the part of a sentence that usually holds the complaint.
const CONTRASTS: &[&str] = &[
    "but", "however", "though", "although", "yet", "whereas", "except",
];
/// Words too common to say anything by themselves; they still open and close scopes and
/// count in rules. A list of its own rather than a stop-word crate's: those lists hold
/// "not", "no" and "but", which are features here.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "with", "from", "by", "as",
    "is", "are", "was", "were", "be", "been", "being", "am", "it", "its", "this", "that", "these",
    "those", "there", "here", "i", "im", "ive", "we", "weve", "you", "your", "our", "us", "me",
    "my", "they", "them", "their", "he", "she", "his", "her", "so", "if", "then", "than", "just",
    "also", "too", "very", "really", "all", "any", "some", "one", "has", "have", "had", "do",
    "does", "did", "can", "could", "would", "should", "will", "about", "into", "up", "out", "over",
    "which", "who", "hi", "hello", "thanks", "thank", "please", "pls", "team", "guys", "hey",
    "regards", "cheers", "bit", "get", "got",
];
/// How far a negation reaches, and how far back a healthy word looks.
const NEGATION_REACH: usize = 3;
const HEALTHY_REACH: usize = 4;
/// Word features of a long description weigh less each: `WORD_SCALE / sqrt(count)`,
/// at most 1, so a 2,000-character report does not drown its rules.
const WORD_SCALE: f64 = 16.0;

/// The rules' weights are points, as the rules were first written; a rule's learned weight
/// starts at its points over this, as log-odds.
const POINTS_PER_LOGIT: f64 = 4.0;
/// A rule that fires is a feature of this value (times the share its match keeps after the
/// analyst's correction). These constants and those of `model` were chosen by
/// cross-validation on the corpus (`inspect-desk classify eval --cross-validate`).
const RULE_VALUE: f64 = 0.5;
/// The analyst's pick, in the rules' points.
const PICK_POINTS: f64 = 3.0;

/// Every feature of one report, each key once (the first source kept).
pub(super) fn extract(input: &ClassifierInput<'_>, text: &Text) -> Vec<Feature> {
    let mut features = Features::default();
    for rule in RULES {
        if let Some(hit) = text.hit(&rule.cue) {
            let key = format!("rule:{}", rule.label);
            let prior = (rule.category, rule.weight / POINTS_PER_LOGIT);
            features.add_prior(key, hit.keep * RULE_VALUE, Source::Rule(rule, hit), prior);
        }
    }
    fields(input, &mut features);
    pick(input.kind, text, &mut features);
    if text.has_question() {
        features.add("shape:question".into(), 1.0, Source::Shape);
    }
    words(text, &mut features);
    features.list
}

#[derive(Default)]
struct Features {
    list: Vec<Feature>,
    seen: std::collections::HashSet<String, foldhash::fast::FixedState>,
}

impl Features {
    fn add(&mut self, key: String, value: f64, source: Source) {
        if self.seen.insert(key.clone()) {
            let prior = None;
            self.list.push(Feature {
                key,
                value,
                source,
                prior,
            });
        }
    }

    fn add_prior(&mut self, key: String, value: f64, source: Source, prior: (Category, f64)) {
        self.add(key, value, source);
        if let Some(feature) = self.list.last_mut().filter(|f| f.prior.is_none()) {
            feature.prior = Some(prior);
        }
    }
}

fn fields(input: &ClassifierInput<'_>, features: &mut Features) {
    match (filled(input.detected_type), filled(input.expected_type)) {
        (Some(detected), Some(expected)) if !detected.eq_ignore_ascii_case(expected) => {
            let what = format!("detected type \"{detected}\" differs from expected \"{expected}\"");
            let prior = (Category::WrongColumnType, 5.0 / POINTS_PER_LOGIT);
            features.add_prior("field:types differ".into(), 1.0, Source::Field(what), prior);
        }
        // The same type named twice says nothing about inference.
        (Some(_), Some(_)) => {}
        (Some(only), None) | (None, Some(only)) => {
            let what = format!("one semantic type filled in (\"{only}\")");
            let prior = (Category::WrongColumnType, 2.0 / POINTS_PER_LOGIT);
            features.add_prior("field:one type".into(), 1.0, Source::Field(what), prior);
        }
        (None, None) => {}
    }
    if let Some(column) = filled(input.column) {
        let what = format!("column \"{column}\" named");
        features.add("field:column".into(), 1.0, Source::Field(what));
    }
}

fn pick(kind: ProblemKind, text: &Text, features: &mut Features) {
    let mut what = match kind.suggested() {
        Some(picked) => format!("analyst picked {picked}"),
        None => "analyst was not sure".to_string(),
    };
    // An analyst who corrects themselves in the text likely picked the first guess.
    let value = match text.correction {
        Some((_, keep)) if kind.suggested().is_some() => {
            what.push_str(", but the description corrects itself");
            keep
        }
        _ => 1.0,
    };
    // How far analysts' picks can be trusted is learned (the corpus has wrong picks too),
    // starting from a pick that tips a report with no other sign.
    let key = format!("pick:{}", kind.as_str());
    match kind.suggested() {
        Some(picked) => {
            let prior = (picked, PICK_POINTS / POINTS_PER_LOGIT);
            features.add_prior(key, value, Source::Field(what), prior);
        }
        None => features.add(key, value, Source::Field(what)),
    }
}

/// Stemmed words and word pairs, with their scopes.
fn words(text: &Text, features: &mut Features) {
    let stemmer = Stemmer::create(Algorithm::English);
    let words = text.words();
    let stems: Vec<String> = STEMS.with_borrow_mut(|known| {
        // Reports share most of their words: each is stemmed once per thread, up to a
        // bound (past it the table starts again).
        if known.len() > STEMS_KEPT {
            known.clear();
        }
        words
            .iter()
            .map(|w| {
                if let Some(stemmed) = known.get(w.as_str()) {
                    return stemmed.clone();
                }
                let stemmed = stem(&stemmer, w);
                known.insert(w.clone(), stemmed.clone());
                stemmed
            })
            .collect()
    });
    let stop: Vec<bool> = words
        .iter()
        .map(|w| stop_words().contains(w.as_str()))
        .collect();
    let mut scope = vec![Scope::Plain; words.len()];
    mark_scopes(text, words, &mut scope);

    let mut found: Vec<(String, String)> = Vec::with_capacity(words.len() * 3);
    // Whether a contrast ("but", "however") came earlier in the word's sentence.
    let mut after_contrast = false;
    for (index, word) in words.iter().enumerate() {
        if index > 0 && text.sentence_of(index) != text.sentence_of(index - 1) {
            after_contrast = false;
        }
        let stem = &stems[index];
        let next = index + 1;
        let pair = next < words.len() && text.sentence_of(next) == text.sentence_of(index);
        if pair && !(stop[index] && stop[next]) {
            let key = format!("b:{stem} {}", stems[next]);
            found.push((key, format!("{word} {}", words[next])));
        }
        let contrast_here = CONTRASTS.contains(&word.as_str());
        if !stop[index] {
            let key = match scope[index] {
                Scope::Plain => format!("w:{stem}"),
                Scope::Negated => format!("not:{stem}"),
                Scope::Healthy => format!("ok:{stem}"),
            };
            found.push((key, word.clone()));
            if after_contrast {
                found.push((format!("then:{stem}"), word.clone()));
            }
        }
        after_contrast |= contrast_here;
    }
    let distinct: std::collections::HashSet<&str, foldhash::fast::FixedState> =
        found.iter().map(|(k, _)| k.as_str()).collect();
    let value = (WORD_SCALE / (distinct.len().max(1) as f64).sqrt()).min(1.0);
    for (key, shown) in found {
        features.add(key, value, Source::Words(shown));
    }
}

type WordSet = std::collections::HashSet<&'static str, foldhash::fast::FixedState>;

const STEMS_KEPT: usize = 50_000;

thread_local! {
    static STEMS: std::cell::RefCell<
        std::collections::HashMap<String, String, foldhash::fast::FixedState>,
    > = std::cell::RefCell::default();
}

fn stop_words() -> &'static WordSet {
    static SET: std::sync::OnceLock<WordSet> = std::sync::OnceLock::new();
    SET.get_or_init(|| STOP_WORDS.iter().copied().collect())
}

#[derive(Clone, Copy, PartialEq)]
enum Scope {
    Plain,
    Negated,
    Healthy,
}

fn mark_scopes(text: &Text, words: &[String], scope: &mut [Scope]) {
    let stops = |i: usize| SCOPE_STOPS.contains(&words[i].as_str());
    for (index, word) in words.iter().enumerate() {
        if NEGATORS.contains(&word.as_str()) {
            let sentence = text.sentence_of(index);
            let after = (index + 1..words.len()).take(NEGATION_REACH);
            for i in after.take_while(|&i| text.sentence_of(i) == sentence && !stops(i)) {
                scope[i] = Scope::Negated;
            }
        }
        if HEALTHY.contains(&word.as_str()) {
            let sentence = text.sentence_of(index);
            let before = (index.saturating_sub(HEALTHY_REACH)..index).rev();
            for i in before.take_while(|&i| text.sentence_of(i) == sentence && !stops(i)) {
                if scope[i] == Scope::Plain {
                    scope[i] = Scope::Healthy;
                }
            }
        }
    }
}

/// A word's stem; numbers become one feature by their length, so "404" and "500" stay
/// themselves but a row count does not make a feature of its own.
fn stem(stemmer: &Stemmer, word: &str) -> String {
    if word.chars().any(|c| c.is_ascii_digit()) {
        let digits = word.chars().filter(char::is_ascii_digit).count();
        return if word.len() <= 4 {
            word.to_string()
        } else {
            format!("#{}", digits.min(9))
        };
    }
    stemmer.stem(word).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::run::RunEvidence;

    fn keys(description: &str) -> Vec<String> {
        let evidence = RunEvidence::default();
        let input = ClassifierInput {
            kind: ProblemKind::Unsure,
            description,
            column: None,
            detected_type: None,
            expected_type: None,
            evidence: &evidence,
        };
        let text = Text::new(description);
        extract(&input, &text).into_iter().map(|f| f.key).collect()
    }

    #[test]
    fn negation_and_healthy_scopes_are_features_of_their_own() {
        let found = keys("The profile itself is fine but the report page hasn't loaded.");
        for key in [
            "ok:profil",
            "not:load",
            "then:report",
            "w:report",
            "b:report page",
        ] {
            assert!(
                found.iter().any(|k| k == key),
                "{key} missing from {found:?}"
            );
        }
        assert!(!found.iter().any(|k| k == "w:profil"), "{found:?}");
    }

    #[test]
    fn long_numbers_are_one_feature_by_length() {
        let found = keys("shows 1200000 rows, error 404");
        assert!(found.iter().any(|k| k == "w:#7"), "{found:?}");
        assert!(found.iter().any(|k| k == "w:404"), "{found:?}");
    }
}
