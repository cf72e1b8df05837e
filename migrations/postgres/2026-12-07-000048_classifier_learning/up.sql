-- An agent's reclassification is a labelled example: the report as the analyst filed it,
-- the category the classifier gave and the one the agent chose, and why. Rows are only
-- added, so the newest id says which corrections a model was trained on.
CREATE TABLE classifier_corrections (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    description TEXT NOT NULL,
    column_name TEXT,
    detected_type TEXT,
    expected_type TEXT,
    from_category TEXT NOT NULL,
    label TEXT NOT NULL,
    reason TEXT NOT NULL,
    corrected_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Each model the desk trained, one row per distinct set of weights (digest): desks on one
-- database that train the same examples share a row and so a version. A retrain that did
-- worse on the held-back slice than the model in use is kept too, with outcome 'kept_previous'.
CREATE TABLE classifier_models (
    id BIGSERIAL PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    trained_at TIMESTAMP NOT NULL,
    corpus_examples INTEGER NOT NULL,
    corrections INTEGER NOT NULL,
    last_correction_id BIGINT NOT NULL,
    slice_accuracy DOUBLE PRECISION,
    previous_slice_accuracy DOUBLE PRECISION,
    cross_validation TEXT,
    outcome TEXT NOT NULL
);
