//! The description as words and sentences, and how a rule's cue matches it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Where a rule looks. Patterns are `|`-separated, lowercase, without apostrophes
/// ("can't" is "cant"); a word ending in `*` matches any word starting with it, and
/// one starting with `*` any word ending with it (`*_timeout` finds "statement_timeout").
pub(super) enum Cue {
    /// Any pattern, unless negated ("no errors" is not an error).
    Any(&'static str),
    /// Any pattern, only when negated ("hasn't been refreshed").
    Negated(&'static str),
    /// One pattern from each list in the same sentence, at most `NEAR_GAP` words apart.
    Near(&'static str, &'static str),
    /// A sentence that starts with a pattern and ends with a question mark.
    Question(&'static str),
}

/// Words that flip the meaning of what follows them, up to `NEGATION_REACH` words on.
const NEGATORS: &str = "not|no|never|none|without|nothing|didnt|doesnt|dont|isnt|wasnt|\
    hasnt|havent|arent|werent|stopped";
/// Words that end a negation's reach ("no errors and it fails": the failure stands).
const NEGATION_STOPS: &str = "but|and|or|though|although|however|because";
/// After these the analyst retracts what came before ("… but actually every run failed").
const RETRACTION_CUES: &str = "but actually|actually its|turns out|but in fact|but really|\
    real problem|real issue|actual problem|actual issue";
/// After these the analyst names the cause; what came before is the symptom.
const CAUSE_CUES: &str = "because|due to|caused by|root cause";
/// A hedge turns a later plain "but" into a retraction ("I think it's stale, but …").
const HEDGES: &str = "i think|i thought|i assumed|i guess|i figured|i suspect*|at first|\
    initially|we thought|not sure|maybe";

const NEAR_GAP: usize = 5;
const NEGATION_REACH: usize = 3;
use Cue::{Any, Near, Negated, Question};

// What an analyst retracts keeps a quarter of its weight, a symptom before a cause half.
const RETRACTED_KEEP: f64 = 0.25;
const SYMPTOM_KEEP: f64 = 0.5;

/// A rule's match: the last one, so text after an analyst's correction wins.
pub(super) struct Hit {
    pub(super) shown: String,
    /// Share of the rule's weight kept: below 1 before the analyst's correction.
    pub(super) keep: f64,
}

/// One word of a pattern: `word`, `stem*` or `*tail`.
#[derive(Clone, Copy)]
enum Word {
    Exact(&'static str),
    Prefix(&'static str),
    Suffix(&'static str),
}

impl Word {
    fn parse(pattern: &'static str) -> Word {
        match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
            (Some(tail), _) => Word::Suffix(tail),
            (None, Some(stem)) => Word::Prefix(stem),
            (None, None) => Word::Exact(pattern),
        }
    }

    fn matches(self, word: &str) -> bool {
        match self {
            Word::Exact(p) => p == word,
            Word::Prefix(stem) => word.starts_with(stem),
            Word::Suffix(tail) => word.ends_with(tail),
        }
    }
}

/// A pattern list split into patterns of words.
type Patterns = Rc<[Box<[Word]>]>;

/// A `|`-separated list as patterns of words (none empty), split once per thread and
/// list: every report meets hundreds of lists. Keyed by where the list lives; the lists
/// are the rules' constants.
fn compiled(patterns: &'static str) -> Patterns {
    thread_local! {
        static COMPILED: RefCell<HashMap<(usize, usize), Patterns>> = RefCell::default();
    }
    COMPILED.with_borrow_mut(|lists| {
        lists
            .entry((patterns.as_ptr() as usize, patterns.len()))
            .or_insert_with(|| {
                patterns
                    .split('|')
                    .map(|p| {
                        p.split_whitespace()
                            .map(Word::parse)
                            .collect::<Box<[Word]>>()
                    })
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .clone()
    })
}

type WordSet = std::collections::HashSet<&'static str, foldhash::fast::FixedState>;

/// The negators and the words that end a negation's reach, as sets made once per process.
fn negation_sets() -> &'static (WordSet, WordSet) {
    static SETS: std::sync::OnceLock<(WordSet, WordSet)> = std::sync::OnceLock::new();
    SETS.get_or_init(|| {
        (
            NEGATORS.split('|').collect(),
            NEGATION_STOPS.split('|').collect(),
        )
    })
}

#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

/// The description as lowercase words, each tagged with its sentence.
#[derive(Default)]
pub(super) struct Text {
    words: Vec<String>,
    /// Where each word occurs: a pattern starting with a plain word is tried only there
    /// (hundreds of patterns meet every description).
    at: HashMap<String, Vec<usize>, foldhash::fast::FixedState>,
    /// The distinct words, sorted: a pattern starting with a stem (`profil*`) looks up the
    /// range of words with that start instead of trying every word.
    distinct: Vec<String>,
    sentence: Vec<usize>,
    /// Sentences that end with a question mark.
    questions: Vec<usize>,
    /// Per word: it is one of `NEGATORS`, one of `NEGATION_STOPS`.
    negates: Vec<bool>,
    stops_negation: Vec<bool>,
    /// Where the analyst's last correction starts, and the share of weight kept before it.
    pub(super) correction: Option<(usize, f64)>,
}

impl Text {
    pub(super) fn new(description: &str) -> Self {
        let mut text = Text::default();
        let chars: Vec<char> = description.to_lowercase().chars().collect();
        let (mut word, mut sentence) = (String::new(), 0);
        for (index, &c) in chars.iter().enumerate() {
            if c.is_alphanumeric() || c == '_' {
                word.push(c);
                continue;
            }
            // Dropping apostrophes makes "can't" and "cant" the same word.
            if c == '\'' || c == '\u{2019}' {
                continue;
            }
            text.push_word(&mut word, sentence);
            if c == '?' && !text.questions.contains(&sentence) {
                text.questions.push(sentence);
            }
            // A dot inside "1.2M" or "a.b.c" does not end a sentence.
            let next_is_word = chars.get(index + 1).is_some_and(|n| n.is_alphanumeric());
            if matches!(c, '!' | '?' | ';' | '\n') || (c == '.' && !next_is_word) {
                sentence += 1;
            }
        }
        text.push_word(&mut word, sentence);
        text.distinct = text.at.keys().cloned().collect();
        text.distinct.sort_unstable();
        let (negators, stops) = negation_sets();
        text.negates = text
            .words
            .iter()
            .map(|w| negators.contains(w.as_str()))
            .collect();
        text.stops_negation = text
            .words
            .iter()
            .map(|w| stops.contains(w.as_str()))
            .collect();
        text.correction = text.find_correction();
        text
    }

    /// The description's words, lowercase, without apostrophes.
    pub(super) fn words(&self) -> &[String] {
        &self.words
    }

    /// Which sentence the word at `index` is in.
    pub(super) fn sentence_of(&self, index: usize) -> usize {
        self.sentence[index]
    }

    /// Whether any sentence ends with a question mark.
    pub(super) fn has_question(&self) -> bool {
        !self.questions.is_empty()
    }

    fn push_word(&mut self, word: &mut String, sentence: usize) {
        if !word.is_empty() {
            self.at
                .entry(word.clone())
                .or_default()
                .push(self.words.len());
            self.words.push(std::mem::take(word));
            self.sentence.push(sentence);
        }
    }

    fn find_correction(&self) -> Option<(usize, f64)> {
        let first_hedge = self.spans(HEDGES).into_iter().map(|s| s.end).min();
        let hedged_buts = first_hedge.into_iter().flat_map(|hedge| {
            let buts = self.spans("but|however|though").into_iter();
            buts.filter(move |s| s.start >= hedge)
        });
        let retractions = self.spans(RETRACTION_CUES).into_iter().chain(hedged_buts);
        let retractions = retractions.map(|s| (s.start, RETRACTED_KEEP));
        let causes = self
            .spans(CAUSE_CUES)
            .into_iter()
            .map(|s| (s.start, SYMPTOM_KEEP));
        // The last correction wins; at one spot a retraction beats a cause.
        retractions
            .chain(causes)
            .filter(|(at, _)| *at > 0)
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
    }

    /// Every match of any of the `|`-separated patterns, in text order.
    fn spans(&self, patterns: &'static str) -> Vec<Span> {
        let mut spans = Vec::new();
        for pattern in compiled(patterns).iter() {
            let mut try_at = |start: usize| {
                if let Some(end) = self.match_at(pattern, start) {
                    spans.push(Span { start, end });
                }
            };
            let starts: Box<dyn Iterator<Item = &String>> = match pattern[0] {
                Word::Exact(first) => {
                    Box::new(self.at.get_key_value(first).map(|(k, _)| k).into_iter())
                }
                Word::Prefix(stem) => {
                    let from = self.distinct.partition_point(|w| w.as_str() < stem);
                    Box::new(
                        self.distinct[from..]
                            .iter()
                            .take_while(move |w| w.starts_with(stem)),
                    )
                }
                Word::Suffix(_) => Box::new(self.distinct.iter().filter(|w| pattern[0].matches(w))),
            };
            for word in starts {
                self.at[word].iter().for_each(|&i| try_at(i));
            }
        }
        spans.sort_by_key(|s| (s.start, s.end));
        spans
    }

    fn match_at(&self, pattern: &[Word], start: usize) -> Option<usize> {
        let end = start + pattern.len();
        let words = self.words.get(start..end)?;
        let same_sentence = self.sentence[start] == self.sentence[end - 1];
        let matched = same_sentence && pattern.iter().zip(words).all(|(p, w)| p.matches(w));
        matched.then_some(end)
    }

    /// The negator shortly before `start` (but not before `floor`) that flips the match.
    fn negator(&self, start: usize, floor: usize) -> Option<usize> {
        let reach = start.saturating_sub(NEGATION_REACH).max(floor);
        for index in (reach..start).rev() {
            if self.sentence[index] != self.sentence[start] || self.stops_negation[index] {
                return None;
            }
            if self.negates[index] {
                return Some(index);
            }
        }
        None
    }

    pub(super) fn hit(&self, cue: &Cue) -> Option<Hit> {
        let (span, shown) = match *cue {
            Any(patterns) => self.last_span(patterns, false)?,
            Negated(patterns) => self.last_span(patterns, true)?,
            Near(first, second) => self.last_pair(first, second)?,
            Question(patterns) => self.last_question(patterns)?,
        };
        let keep = match self.correction {
            Some((at, keep)) if span.start < at => keep,
            _ => 1.0,
        };
        Some(Hit { shown, keep })
    }

    fn last_span(&self, patterns: &'static str, want_negated: bool) -> Option<(Span, String)> {
        let spans = self.spans(patterns).into_iter().rev();
        let (span, negator) = spans
            .map(|s| (s, self.negator(s.start, 0)))
            .find(|(_, negator)| negator.is_some() == want_negated)?;
        // Show a negated match from its negator: "hasnt been refreshed", not "refreshed".
        let shown = Span {
            start: negator.unwrap_or(span.start),
            end: span.end,
        };
        Some((span, format!("\"{}\"", self.show(shown))))
    }

    fn last_pair(&self, first: &'static str, second: &'static str) -> Option<(Span, String)> {
        let seconds = self.spans(second);
        let mut best: Option<(Span, Span)> = None;
        for a in self.spans(first) {
            for &b in &seconds {
                let (left, right) = if a.start <= b.start { (a, b) } else { (b, a) };
                let close = right.start >= left.end && right.start - left.end <= NEAR_GAP;
                let same_sentence = self.sentence[left.start] == self.sentence[right.start];
                let later = best.is_none_or(|(kept, _)| left.start >= kept.start);
                if !(close && same_sentence && later) {
                    continue;
                }
                // A negator inside the left match ("doesnt have") does not negate the right one.
                let affirmed = self.negator(left.start, 0).is_none()
                    && self.negator(right.start, left.end).is_none();
                if affirmed {
                    best = Some((left, right));
                }
            }
        }
        let (left, right) = best?;
        let shown = format!("\"{}\" near \"{}\"", self.show(left), self.show(right));
        Some((left, shown))
    }

    fn last_question(&self, patterns: &'static str) -> Option<(Span, String)> {
        let opens_question = |s: &Span| {
            let sentence = self.sentence[s.start];
            let first = s.start == 0 || self.sentence[s.start - 1] != sentence;
            first && self.questions.contains(&sentence)
        };
        let span = self.spans(patterns).into_iter().rfind(opens_question)?;
        Some((span, format!("a question starting \"{}\"", self.show(span))))
    }

    fn show(&self, span: Span) -> String {
        self.words[span.start..span.end].join(" ")
    }
}
