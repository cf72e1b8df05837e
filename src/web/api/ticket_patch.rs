//! The body of `PATCH /api/v1/tickets/{number}` and the version it is made against,
//! parsed into the change the triage service applies.

use actix_web::HttpRequest;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::category::Category;
use crate::domain::severity::Severity;
use crate::domain::status::Status;
use crate::error::AppError;
use crate::services::ticket_changes::{Assignee, Changes};

/// A change to a ticket. Every field is optional; `version` (or an `If-Match` header)
/// is the version you read.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    pub status: Option<String>,
    pub category: Option<String>,
    pub severity: Option<String>,
    pub team: Option<String>,
    /// A user id, `auto` (team member with the fewest open tickets), or `none`.
    pub assignee: Option<serde_json::Value>,
    /// Required when changing category or severity.
    pub reason: Option<String>,
    pub version: Option<i32>,
}

/// The change a patch asks for, or a message for each bad field (an assignee that is no
/// user id is one: a fraction or a number too large for one is not ignored).
pub(super) fn parse_patch(patch: &TicketPatch) -> Result<Changes, AppError> {
    let mut errors = crate::domain::report::FieldErrors::new();
    let mut check = crate::domain::report::Checker(&mut errors);
    let status = patch
        .status
        .as_deref()
        .and_then(|s| check.field("status", Status::parse(s)));
    let category = patch
        .category
        .as_deref()
        .and_then(|c| check.field("category", Category::parse(c)));
    let severity = patch
        .severity
        .as_deref()
        .and_then(|s| check.field("severity", Severity::parse(s)));
    let assignee = match &patch.assignee {
        None => None,
        Some(serde_json::Value::Null) => Some(Assignee::Nobody),
        Some(serde_json::Value::String(s)) if s == "none" => Some(Assignee::Nobody),
        Some(serde_json::Value::String(s)) if s == "auto" => Some(Assignee::Auto),
        Some(serde_json::Value::Number(n)) => check.field(
            "assignee",
            n.as_i64().map(Assignee::User).ok_or_else(|| {
                format!("{n} is not a user id; assignee is a user id, \"auto\" or \"none\"")
            }),
        ),
        Some(_) => check.field(
            "assignee",
            Err::<Assignee, _>("assignee is a user id, \"auto\" or \"none\"".to_string()),
        ),
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    Ok(Changes {
        status,
        category,
        severity,
        team: patch.team.clone(),
        assignee,
        reason: patch.reason.clone(),
        ..Changes::default()
    })
}

/// The version the change is made against: the body's `version`, else `If-Match`.
pub(super) fn expected_version(req: &HttpRequest, body: Option<i32>) -> Result<i32, AppError> {
    let header = req
        .headers()
        .get(actix_web::http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_string()
        });
    match (body, header) {
        (Some(v), _) => Ok(v),
        (None, Some(h)) => h.parse().map_err(|_| {
            AppError::BadRequest(format!("If-Match must be a ticket version, not '{h}'"))
        }),
        (None, None) => Err(AppError::invalid(
            "version",
            "send the version you read (field or If-Match)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_assignee(value: serde_json::Value) -> Result<Changes, AppError> {
        parse_patch(&TicketPatch {
            assignee: Some(value),
            ..TicketPatch::default()
        })
    }

    #[test]
    fn an_assignee_is_a_user_id_auto_or_none() {
        let assignee = |v| with_assignee(v).map(|c| c.assignee);
        assert!(matches!(
            assignee(serde_json::json!(7)),
            Ok(Some(Assignee::User(7)))
        ));
        assert!(matches!(
            assignee(serde_json::json!("auto")),
            Ok(Some(Assignee::Auto))
        ));
        assert!(matches!(
            assignee(serde_json::json!(null)),
            Ok(Some(Assignee::Nobody))
        ));
        for bad in [
            serde_json::json!(1.5),
            serde_json::json!(12345678901234567890_u64),
            serde_json::json!(1e30),
            serde_json::json!("7"),
            serde_json::json!([7]),
        ] {
            match with_assignee(bad.clone()) {
                Err(AppError::Invalid(fields)) => assert!(fields.contains_key("assignee"), "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
