//! Labelled reports: the corpus's JSON Lines (the report form's fields plus the category a
//! senior support engineer gives) and the agents' corrections.

use std::hash::{Hash, Hasher};

use serde::Deserialize;

use crate::domain::category::{Category, ProblemKind};

/// One labelled report.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    /// The analyst's own pick.
    pub kind: ProblemKind,
    pub description: String,
    pub column: Option<String>,
    pub detected_type: Option<String>,
    pub expected_type: Option<String>,
    /// The right category.
    pub label: Category,
    /// How much it counts in training: an agent's correction counts more than a corpus line.
    pub weight: f64,
}

/// A corpus line as written; fields the classifier does not read are allowed.
#[derive(Deserialize)]
struct Line {
    kind: String,
    description: String,
    #[serde(default)]
    column: Option<String>,
    #[serde(default)]
    detected_type: Option<String>,
    #[serde(default)]
    expected_type: Option<String>,
    label: String,
}

impl Labelled {
    /// Every non-blank line of `text` as a labelled report; the first bad line is an error
    /// naming its line number.
    pub fn parse_jsonl(text: &str) -> Result<Vec<Labelled>, String> {
        let lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        lines
            .map(|(index, line)| {
                Labelled::parse_line(line).map_err(|e| format!("line {}: {e}", index + 1))
            })
            .collect()
    }

    fn parse_line(line: &str) -> Result<Labelled, String> {
        let line: Line =
            serde_json::from_str(line).map_err(|e| format!("not a labelled report: {e}"))?;
        if line.description.trim().is_empty() {
            return Err("the description is empty".into());
        }
        Ok(Labelled {
            kind: ProblemKind::parse(&line.kind)?,
            label: Category::parse(&line.label)?,
            description: line.description,
            column: line.column,
            detected_type: line.detected_type,
            expected_type: line.expected_type,
            weight: 1.0,
        })
    }

    /// A number fixed by the report's text and label: which fold or slice it falls in.
    pub fn key(&self) -> u64 {
        let mut hasher = std::hash::DefaultHasher::new();
        self.description.hash(&mut hasher);
        self.label.as_str().hash(&mut hasher);
        hasher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_line_is_named_by_number() {
        let text = "{\"kind\":\"unsure\",\"description\":\"pdf blank\",\"label\":\"failed_report\"}\n\n\
                    {\"kind\":\"unsure\",\"description\":\"x\",\"label\":\"slow\"}";
        let error = Labelled::parse_jsonl(text).unwrap_err();
        assert!(error.starts_with("line 3:"), "{error}");
        assert!(error.contains("slow"), "{error}");
    }

    #[test]
    fn the_repository_corpus_parses() {
        let corpus = Labelled::parse_jsonl(super::super::model::CORPUS).unwrap();
        assert!(
            corpus.len() >= 300,
            "only {} labelled reports",
            corpus.len()
        );
    }
}
