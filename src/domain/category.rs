//! Report categories and the analyst's own pick of a problem kind.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of problem a report is about, as the desk classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    StaleProfile,
    WrongColumnType,
    FailedReport,
    ProfilingFailure,
    Other,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 5] = [
        Category::StaleProfile,
        Category::WrongColumnType,
        Category::FailedReport,
        Category::ProfilingFailure,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::StaleProfile => "stale_profile",
            Category::WrongColumnType => "wrong_column_type",
            Category::FailedReport => "failed_report",
            Category::ProfilingFailure => "profiling_failure",
            Category::Other => "other",
        }
    }

    /// Human label used on pages and in emails.
    pub fn label(self) -> &'static str {
        match self {
            Category::StaleProfile => "Stale profile",
            Category::WrongColumnType => "Wrong column type",
            Category::FailedReport => "Failed report generation",
            Category::ProfilingFailure => "Profiling run failure",
            Category::Other => "Other / question",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == value)
            .ok_or_else(|| {
                format!(
                    "unknown category '{value}'; expected one of: {}",
                    Category::ALL.map(|c| c.as_str()).join(", ")
                )
            })
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The problem kind an analyst picked on the form: a category, or "unsure".
/// The classifier treats it as a prior only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    Known(Category),
    Unsure,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Known(c) => c.as_str(),
            ProblemKind::Unsure => "unsure",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        if value == "unsure" {
            return Ok(ProblemKind::Unsure);
        }
        Category::parse(value).map(ProblemKind::Known).map_err(|_| {
            format!(
                "unknown problem kind '{value}'; expected one of: {}, unsure",
                Category::ALL.map(|c| c.as_str()).join(", ")
            )
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            ProblemKind::Known(c) => c.label(),
            ProblemKind::Unsure => "Not sure",
        }
    }

    /// The category the analyst suggested, if any.
    pub fn suggested(self) -> Option<Category> {
        match self {
            ProblemKind::Known(c) => Some(c),
            ProblemKind::Unsure => None,
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An agent's verdict on a wrong-column-type report: the profiler typed the column
/// wrongly (it counts against semantic-type accuracy) or it did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeVerdict {
    Confirmed,
    Rejected,
}

impl TypeVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            TypeVerdict::Confirmed => "confirmed",
            TypeVerdict::Rejected => "rejected",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TypeVerdict::Confirmed => "Wrong type confirmed",
            TypeVerdict::Rejected => "Type was right",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "confirmed" => Ok(TypeVerdict::Confirmed),
            "rejected" => Ok(TypeVerdict::Rejected),
            other => Err(format!(
                "unknown verdict '{other}'; expected confirmed or rejected"
            )),
        }
    }
}

impl fmt::Display for TypeVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_round_trips() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Ok(c));
        }
    }

    #[test]
    fn unsure_is_a_kind_but_not_a_category() {
        assert_eq!(ProblemKind::parse("unsure"), Ok(ProblemKind::Unsure));
        assert!(Category::parse("unsure").is_err());
        assert!(ProblemKind::parse("bogus").unwrap_err().contains("unsure"));
    }
}
