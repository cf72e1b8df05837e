//! Warehouse table names, as each warehouse writes them, kept in one canonical form so
//! that a report and the profiler's runs of the same table find each other.

use serde::Serialize;
use std::fmt;

use super::warehouse::{Case, WarehouseType};

/// A table named the way its warehouse allows: one to three dot-separated parts
/// (`orders`, `main.sales`, `db.schema.table`; BigQuery `dataset.table` or
/// `project.dataset.table`), each part bare or quoted (`"My Schema"`, `` `my-project` ``,
/// a quote doubled inside). Held in canonical form: unquoted parts folded to the case the
/// warehouse folds them to, quoted parts as written (or folded, where the warehouse
/// ignores case even in quotes), and a part quoted again only when it could not be read
/// back bare. Two spellings of one table are one `TableName`; without a warehouse type
/// nothing is folded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TableName(String);

const MAX_PART_LEN: usize = 255;
const MAX_PARTS: usize = 3;

/// One part of a name as it was written.
#[derive(Debug, PartialEq)]
struct Part {
    text: String,
    quoted: bool,
}

impl TableName {
    pub fn parse(value: &str, warehouse: Option<WarehouseType>) -> Result<Self, String> {
        let value = value.trim();
        let parts = split(value, warehouse)?;
        let (allowed, shape) = warehouse.map_or((1..=MAX_PARTS, "database.schema.table"), |w| {
            w.table_parts()
        });
        if !allowed.contains(&parts.len()) {
            let within = match warehouse {
                Some(w) => format!("a {} table is named {}", w.label(), forms(shape, &allowed)),
                None => format!("a table is named {}", forms(shape, &allowed)),
            };
            return Err(format!(
                "'{value}' has {} name parts; {within}",
                parts.len()
            ));
        }
        let canonical: Vec<String> = parts
            .iter()
            .map(|part| canonical_part(part, warehouse))
            .collect();
        Ok(TableName(canonical.join(".")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// "table, schema.table or database.schema.table" for the part counts allowed.
fn forms(shape: &str, allowed: &std::ops::RangeInclusive<usize>) -> String {
    let names: Vec<&str> = shape.split('.').collect();
    let mut forms: Vec<String> = allowed
        .clone()
        .map(|n| names[names.len() - n..].join("."))
        .collect();
    let last = forms.pop().unwrap_or_default();
    if forms.is_empty() {
        last
    } else {
        format!("{} or {last}", forms.join(", "))
    }
}

/// May this part be written without quotes?
fn bare_ok(part: &str) -> bool {
    !part.is_empty()
        && part
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '$'))
}

/// A part as the warehouse stores it, quoted again when it could not be read back bare.
fn canonical_part(part: &Part, warehouse: Option<WarehouseType>) -> String {
    let (unquoted, quoted) = warehouse.map_or((Case::AsWritten, Case::AsWritten), |w| {
        (w.unquoted_case(), w.quoted_case())
    });
    let text = if part.quoted {
        quoted.apply(&part.text)
    } else {
        unquoted.apply(&part.text)
    };
    if bare_ok(&text) && unquoted.apply(&text) == text {
        return text;
    }
    let quote = warehouse.map_or('"', WarehouseType::quote);
    let doubled = text.replace(quote, &format!("{quote}{quote}"));
    format!("{quote}{doubled}{quote}")
}

/// The parts of `value` as written: bare runs of letters, digits, `_`, `-` and `$`, or
/// anything but control characters between `"…"` or `` `…` `` (the quote doubled inside).
/// In BigQuery a backquoted path (`` `project.dataset.table` ``) is its parts.
fn split(value: &str, warehouse: Option<WarehouseType>) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        match chars.peek().copied() {
            Some(quote @ ('"' | '`')) => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some(c) if c == quote => {
                            if chars.peek() == Some(&quote) {
                                chars.next();
                                text.push(quote);
                            } else {
                                break;
                            }
                        }
                        Some(c) if c.is_control() => {
                            return Err(format!(
                                "'{value}' holds a control character in a quoted name"
                            ));
                        }
                        Some(c) => text.push(c),
                        None => {
                            return Err(format!(
                                "'{value}' opens a quote ({quote}) it does not close"
                            ));
                        }
                    }
                }
                if text.is_empty() {
                    return Err(format!("'{value}' has an empty quoted name"));
                }
                if quote == '`' && warehouse == Some(WarehouseType::Bigquery) {
                    for piece in text.split('.') {
                        if piece.is_empty() {
                            return Err(format!("'{value}' has an empty name part"));
                        }
                        parts.push(Part {
                            text: piece.to_string(),
                            quoted: true,
                        });
                    }
                } else {
                    parts.push(Part { text, quoted: true });
                }
            }
            _ => {
                let mut text = String::new();
                while let Some(&c) = chars.peek() {
                    if c == '.' {
                        break;
                    }
                    text.push(c);
                    chars.next();
                }
                if text.is_empty() {
                    return Err(format!("'{value}' has an empty name part"));
                }
                if !bare_ok(&text) {
                    return Err(format!(
                        "'{value}': '{text}' may hold only letters, digits, _, - and $ \
                         unless it is quoted (\"{}\")",
                        text.replace('"', "\"\"")
                    ));
                }
                parts.push(Part {
                    text,
                    quoted: false,
                });
            }
        }
        if parts
            .last()
            .is_some_and(|p| p.text.chars().count() > MAX_PART_LEN)
        {
            return Err(format!(
                "table name parts are at most {MAX_PART_LEN} characters"
            ));
        }
        if parts.len() > MAX_PARTS {
            return Err(format!(
                "'{value}' has more than {MAX_PARTS} name parts; a table is named at most \
                 database.schema.table"
            ));
        }
        match chars.next() {
            None => return Ok(parts),
            Some('.') => {
                if chars.peek().is_none() {
                    return Err(format!("'{value}' has an empty name part"));
                }
            }
            Some(other) => {
                return Err(format!(
                    "'{value}': a quoted name is followed by '{other}'; parts are joined by dots"
                ));
            }
        }
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
    use WarehouseType::*;

    fn canonical(value: &str, warehouse: Option<WarehouseType>) -> String {
        TableName::parse(value, warehouse)
            .unwrap_or_else(|e| panic!("{value} on {warehouse:?}: {e}"))
            .to_string()
    }

    #[test]
    fn accepts_each_warehouses_own_naming() {
        assert_eq!(canonical("main.sales", Some(Duckdb)), "main.sales");
        assert_eq!(canonical("public.orders", Some(Postgres)), "public.orders");
        assert_eq!(canonical("orders", Some(Postgres)), "orders");
        assert_eq!(
            canonical("ANALYTICS.SALES.ORDERS", Some(Snowflake)),
            "ANALYTICS.SALES.ORDERS"
        );
        assert_eq!(
            canonical("proj-1.marketing.sessions", Some(Bigquery)),
            "proj-1.marketing.sessions"
        );
        assert_eq!(
            canonical("marketing.sessions", Some(Bigquery)),
            "marketing.sessions"
        );
        assert_eq!(
            canonical("main.default.trips", Some(Databricks)),
            "main.default.trips"
        );
        assert_eq!(canonical("dev.public.events", None), "dev.public.events");
    }

    #[test]
    fn bigquery_needs_its_dataset() {
        let err = TableName::parse("sessions", Some(Bigquery)).unwrap_err();
        assert!(
            err.contains("dataset.table or project.dataset.table"),
            "{err}"
        );
    }

    #[test]
    fn unquoted_parts_fold_as_the_warehouse_folds_them() {
        assert_eq!(
            canonical("analytics.Sales.orders", Some(Snowflake)),
            "ANALYTICS.SALES.ORDERS"
        );
        assert_eq!(canonical("Public.Orders", Some(Postgres)), "public.orders");
        assert_eq!(canonical("Main.Sales", Some(Duckdb)), "main.sales");
        // BigQuery dataset and table names are case-sensitive.
        assert_eq!(
            canonical("proj.Sales.Orders", Some(Bigquery)),
            "proj.Sales.Orders"
        );
        // No warehouse: no folding.
        assert_eq!(canonical("Db.Schema.T", None), "Db.Schema.T");
    }

    #[test]
    fn quoted_parts_are_kept_exactly() {
        assert_eq!(
            canonical(r#""Prod"."My Schema"."Orders""#, Some(Snowflake)),
            r#""Prod"."My Schema"."Orders""#
        );
        assert_eq!(
            canonical(r#"analytics."Q3 ""final"""."orders""#, Some(Snowflake)),
            r#"ANALYTICS."Q3 ""final"""."orders""#
        );
        assert_eq!(
            canonical(r#"public."Orders""#, Some(Postgres)),
            r#"public."Orders""#
        );
    }

    #[test]
    fn quotes_that_change_nothing_are_dropped() {
        // Quoted upper case in Snowflake is the unquoted name.
        assert_eq!(
            canonical(r#""ANALYTICS"."SALES"."ORDERS""#, Some(Snowflake)),
            "ANALYTICS.SALES.ORDERS"
        );
        assert_eq!(
            canonical(r#""public"."orders""#, Some(Postgres)),
            "public.orders"
        );
        // DuckDB ignores case even in quotes.
        assert_eq!(canonical(r#""Main"."Sales""#, Some(Duckdb)), "main.sales");
    }

    #[test]
    fn backquoted_names_as_bigquery_and_databricks_write_them() {
        assert_eq!(
            canonical("`my-project.sales.orders`", Some(Bigquery)),
            "my-project.sales.orders"
        );
        assert_eq!(
            canonical("`my-project`.sales.`daily orders`", Some(Bigquery)),
            "my-project.sales.`daily orders`"
        );
        assert_eq!(
            canonical("main.`Sales Data`.trips", Some(Databricks)),
            "main.`sales data`.trips"
        );
    }

    #[test]
    fn the_canonical_form_reads_back_as_itself() {
        for (value, warehouse) in [
            (r#""Prod"."My Schema"."Orders""#, Some(Snowflake)),
            (r#"a."b""c".d"#, Some(Postgres)),
            ("`my-project`.sales.`daily orders`", Some(Bigquery)),
            ("main.`Sales Data`.trips", Some(Databricks)),
            (r#""x.y".z"#, None),
        ] {
            let once = canonical(value, warehouse);
            assert_eq!(canonical(&once, warehouse), once, "{value}");
        }
    }

    #[test]
    fn different_spellings_of_one_table_are_equal() {
        assert_eq!(
            TableName::parse("analytics.sales.orders", Some(Snowflake)),
            TableName::parse(r#""ANALYTICS".SALES."ORDERS""#, Some(Snowflake))
        );
        assert_ne!(
            TableName::parse("public.orders", Some(Postgres)),
            TableName::parse(r#"public."Orders""#, Some(Postgres))
        );
    }

    #[test]
    fn rejects_malformed_names() {
        for bad in [
            "a..b",
            "a.b.c.d",
            ".a.b",
            "a.b.",
            "a.b.<script>",
            "a b.c.d",
            "",
            r#""unclosed.b"#,
            r#""".b"#,
            r#""a"b.c"#,
            "\"a\u{7}\".b",
        ] {
            assert!(
                TableName::parse(bad, None).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn messages_say_what_a_name_looks_like() {
        let err = TableName::parse("a.b.c.d", Some(Duckdb)).unwrap_err();
        assert!(err.contains("more than 3"), "{err}");
        let err = TableName::parse("a b", Some(Snowflake)).unwrap_err();
        assert!(err.contains("unless it is quoted"), "{err}");
    }
}
