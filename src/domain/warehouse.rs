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
