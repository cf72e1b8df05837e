//! Fully qualified warehouse table names.

use serde::Serialize;
use std::fmt;

use super::warehouse::WarehouseType;

/// A table as `database.schema.table`. PostgreSQL tables may be named `schema.table`
/// (the database is implied by the profiler's connection), as analysts usually write them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TableName(String);

const MAX_PART_LEN: usize = 255;

impl TableName {
    pub fn parse(value: &str, warehouse: Option<WarehouseType>) -> Result<Self, String> {
        let value = value.trim();
        let parts: Vec<&str> = value.split('.').collect();
        let two_part_ok = warehouse == Some(WarehouseType::Postgres);
        let count_ok = parts.len() == 3 || (two_part_ok && parts.len() == 2);
        if !count_ok {
            return Err(if two_part_ok {
                format!("table '{value}' must look like database.schema.table or schema.table")
            } else {
                format!("table '{value}' must look like database.schema.table")
            });
        }
        for part in &parts {
            if part.is_empty() {
                return Err(format!("table '{value}' has an empty name part"));
            }
            if part.len() > MAX_PART_LEN {
                return Err(format!(
                    "table name parts are at most {MAX_PART_LEN} characters"
                ));
            }
            let ok = part
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '$'));
            if !ok {
                return Err(format!(
                    "table '{value}': '{part}' may hold only letters, digits, _, - and $"
                ));
            }
        }
        Ok(TableName(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_three_part_names() {
        let t = TableName::parse("ANALYTICS.SALES.ORDERS", Some(WarehouseType::Snowflake));
        assert_eq!(t.unwrap().as_str(), "ANALYTICS.SALES.ORDERS");
        assert!(TableName::parse("proj-1.marketing.sessions", None).is_ok());
    }

    #[test]
    fn two_part_names_only_for_postgres() {
        assert!(TableName::parse("public.customers", Some(WarehouseType::Postgres)).is_ok());
        assert!(TableName::parse("public.customers", Some(WarehouseType::Snowflake)).is_err());
        assert!(TableName::parse("public.customers", None).is_err());
    }

    #[test]
    fn rejects_malformed_names() {
        for bad in [
            "orders",
            "a..b",
            "a.b.c.d",
            ".a.b",
            "a.b.<script>",
            "a b.c.d",
            "",
        ] {
            assert!(
                TableName::parse(bad, None).is_err(),
                "{bad} should be rejected"
            );
        }
    }
}
