//! Warehouse types the profiler runs against.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum WarehouseType {
    Snowflake,
    Bigquery,
    Redshift,
    Postgres,
    Databricks,
    Duckdb,
}

impl WarehouseType {
    pub const ALL: [WarehouseType; 6] = [
        WarehouseType::Snowflake,
        WarehouseType::Bigquery,
        WarehouseType::Redshift,
        WarehouseType::Postgres,
        WarehouseType::Databricks,
        WarehouseType::Duckdb,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WarehouseType::Snowflake => "snowflake",
            WarehouseType::Bigquery => "bigquery",
            WarehouseType::Redshift => "redshift",
            WarehouseType::Postgres => "postgres",
            WarehouseType::Databricks => "databricks",
            WarehouseType::Duckdb => "duckdb",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            WarehouseType::Snowflake => "Snowflake",
            WarehouseType::Bigquery => "BigQuery",
            WarehouseType::Redshift => "Redshift",
            WarehouseType::Postgres => "PostgreSQL",
            WarehouseType::Databricks => "Databricks",
            WarehouseType::Duckdb => "DuckDB",
        }
    }

    /// How many parts a table name has here, and what they are called.
    pub fn table_parts(self) -> (std::ops::RangeInclusive<usize>, &'static str) {
        match self {
            // A BigQuery table always names its dataset; the project may be implied.
            WarehouseType::Bigquery => (2..=3, "project.dataset.table"),
            WarehouseType::Databricks | WarehouseType::Duckdb => (1..=3, "catalog.schema.table"),
            WarehouseType::Snowflake | WarehouseType::Redshift | WarehouseType::Postgres => {
                (1..=3, "database.schema.table")
            }
        }
    }

    /// How the warehouse reads the case of an unquoted name part: Snowflake folds it to
    /// upper case, PostgreSQL, Redshift, DuckDB and Databricks to lower case; BigQuery
    /// dataset and table names are case-sensitive.
    pub fn unquoted_case(self) -> Case {
        match self {
            WarehouseType::Snowflake => Case::Upper,
            WarehouseType::Bigquery => Case::AsWritten,
            WarehouseType::Postgres
            | WarehouseType::Redshift
            | WarehouseType::Duckdb
            | WarehouseType::Databricks => Case::Lower,
        }
    }

    /// How it reads a quoted part: Snowflake, PostgreSQL and BigQuery keep it exactly;
    /// DuckDB, Databricks and Redshift (unless `enable_case_sensitive_identifier` is on)
    /// compare names without case even when quoted, and store them in lower case.
    pub fn quoted_case(self) -> Case {
        match self {
            WarehouseType::Snowflake | WarehouseType::Postgres | WarehouseType::Bigquery => {
                Case::AsWritten
            }
            WarehouseType::Redshift | WarehouseType::Duckdb | WarehouseType::Databricks => {
                Case::Lower
            }
        }
    }

    /// The character that quotes a name part in the warehouse's SQL.
    pub fn quote(self) -> char {
        match self {
            WarehouseType::Bigquery | WarehouseType::Databricks => '`',
            _ => '"',
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        WarehouseType::ALL
            .into_iter()
            .find(|w| w.as_str() == value)
            .ok_or_else(|| {
                format!(
                    "unknown warehouse type '{value}'; expected one of: {}",
                    WarehouseType::ALL.map(|w| w.as_str()).join(", ")
                )
            })
    }
}

/// How a name part's letter case is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Upper,
    Lower,
    AsWritten,
}

impl Case {
    pub fn apply(self, part: &str) -> String {
        match self {
            Case::Upper => part.to_uppercase(),
            Case::Lower => part.to_lowercase(),
            Case::AsWritten => part.to_string(),
        }
    }
}

impl fmt::Display for WarehouseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_and_rejects_unknown() {
        for w in WarehouseType::ALL {
            assert_eq!(WarehouseType::parse(w.as_str()), Ok(w));
        }
        let err = WarehouseType::parse("oracle").unwrap_err();
        assert!(err.contains("oracle") && err.contains("snowflake"));
    }
}
