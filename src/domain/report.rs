//! An analyst's report as submitted, parsed field by field into domain types.
//! A report either parses whole or yields a message for every bad field.

use serde::Deserialize;
use std::collections::BTreeMap;

use super::category::ProblemKind;
use super::email::EmailAddress;
use super::severity::Impact;
use super::table::TableName;
use super::warehouse::WarehouseType;

/// The form's fields exactly as received (form, deep-link query or JSON).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, utoipa::ToSchema)]
#[serde(default)]
pub struct RawReport {
    #[schema(max_length = 200)]
    pub reporter_name: Option<String>,
    #[schema(value_type = String, required = true, format = Email, max_length = 254)]
    pub reporter_email: Option<String>,
    /// A category, or `unsure`.
    #[schema(schema_with = kind_schema, required = true)]
    pub kind: Option<String>,
    #[schema(schema_with = warehouse_schema)]
    pub warehouse_type: Option<String>,
    /// `database.schema.table` (PostgreSQL also `schema.table`).
    #[schema(max_length = 800)]
    pub table: Option<String>,
    #[schema(max_length = 255)]
    pub column: Option<String>,
    #[schema(max_length = 100)]
    pub detected_type: Option<String>,
    #[schema(max_length = 100)]
    pub expected_type: Option<String>,
    /// A run id (letters, digits and `- _ . :`) or an inspector URL carrying one.
    #[schema(max_length = 2048)]
    pub run_id: Option<String>,
    #[schema(schema_with = impact_schema)]
    pub impact: Option<String>,
    #[schema(value_type = String, required = true, min_length = 1, max_length = 10000)]
    pub description: Option<String>,
}

/// A string field the API takes from a fixed list (the domain's own, so the document
/// cannot drift from the parser); `optional` ones may also be null or left out.
fn word_list(words: Vec<&'static str>, optional: bool) -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let mut values: Vec<serde_json::Value> = words.into_iter().map(Into::into).collect();
    let schema_type = if optional {
        values.push(serde_json::Value::Null);
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(schema_type)
        .enum_values(Some(values))
        .build()
}

fn kind_schema() -> utoipa::openapi::Object {
    let mut words: Vec<&str> = super::category::Category::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    words.push(ProblemKind::Unsure.as_str());
    word_list(words, false)
}

fn warehouse_schema() -> utoipa::openapi::Object {
    word_list(
        WarehouseType::ALL.iter().map(|w| w.as_str()).collect(),
        true,
    )
}

fn impact_schema() -> utoipa::openapi::Object {
    word_list(Impact::ALL.iter().map(|i| i.as_str()).collect(), true)
}

/// What the reporter gave to identify a run: a run id, or an inspector URL (from which
/// a run id is taken when it carries one).
#[derive(Debug, Clone, PartialEq)]
pub struct RunReference {
    pub raw: String,
    pub run_id: Option<String>,
}

/// A valid report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub reporter_name: Option<String>,
    pub reporter_email: EmailAddress,
    pub kind: ProblemKind,
    pub warehouse_type: Option<WarehouseType>,
    pub table: Option<TableName>,
    pub column: Option<String>,
    pub detected_type: Option<String>,
    pub expected_type: Option<String>,
    pub run: Option<RunReference>,
    pub impact: Option<Impact>,
    pub description: String,
}

/// Field name → message, in form order of appearance by name.
pub type FieldErrors = BTreeMap<&'static str, String>;

pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
const MAX_NAME_CHARS: usize = super::text::MAX_NAME_CHARS;
const MAX_COLUMN_CHARS: usize = 255;
const MAX_TYPE_CHARS: usize = 100;
const MAX_RUN_REF_CHARS: usize = 2_048;
const MAX_RUN_ID_CHARS: usize = 128;

impl Report {
    pub fn parse(raw: &RawReport) -> Result<Report, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut check = Checker(&mut errors);
        let reporter_name = check.field(
            "reporter_name",
            text(&raw.reporter_name, MAX_NAME_CHARS, false),
        );
        let reporter_email = check.field(
            "reporter_email",
            required(&raw.reporter_email, "your email").and_then(|v| EmailAddress::parse(&v)),
        );
        let kind = check.field(
            "kind",
            required(&raw.kind, "a problem kind").and_then(|v| ProblemKind::parse(&v)),
        );
        let warehouse_type = check.field(
            "warehouse_type",
            optional(&raw.warehouse_type)
                .map(|v| WarehouseType::parse(&v))
                .transpose(),
        );
        let table = check.field(
            "table",
            text(&raw.table, 800, false).and_then(|v| {
                v.map(|t| TableName::parse(&t, warehouse_type.flatten()))
                    .transpose()
            }),
        );
        let column = check.field("column", text(&raw.column, MAX_COLUMN_CHARS, false));
        let detected_type = check.field(
            "detected_type",
            text(&raw.detected_type, MAX_TYPE_CHARS, false),
        );
        let expected_type = check.field(
            "expected_type",
            text(&raw.expected_type, MAX_TYPE_CHARS, false),
        );
        let run = check.field(
            "run_id",
            text(&raw.run_id, MAX_RUN_REF_CHARS, false)
                .and_then(|v| v.map(run_reference).transpose()),
        );
        let impact = check.field(
            "impact",
            optional(&raw.impact).map(|v| Impact::parse(&v)).transpose(),
        );
        let description = check.field(
            "description",
            required(&raw.description, "a description")
                .and_then(|_| text(&raw.description, MAX_DESCRIPTION_CHARS, true))
                .map(Option::unwrap_or_default),
        );
        match (reporter_email, kind, description) {
            (Some(reporter_email), Some(kind), Some(description)) if errors.is_empty() => {
                Ok(Report {
                    reporter_name: reporter_name.flatten(),
                    reporter_email,
                    kind,
                    warehouse_type: warehouse_type.flatten(),
                    table: table.flatten(),
                    column: column.flatten(),
                    detected_type: detected_type.flatten(),
                    expected_type: expected_type.flatten(),
                    run: run.flatten(),
                    impact: impact.flatten(),
                    description,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Collects a message per bad field while parsing goes on.
pub struct Checker<'a>(pub &'a mut FieldErrors);

impl Checker<'_> {
    pub fn field<T>(&mut self, name: &'static str, result: Result<T, String>) -> Option<T> {
        result.map_err(|e| self.0.insert(name, e)).ok()
    }
}

/// Trimmed, non-empty value, or None.
fn optional(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn required(value: &Option<String>, what: &str) -> Result<String, String> {
    optional(value).ok_or_else(|| format!("Please give {what}."))
}

/// Optional text with a length limit, by the desk's field rules (`domain::text`): one
/// line, or free text where the field is multi-line.
fn text(
    value: &Option<String>,
    max_chars: usize,
    multiline: bool,
) -> Result<Option<String>, String> {
    let lines = if multiline {
        super::text::Lines::Many
    } else {
        super::text::Lines::One
    };
    super::text::optional(value.as_deref().unwrap_or(""), max_chars, lines)
}

fn run_reference(raw: String) -> Result<RunReference, String> {
    if raw.starts_with("http://") || raw.starts_with("https://") {
        let run_id = run_id_from_url(&raw).filter(|id| valid_run_id(id));
        return Ok(RunReference { raw, run_id });
    }
    if !valid_run_id(&raw) {
        return Err(
            "A run id holds only letters, digits and - _ . : (or paste the inspector URL).".into(),
        );
    }
    Ok(RunReference {
        run_id: Some(raw.clone()),
        raw,
    })
}

fn valid_run_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_RUN_ID_CHARS
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// Inspector URLs carry the run as `?run_id=…` or as a `/runs/<id>` path segment.
fn run_id_from_url(url: &str) -> Option<String> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let from_query = query
        .split(['&', '#'])
        .find_map(|pair| pair.strip_prefix("run_id="))
        .map(str::to_string);
    from_query.or_else(|| {
        let mut segments = path.split('/');
        segments.find(|s| *s == "runs")?;
        segments
            .next()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawReport {
        RawReport {
            reporter_email: Some("ana@example.com".into()),
            kind: Some("unsure".into()),
            description: Some("The profile is old".into()),
            ..RawReport::default()
        }
    }

    #[test]
    fn minimal_report_parses() {
        let r = Report::parse(&raw()).unwrap();
        assert_eq!(r.kind, ProblemKind::Unsure);
        assert_eq!(r.table, None);
    }

    #[test]
    fn every_bad_field_gets_a_message() {
        let bad = RawReport {
            reporter_email: Some("nope".into()),
            kind: Some("weird".into()),
            warehouse_type: Some("oracle".into()),
            table: Some("a.b.c.d".into()),
            impact: Some("huge".into()),
            description: Some("x".repeat(MAX_DESCRIPTION_CHARS + 1)),
            run_id: Some("run id with spaces".into()),
            ..RawReport::default()
        };
        let errors = Report::parse(&bad).unwrap_err();
        let fields: Vec<_> = errors.keys().copied().collect();
        assert_eq!(
            fields,
            [
                "description",
                "impact",
                "kind",
                "reporter_email",
                "run_id",
                "table",
                "warehouse_type"
            ]
        );
    }

    #[test]
    fn missing_required_fields_are_named() {
        let errors = Report::parse(&RawReport::default()).unwrap_err();
        assert!(errors.contains_key("reporter_email"));
        assert!(errors.contains_key("kind"));
        assert!(errors.contains_key("description"));
    }

    #[test]
    fn inspector_urls_yield_run_ids() {
        let r = run_reference("https://inspect.example/t/x?run_id=R-42&tab=cols".into()).unwrap();
        assert_eq!(r.run_id.as_deref(), Some("R-42"));
        let r = run_reference("https://inspect.example/runs/abc-1/columns".into()).unwrap();
        assert_eq!(r.run_id.as_deref(), Some("abc-1"));
        let r = run_reference("https://inspect.example/tables/x".into()).unwrap();
        assert_eq!(r.run_id, None);
    }

    #[test]
    fn control_characters_are_refused_outside_the_description() {
        let mut r = raw();
        r.column = Some("a\u{0}b".into());
        assert!(Report::parse(&r).unwrap_err().contains_key("column"));
        let mut r = raw();
        r.description = Some("line one\nline two".into());
        assert!(Report::parse(&r).is_ok());
    }
}
