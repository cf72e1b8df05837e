//! Deterministic, explainable classification of analyst reports.
//!
//! Every signal is data: a row of [`RULES`] matched against the description, or one of
//! the few structured checks on form fields, the analyst's pick and run evidence. A signal
//! that fires adds its weight to one category and leaves a reason. The best total wins; on
//! a tie `other` wins, then the earlier category in [`Category::ALL`].

use crate::domain::category::{Category, ProblemKind};
use crate::domain::run::RunEvidence;

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

const STALE: Category = Category::StaleProfile;
const WRONG_TYPE: Category = Category::WrongColumnType;
const REPORT: Category = Category::FailedReport;
const RUN: Category = Category::ProfilingFailure;
const OTHER: Category = Category::Other;

/// Where a rule looks. Patterns are `|`-separated, lowercase, without apostrophes
/// ("can't" is "cant"); a word ending in `*` matches any word starting with it, and
/// one starting with `*` any word ending with it (`*_timeout` finds "statement_timeout").
enum Cue {
    /// Any pattern, unless negated ("no errors" is not an error).
    Any(&'static str),
    /// Any pattern, only when negated ("hasn't been refreshed").
    Negated(&'static str),
    /// One pattern from each list in the same sentence, at most `NEAR_GAP` words apart.
    Near(&'static str, &'static str),
    /// A sentence that starts with a pattern and ends with a question mark.
    Question(&'static str),
}
use Cue::{Any, Near, Negated, Question};

struct Rule {
    category: Category,
    weight: f64,
    label: &'static str,
    cue: Cue,
}

const fn rule(category: Category, weight: f64, label: &'static str, cue: Cue) -> Rule {
    Rule {
        category,
        weight,
        label,
        cue,
    }
}

const RUN_OBJECTS: &str = "profil*|run|runs|job|jobs|scan*|quer*|statement*|warehouse*|\
    cluster*|task*|refresh*|reprofil*|execution*";
const RUN_FAILS: &str = "never finish*|never complet*|fail*|error*|crash*|abort*|kill*|died|\
    dies|dying|broke*|cancel*|terminat*|exception*|timeout*|timed out|times out|timing out|\
    stuck|hang*|hung";
const REPORT_OBJECTS: &str = "report|reports|generat*|context*|button*|pdf*|export*|artifact*|\
    artefact*|download*|template*|render*|link|document*|page|pages|section*|chart*";
const REPORT_FAILS: &str = "fail*|error*|broke*|crash*|blank|empty|404*|500*|502*|503*|\
    went wrong|spin*|hang*|stuck|cant|cannot|unable|wont|timeout*|times out|timed out|garbled|\
    corrupt*|nothing happens|does nothing|not found|unavailable|greyed out|grayed out|\
    didnt complete|never complet*|not complet*";
const INFERENCE_VERBS: &str = "detected|classified|categorized|categorised|flagged|treated|\
    marked|tagged|labeled|labelled|recognized|recognised|identified|typed|inferred|interpreted|\
    parsed|profiled|thinks|think|calls|shown|shows up|showing up|comes up|came up|comes through|\
    came through|ends up";
const TYPE_WORDS: &str = "integer*|int|decimal*|numeric|number|float*|string|text|boolean*|bool|\
    flag|categor*|enum|currency|money|email*|phone*|postal*|zip*|identifier*|id|ids|uuid*|ip|\
    url|date*|timestamp*|country|name|address*|measure|percent*|json|latitude|longitude|codes|\
    quantit*";

// Telling phrases carry 3, telling words 2, weak hints 1; a negative weight records evidence
// against a category ("the run succeeded" argues against a run failure).
#[rustfmt::skip]
const RULES: &[Rule] = &[
    rule(STALE, 3.0, "profile called out of date", Any("stale|out of date|outdated|out of sync|\
        lagging|lags|behind|frozen|unchanged|same as before|stuck at|stops at|stop at|ends in|\
        ends at|only goes up to|no longer accurate|no longer match*")),
    rule(STALE, 3.0, "profile not refreshed", Negated("current|latest|refresh*|updat*|re run*|\
        rerun*|reprofil*|re profil*|rescan*|chang*|up to date|reflect*|pick* up|sync*|move*|\
        budge*")),
    rule(STALE, 3.0, "profile shows old numbers", Near(
        "old|older|previous|outdated|yesterdays|earlier|last|prior",
        "number*|data|value*|count*|stat*|result*|snapshot*|figure*|metric*|name*|version*|\
        schema")),
    rule(STALE, 3.0, "profile still shows what changed", Any("no longer exist*|no longer there|\
        dont exist anymore|doesnt exist anymore|still think*|still appear*|still count*|\
        still treat*|still exist*|still there|still show*|still list*|still display*|\
        still includ*|still has|still have|still contain*|still see|still say*|still report*|\
        still at")),
    rule(STALE, 3.0, "profile date called out", Any("last profiled|last refreshed|last refresh|\
        last updated|last scanned|profiled on|profiled at|profile date|profiled date|as of|\
        from before|from last*|days old|weeks old|months old")),
    rule(STALE, 3.0, "columns missing from the profile", Near("column|columns", "missing|absent|\
        gone|disappeared|not listed|not shown|not showing|dont show|doesnt show|dont appear|\
        doesnt appear|not there")),
    rule(STALE, 2.0, "table changed since profiling", Any("data changed|table changed|\
        schema changed|data has changed|table has changed|changed from|converted from|altered|\
        alter table|backfill*|reload*|etl|ingest*|dropped|renamed|new column*|added column*|\
        schema change*|migration|migrated|truncated|deleted|removed|nightly load|daily load")),
    rule(STALE, 2.0, "table changed after the profile", Near("we|was|were|been|our team",
        "fixed|load*|added|chang*|updat*|inserted|cleaned|corrected|normali*|dedup*|merged|\
        replaced|reprocessed|recomputed")),
    rule(STALE, 2.0, "profile disagrees with the table", Any("but we have|even though we have|\
        off by|compared to|compared with|select count|but the table|but there are|but it has|\
        but it now|but its now|now has|has now|currently has|currently contains|has grown|grown|\
        newer|more rows|new rows|new data|reality|actual count|actual row*|table has|\
        table now has|table actually has|way lower|way higher|way off|lower than|higher than|\
        doesnt match|does not match|dont match|mismatch*")),
    rule(STALE, 2.0, "refresh or freshness mentioned", Any("refresh*|reprofile|re profile|\
        re run*|rerun*|freshness|up to date")),
    rule(STALE, 1.0, "profile display contradicted", Near("shows|says|lists|displays|claims",
        "but|whereas|yet|compared to|versus|vs")),
    rule(STALE, 1.0, "time since the profile", Any("ago|since|yesterday|today|this week|\
        last week|last month|weeks|months|days|anymore|monday|tuesday|wednesday|thursday|friday|\
        saturday|sunday|weekend")),

    rule(WRONG_TYPE, 3.0, "type inference called wrong", Any("wrong type|incorrect type|\
        misclassif*|misdetect*|mistyped|mis typed|misidentif*|misinterpret*|wrongly typed|\
        wrongly detected")),
    rule(WRONG_TYPE, 3.0, "type called wrong", Near(
        "type|types|typed|classified|classification|inferred|detected",
        "wrong*|incorrect*|mistake*|bogus|nonsense")),
    rule(WRONG_TYPE, 3.0, "analyst names the right type", Near("should be|those are|these are|\
        they are|its a|its an|it is a|its actually|is actually|is really|its really|instead of|\
        rather than|not a|isnt a|supposed to be|meant to be", TYPE_WORDS)),
    rule(WRONG_TYPE, 2.0, "type inference discussed", Any("semantic type*|column type*|\
        data type*|type detection|type inference|inferred type*|detected type*")),
    rule(WRONG_TYPE, 2.0, "column read as another type", Near(INFERENCE_VERBS, TYPE_WORDS)),
    rule(WRONG_TYPE, 2.0, "two types contrasted", Near(TYPE_WORDS, TYPE_WORDS)),
    rule(WRONG_TYPE, 1.0, "semantic type named", Any("integer*|decimal*|numeric|float*|boolean*|\
        categorical|currency|email*|postal code*|zip code*|identifier*|uuid*|ip address*|\
        timestamp*|string|free text|country code*|person name*|phone number*")),
    rule(WRONG_TYPE, 1.0, "statistic that only fits another type", Any("mean|stddev|std dev|\
        average*|histogram*|leading zero*|aggregat*|summed|sum of|distinct values|cardinality")),

    rule(REPORT, 3.0, "report output failing", Near(REPORT_OBJECTS, REPORT_FAILS)),
    rule(REPORT, 3.0, "report page visibly broken", Any("blank page|blank screen|white screen|\
        error banner|went wrong|empty section*|sections are empty|half the sections|spinner|\
        spins forever|wont load|doesnt load|does not load|never loads|not loading|wont open|\
        doesnt open|fails to load|404*|502*|503*|bad gateway|server error|broken link|dead link")),
    rule(REPORT, 2.0, "report output generated", Near("generat*|render*|export*|download*|print*",
        "report|reports|pdf*|context*|artifact*|artefact*|document*")),
    rule(REPORT, 2.0, "report artefact named", Any("pdf*|export*|context artifact*|artifact*|\
        artefact*|template*|render*")),

    rule(RUN, 3.0, "profiling run fails", Near(RUN_OBJECTS, RUN_FAILS)),
    rule(RUN, 3.0, "run timed out", Any("timed out|timing out|times out|time out|timeout*|\
        *_timeout|took too long|takes forever|takes too long")),
    rule(RUN, 3.0, "run never finishes", Any("never end*|never returns|wont finish|wont complete|\
        for hours|been going|pending|queued|still running|stuck running|stuck in running|\
        keeps running|been running|running forever|running for|hangs|hanging|hung|\
        stuck in queue*|no progress")),
    rule(RUN, 3.0, "run not finished", Negated("finish*|complet*|succeed*|done|start*|begin*")),
    rule(RUN, 3.0, "warehouse refused access", Any("access denied|permission denied|\
        not authorized|unauthorized|forbidden|no permission*|no privilege*|\
        insufficient privilege*|insufficient permission*|credential*|password*|service account*|\
        key rotation|authentication fail*")),
    rule(RUN, 3.0, "warehouse lacks a grant", Near(
        "denied|does not have|doesnt have|lacks|missing|revoked|expired",
        "permission*|privilege*|grant*|credential*|role")),
    rule(RUN, 3.0, "warehouse error", Any("does not exist|no such table|out of memory|oom|\
        disk full|no space|quota*|resources exceeded|memory limit|terminated|killed|suspended|\
        connection refused|connection reset|could not connect|cannot connect|cant connect|\
        unable to connect|lost connection|sql compilation|syntax error|deadlock*")),
    rule(RUN, 2.0, "no profile produced", Any("no profile|never profiled|nothing profiled|\
        no results|no stats|no statistics|profile is empty|empty profile")),
    rule(RUN, 1.0, "warehouse-side terms", Any("sql|warehouse*|cluster*|query|queries|statement|\
        compute|executor*|spark|snowflake|bigquery|redshift|databricks|postgres*|duckdb")),
    rule(RUN, -2.0, "runs reported healthy", Any("running fine|runs fine|ran fine|succeeded|\
        successful*|completed|finished|green|works fine|no error*|without error*")),

    rule(OTHER, 3.0, "how-to question", Any("how do|how does|how are|how is|how can|how often|\
        is there a|is there an|is there any|is it possible|where can i|where do i|what does|\
        can someone explain")),
    rule(OTHER, 3.0, "feature request", Any("would be great|would be nice|would love|\
        it would help|feature request|please add|could you add|can you add|could we add|\
        can we add|add support|support for|i wish|nice to have|suggestion|enhancement|option to|\
        ability to|allow us|new feature")),
    rule(OTHER, 2.0, "documentation asked for", Any("docs|documentation|documented|guide|\
        tutorial|example*")),
    rule(OTHER, 2.0, "settings question", Any("default|defaults|setting|settings|configure|\
        configuration|schedule*")),
    rule(OTHER, 2.0, "curiosity, not a problem", Any("curious|wondering|quick question|\
        just asking|out of interest")),
    rule(OTHER, 2.0, "access or account question", Near("give|grant|add|invite|share|request|\
        manage", "access|teammate*|colleague*|user*|seat*|account*|workspace*")),
    rule(OTHER, 2.0, "account or product question", Any("api|sso|login|log in|sign in|billing|\
        pricing|license|slack|integration*|programmatic*|sdk|cli")),
    rule(OTHER, 1.5, "asked as a question", Question("what|which|who|when|where|how|does|do|is|\
        are|will|can")),
];

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
/// What the description must mention for a failed run to count as its likely cause.
const RUN_TALK: &str = "profil*|run|runs|job|jobs|scan*|refresh*|numbers|stats";

const NEAR_GAP: usize = 5;
const NEGATION_REACH: usize = 3;
// What an analyst retracts keeps a quarter of its weight, a symptom before a cause half.
const RETRACTED_KEEP: f64 = 0.25;
const SYMPTOM_KEEP: f64 = 0.5;
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
        let (weight, talk) = match text.hit(&Any(RUN_TALK)) {
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

/// A rule's match: the last one, so text after an analyst's correction wins.
struct Hit {
    shown: String,
    /// Share of the rule's weight kept: below 1 before the analyst's correction.
    keep: f64,
}

#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

/// The description as lowercase words, each tagged with its sentence.
#[derive(Default)]
struct Text {
    words: Vec<String>,
    sentence: Vec<usize>,
    /// Sentences that end with a question mark.
    questions: Vec<usize>,
    /// Where the analyst's last correction starts, and the share of weight kept before it.
    correction: Option<(usize, f64)>,
}

impl Text {
    fn new(description: &str) -> Self {
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
        text.correction = text.find_correction();
        text
    }

    fn push_word(&mut self, word: &mut String, sentence: usize) {
        if !word.is_empty() {
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
    fn spans(&self, patterns: &str) -> Vec<Span> {
        let mut spans = Vec::new();
        for pattern in patterns.split('|') {
            let pattern: Vec<&str> = pattern.split_whitespace().collect();
            for start in 0..self.words.len() {
                if let Some(end) = self.match_at(&pattern, start) {
                    spans.push(Span { start, end });
                }
            }
        }
        spans.sort_by_key(|s| (s.start, s.end));
        spans
    }

    fn match_at(&self, pattern: &[&str], start: usize) -> Option<usize> {
        let end = start + pattern.len();
        let words = self.words.get(start..end)?;
        let word_matches =
            |(p, w): (&&str, &String)| match (p.strip_prefix('*'), p.strip_suffix('*')) {
                (Some(tail), _) => w.ends_with(tail),
                (None, Some(stem)) => w.starts_with(stem),
                (None, None) => p == w,
            };
        let same_sentence = self.sentence[start] == self.sentence[end - 1];
        let matched =
            !pattern.is_empty() && same_sentence && pattern.iter().zip(words).all(word_matches);
        matched.then_some(end)
    }

    /// The negator shortly before `start` (but not before `floor`) that flips the match.
    fn negator(&self, start: usize, floor: usize) -> Option<usize> {
        let is_one_of = |list: &str, word: &str| list.split('|').any(|item| item == word);
        let reach = start.saturating_sub(NEGATION_REACH).max(floor);
        for index in (reach..start).rev() {
            let word = self.words[index].as_str();
            if self.sentence[index] != self.sentence[start] || is_one_of(NEGATION_STOPS, word) {
                return None;
            }
            if is_one_of(NEGATORS, word) {
                return Some(index);
            }
        }
        None
    }

    fn hit(&self, cue: &Cue) -> Option<Hit> {
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

    fn last_span(&self, patterns: &str, want_negated: bool) -> Option<(Span, String)> {
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

    fn last_pair(&self, first: &str, second: &str) -> Option<(Span, String)> {
        let seconds = self.spans(second);
        let mut best: Option<(Span, Span)> = None;
        for a in self.spans(first) {
            for &b in &seconds {
                let (left, right) = if a.start <= b.start { (a, b) } else { (b, a) };
                let close = right.start >= left.end && right.start - left.end <= NEAR_GAP;
                let same_sentence = self.sentence[left.start] == self.sentence[right.start];
                // A negator inside the left match ("doesnt have") does not negate the right one.
                let affirmed = self.negator(left.start, 0).is_none()
                    && self.negator(right.start, left.end).is_none();
                let later = best.is_none_or(|(kept, _)| left.start >= kept.start);
                if close && same_sentence && affirmed && later {
                    best = Some((left, right));
                }
            }
        }
        let (left, right) = best?;
        let shown = format!("\"{}\" near \"{}\"", self.show(left), self.show(right));
        Some((left, shown))
    }

    fn last_question(&self, patterns: &str) -> Option<(Span, String)> {
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

#[cfg(test)]
mod tests {
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
        classify(&input(ProblemKind::Unsure, description))
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

    #[test]
    fn paraphrased_reports_land_in_their_category() {
        let misses: Vec<String> = PARAPHRASES
            .iter()
            .filter_map(|&(expected, kind, description)| {
                let got = classify(&input(kind, description));
                (got.category != expected).then(|| format!("{description} → {got:#?}"))
            })
            .collect();
        assert!(misses.is_empty(), "misclassified:\n{}", misses.join("\n"));
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
                classify(&input(kind, description)),
                classify(&input(kind, description))
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
            clear.confidence > ambiguous.confidence + 0.2,
            "{clear:#?}\n{ambiguous:#?}"
        );
    }

    #[test]
    fn analyst_pick_cannot_override_clear_text() {
        let description = "Exporting the inspector report to PDF fails with a template error.";
        for category in Category::ALL {
            let result = classify(&input(pick(category), description));
            assert_eq!(result.category, REPORT, "picked {category}");
        }
    }

    #[test]
    fn analyst_pick_tips_a_report_with_no_text_signal() {
        let result = classify(&input(
            pick(WRONG_TYPE),
            "Please take a look at this table.",
        ));
        assert_eq!(result.category, WRONG_TYPE);
        assert!(result.confidence < 0.5, "{result:#?}");
    }

    #[test]
    fn run_evidence_tips_an_ambiguous_report() {
        let description = "Something looks off with the numbers for this table.";
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
            classify(&ClassifierInput {
                evidence,
                ..input(UNSURE, description)
            })
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
        let result = classify(&report);
        assert_eq!(result.category, WRONG_TYPE);
        assert!(
            result.reasons[0].contains("differs from expected"),
            "{result:#?}"
        );
    }

    #[test]
    fn correction_after_but_actually_wins() {
        let result =
            unsure("Looked stale to me but actually the profiling run errors out every time.");
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
            assert!(result.confidence < 0.5, "{result:#?}");
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
}
