//! The dataset facets the desk reads: `schema` (column names) and the desk's own
//! `inspect_semanticTypes` (semantic type and confidence per column).

use serde_json::Value;

use super::SEMANTIC_TYPES_FACET;
use super::parse::{Object, kind, optional_object, required_str};
use crate::domain::run_record::{ColumnType, MAX_COLUMNS};
use crate::domain::text::{Lines, check_characters};

const MAX_COLUMN_NAME: usize = 255;

/// Column names of the `schema` facet; nested fields as `parent.child`.
pub(super) fn schema_columns(facets: &Object, path: &str) -> Result<Option<Vec<String>>, String> {
    let Some(facet) = optional_object(facets, "schema", path)? else {
        return Ok(None);
    };
    let mut names = Vec::new();
    collect_fields(
        facet.get("fields"),
        "",
        &format!("{path}.fields"),
        &mut names,
    )?;
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(format!("{path}.fields: column '{twice}' appears twice"));
    }
    Ok(Some(names))
}

fn collect_fields(
    fields: Option<&Value>,
    prefix: &str,
    path: &str,
    names: &mut Vec<String>,
) -> Result<(), String> {
    let items = match fields {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(format!("{path} must be an array, not {}", kind(other))),
    };
    for (index, field) in items.iter().enumerate() {
        let here = format!("{path}[{index}]");
        let field = field
            .as_object()
            .ok_or_else(|| format!("{here} must be an object"))?;
        let name = required_str(field, "name").map_err(|e| format!("{here}.name: {e}"))?;
        let full = format!("{prefix}{}", name.trim());
        column_name(&full).map_err(|e| format!("{here}.name: {e}"))?;
        if names.len() >= MAX_COLUMNS {
            return Err(format!("{path}: at most {MAX_COLUMNS} columns per run"));
        }
        names.push(full.clone());
        collect_fields(
            field.get("fields"),
            &format!("{full}."),
            &format!("{here}.fields"),
            names,
        )?;
    }
    Ok(())
}

fn column_name(name: &str) -> Result<(), String> {
    let count = name.chars().count();
    if count == 0 || count > MAX_COLUMN_NAME {
        return Err(format!(
            "column names are 1 to {MAX_COLUMN_NAME} characters"
        ));
    }
    check_characters(name, Lines::One)
}

/// The semantic-types facet: `columns` maps a column to `{"type", "confidence"}` (or to
/// the type alone, as a string).
pub(super) fn semantic_types(
    facets: &Object,
    path: &str,
) -> Result<Option<Vec<ColumnType>>, String> {
    let Some(facet) = optional_object(facets, SEMANTIC_TYPES_FACET, path)? else {
        return Ok(None);
    };
    let columns = match facet.get("columns") {
        Some(Value::Object(columns)) => columns,
        None | Some(Value::Null) => return Err(format!("{path}.columns is required")),
        Some(other) => {
            return Err(format!(
                "{path}.columns must be an object, not {}",
                kind(other)
            ));
        }
    };
    if columns.len() > MAX_COLUMNS {
        return Err(format!(
            "{path}.columns: at most {MAX_COLUMNS} columns per run"
        ));
    }
    let mut out = Vec::with_capacity(columns.len());
    for (name, typed) in columns {
        let here = format!("{path}.columns.{name}");
        column_name(name.trim()).map_err(|e| format!("{here}: {e}"))?;
        let (semantic_type, confidence) = match typed {
            Value::Null => (None, None),
            Value::String(t) => (Some(t.clone()), None),
            Value::Object(o) => (
                match o.get("type") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(t)) => Some(t.clone()),
                    Some(other) => {
                        return Err(format!("{here}.type must be a string, not {}", kind(other)));
                    }
                },
                match o.get("confidence") {
                    None | Some(Value::Null) => None,
                    Some(Value::Number(n)) => match n.as_f64() {
                        Some(p) if (0.0..=1.0).contains(&p) => Some(p),
                        _ => return Err(format!("{here}.confidence must be between 0 and 1")),
                    },
                    Some(other) => {
                        return Err(format!(
                            "{here}.confidence must be a number, not {}",
                            kind(other)
                        ));
                    }
                },
            ),
            other => return Err(format!("{here} must be an object, not {}", kind(other))),
        };
        let semantic_type = semantic_type
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        if semantic_type
            .as_ref()
            .is_some_and(|t| t.chars().count() > 100)
        {
            return Err(format!("{here}.type: at most 100 characters"));
        }
        if let Some(Err(e)) = semantic_type
            .as_deref()
            .map(|t| check_characters(t, Lines::One))
        {
            return Err(format!("{here}.type: {e}"));
        }
        out.push(ColumnType {
            name: name.trim().to_string(),
            semantic_type,
            confidence,
        });
    }
    Ok(Some(out))
}
