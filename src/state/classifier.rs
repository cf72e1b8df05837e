//! The classifier model every desk process uses, swapped whole when a retrain is taken.

use std::sync::{Arc, OnceLock, RwLock};

use crate::db::models::classifier::{ModelRecord, Seen};
use crate::domain::classify::{Labelled, Model};

/// The model in use and what it was trained on; cheap to clone (one shared slot).
#[derive(Clone)]
pub struct Classifier {
    slot: Arc<RwLock<Arc<Current>>>,
}

/// A model and its record. The model is trained on first use, so a one-off command that
/// classifies nothing (`mail receive` of a reply) does not pay for training.
pub struct Current {
    model: OnceLock<Arc<Model>>,
    /// What to train on; `None`: the corpus alone (trained once per process).
    examples: Option<Vec<Labelled>>,
    /// The corrections it was trained on.
    pub trained_on: Seen,
    /// The corrections last looked at: a retrain that did worse leaves the model in use
    /// but is not tried again until more corrections come.
    pub considered: Seen,
    /// Its version and scores, once recorded (the server records it; a one-off command
    /// does not write).
    pub record: Option<ModelRecord>,
}

impl Current {
    /// A model trained already.
    pub fn trained(model: Arc<Model>, trained_on: Seen, record: Option<ModelRecord>) -> Current {
        Current {
            model: OnceLock::from(model),
            examples: None,
            trained_on,
            considered: trained_on,
            record,
        }
    }

    /// A model to train on first use from `examples` (`None`: the corpus alone).
    pub fn untrained(examples: Option<Vec<Labelled>>, trained_on: Seen) -> Current {
        Current {
            model: OnceLock::new(),
            examples,
            trained_on,
            considered: trained_on,
            record: None,
        }
    }

    pub fn model(&self) -> Arc<Model> {
        self.model
            .get_or_init(|| match &self.examples {
                Some(examples) => Arc::new(Model::train(examples)),
                None => Model::shared_builtin(),
            })
            .clone()
    }

    /// The same model, with other bookkeeping.
    pub fn with(&self, considered: Seen, record: Option<ModelRecord>) -> Current {
        Current {
            considered,
            record,
            ..Current::trained(self.model(), self.trained_on, None)
        }
    }
}

impl Classifier {
    pub fn new(current: Current) -> Classifier {
        Classifier {
            slot: Arc::new(RwLock::new(Arc::new(current))),
        }
    }

    /// The model to classify with now.
    pub fn model(&self) -> Arc<Model> {
        self.current().model()
    }

    pub fn current(&self) -> Arc<Current> {
        // A panic while the lock was held cannot leave a half-written slot: the slot is
        // only ever replaced whole.
        self.slot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn replace(&self, current: Current) {
        *self.slot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(current);
    }
}

impl Default for Classifier {
    /// The model trained on the repository's corpus alone.
    fn default() -> Classifier {
        Classifier::new(Current::untrained(None, Seen::default()))
    }
}
