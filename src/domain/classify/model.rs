//! The learned half of the classifier: multinomial logistic regression over the sparse
//! features of `features`, trained from labelled reports (the corpus in the repository and
//! the agents' corrections).
//!
//! Written here rather than taken from linfa or smartcore: both fit dense matrices
//! (examples × vocabulary), and a report uses a few hundred of several thousand features;
//! the sparse form is a short loop that trains in well under a second and scores a report
//! in microseconds. Training is deterministic (a fixed shuffle), so every desk on one
//! database trains the same model from the same examples.

use std::collections::HashMap;
use std::sync::OnceLock;

use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::features::{self, Feature};
use super::text::Text;
use super::{ClassifierInput, Labelled};
use crate::domain::category::Category;
use crate::domain::run::RunEvidence;

/// How many categories the model tells apart.
pub const CATEGORIES: usize = Category::ALL.len();

/// Passes over the examples, the step size and the L2 penalty: chosen by cross-validation
/// on the corpus (`inspect-desk classify eval --cross-validate`).
const EPOCHS: usize = 30;
const STEP: f64 = 0.1;
const L2: f64 = 1e-4;
/// Where `other`'s bias starts: one weak hint alone does not make a category.
const OTHER_BASELINE: f64 = 0.5;
const SHUFFLE_SEED: u64 = 0x1e55_0fc0_ffee;

/// The repository's labelled reports, built into the binary.
pub const CORPUS: &str = include_str!("../../../config/classifier/corpus.jsonl");

/// The repository's corpus, parsed once per process. It is checked by the tests, so a bad
/// line is a build that must not ship.
pub fn corpus() -> &'static [Labelled] {
    static PARSED: OnceLock<Vec<Labelled>> = OnceLock::new();
    PARSED.get_or_init(|| {
        Labelled::parse_jsonl(CORPUS)
            .unwrap_or_else(|e| panic!("config/classifier/corpus.jsonl: {e}"))
    })
}

/// A training example as (feature, value) pairs, its label's slot and its weight.
type Encoded = (Vec<(usize, f64)>, usize, f64);

/// Weights per feature and category.
#[derive(Debug, Clone)]
pub struct Model {
    index: HashMap<String, usize, foldhash::fast::FixedState>,
    weights: Vec<[f64; CATEGORIES]>,
    bias: [f64; CATEGORIES],
    /// How many examples it was trained on.
    pub examples: usize,
}

impl Model {
    /// The model trained on the repository's corpus alone, trained once per process.
    pub fn builtin() -> &'static Model {
        Model::builtin_shared_ref().as_ref()
    }

    /// `builtin`, shared.
    pub fn shared_builtin() -> std::sync::Arc<Model> {
        Model::builtin_shared_ref().clone()
    }

    fn builtin_shared_ref() -> &'static std::sync::Arc<Model> {
        static BUILTIN: OnceLock<std::sync::Arc<Model>> = OnceLock::new();
        BUILTIN.get_or_init(|| std::sync::Arc::new(Model::train(corpus())))
    }

    /// Fit a model to `examples`; each counts as much as its `weight`.
    pub fn train(examples: &[Labelled]) -> Model {
        let evidence = RunEvidence::default();
        let mut index: HashMap<String, usize, foldhash::fast::FixedState> = HashMap::default();
        let mut priors: Vec<[f64; CATEGORIES]> = Vec::new();
        let encoded: Vec<Encoded> = examples
            .iter()
            .map(|example| {
                let input = example.input(&evidence);
                let text = Text::new(input.description);
                let encoded = features::extract(&input, &text)
                    .into_iter()
                    .map(|f| {
                        let next = index.len();
                        let at = *index.entry(f.key).or_insert(next);
                        if at == next {
                            let mut prior = [0.0; CATEGORIES];
                            if let Some((category, weight)) = f.prior {
                                prior[slot(category)] = weight;
                            }
                            priors.push(prior);
                        }
                        (at, f.value)
                    })
                    .collect();
                (encoded, slot(example.label), example.weight)
            })
            .collect();
        // The rules' own weights are where training starts and what it pulls back to, so
        // a rule the examples say little about keeps the weight it was written with.
        let mut weights = priors.clone();
        let mut bias = [0.0; CATEGORIES];
        bias[slot(Category::Other)] = OTHER_BASELINE;
        // AdaGrad: each weight's step shrinks with the gradients it has seen.
        let mut seen = vec![[1e-8; CATEGORIES]; index.len()];
        let mut bias_seen = [1e-8; CATEGORIES];
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(SHUFFLE_SEED);
        for _ in 0..EPOCHS {
            order.shuffle(&mut rng);
            for &i in &order {
                let (features, label, weight) = &encoded[i];
                let p = softmax(&score(&weights, &bias, features));
                for c in 0..CATEGORIES {
                    let target = if c == *label { 1.0 } else { 0.0 };
                    let error = weight * (p[c] - target);
                    bias_seen[c] += error * error;
                    bias[c] -= STEP * error / bias_seen[c].sqrt();
                    for &(f, value) in features {
                        let gradient = error * value + L2 * (weights[f][c] - priors[f][c]);
                        seen[f][c] += gradient * gradient;
                        weights[f][c] -= STEP * gradient / seen[f][c].sqrt();
                    }
                }
            }
        }
        Model {
            index,
            weights,
            bias,
            examples: examples.len(),
        }
    }

    /// A digest of the weights: two models with one digest classify alike.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut keys: Vec<(&String, &usize)> = self.index.iter().collect();
        keys.sort();
        let mut hasher = Sha256::new();
        for (key, &at) in keys {
            hasher.update(key.as_bytes());
            hasher.update([0]);
            for weight in self.weights[at] {
                hasher.update(weight.to_bits().to_le_bytes());
            }
        }
        for weight in self.bias {
            hasher.update(weight.to_bits().to_le_bytes());
        }
        let digest = hasher.finalize();
        digest[..12].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// What each feature adds to each category (nothing for a feature never seen in
    /// training), and each category's log-odds: the bias plus those.
    pub(super) fn weigh(
        &self,
        features: &[Feature],
    ) -> (Vec<[f64; CATEGORIES]>, [f64; CATEGORIES]) {
        let mut logits = self.bias;
        let weighed = features
            .iter()
            .map(|f| match self.index.get(&f.key) {
                Some(&i) => {
                    let added = self.weights[i].map(|w| w * f.value);
                    for (logit, w) in logits.iter_mut().zip(added) {
                        *logit += w;
                    }
                    added
                }
                None => [0.0; CATEGORIES],
            })
            .collect();
        (weighed, logits)
    }
}

fn score(
    weights: &[[f64; CATEGORIES]],
    bias: &[f64; CATEGORIES],
    features: &[(usize, f64)],
) -> [f64; CATEGORIES] {
    let mut logits = *bias;
    for &(f, value) in features {
        for (logit, w) in logits.iter_mut().zip(&weights[f]) {
            *logit += w * value;
        }
    }
    logits
}

/// Probabilities from log-odds.
pub(super) fn softmax(logits: &[f64; CATEGORIES]) -> [f64; CATEGORIES] {
    let top = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp = logits.map(|l| (l - top).exp());
    let total: f64 = exp.iter().sum();
    exp.map(|e| e / total)
}

/// A category's place in `Category::ALL`.
pub(super) fn slot(category: Category) -> usize {
    Category::ALL
        .iter()
        .position(|c| *c == category)
        .unwrap_or(0)
}

/// Used by `ClassifierInput` construction in training.
impl Labelled {
    pub(super) fn input<'a>(&'a self, evidence: &'a RunEvidence) -> ClassifierInput<'a> {
        ClassifierInput {
            kind: self.kind,
            description: &self.description,
            column: self.column.as_deref(),
            detected_type: self.detected_type.as_deref(),
            expected_type: self.expected_type.as_deref(),
            evidence,
        }
    }
}
