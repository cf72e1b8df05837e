//! The queue's bulk bar: one action, chosen from a list, on the ticked tickets. The answer
//! is a redirect back to the queue with its filters and a sentence saying what happened; a
//! choice that cannot be done re-renders the queue with the message beside the bar, the
//! ticks and the choice kept, and nothing changed.

use actix_web::{HttpResponse, web};

use super::{BulkState, ViewState, queue_url, render};
use crate::domain::category::Category;
use crate::domain::severity::Severity;
use crate::domain::status::Status;
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::bulk::{self, BulkAction, Picked};
use crate::services::people;
use crate::services::queue::RawQueueQuery;
use crate::services::ticket_changes::Assignee;
use crate::state::Desk;
use crate::web::flash;
use crate::web::pages::{PageContext, PageError};

/// The bulk form as sent: `ticket` repeats (`id:version`), `action` is `kind:value`
/// (`assign:me`, `status:triaged`) or a kind with the value in `value`.
struct BulkForm {
    picked: Vec<Picked>,
    action: String,
    value: Option<String>,
    reason: Option<String>,
    back: RawQueueQuery,
}

impl BulkForm {
    fn read(body: &[u8]) -> Result<BulkForm, AppError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|_| AppError::BadRequest("The bulk form could not be read.".into()))?;
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let picked = pairs
            .iter()
            .filter(|(k, _)| k == "ticket")
            .filter_map(|(_, v)| {
                let (id, version) = v.split_once(':')?;
                Some(Picked {
                    id: id.parse().ok()?,
                    version: version.parse().ok()?,
                })
            })
            .collect();
        let back = get("back")
            .and_then(|q| serde_urlencoded::from_str(&q).ok())
            .unwrap_or_default();
        Ok(BulkForm {
            picked,
            action: get("action").unwrap_or_default(),
            value: get("value"),
            reason: get("reason"),
            back,
        })
    }

    /// The action's kind and value: from `kind:value`, else from the two fields.
    fn kind_and_value(&self) -> (&str, Option<&str>) {
        match self.action.split_once(':') {
            Some((kind, value)) => (kind, Some(value).filter(|v| !v.is_empty())),
            None => (self.action.as_str(), self.value.as_deref()),
        }
    }
}

/// A refusal of the whole action, before any ticket is touched: the message and the
/// control it is about.
struct Refusal {
    field: &'static str,
    message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        field,
        message: message.into(),
    }
}

/// A bulk action on the ticked tickets. Each box carries `id:version`, so a ticket someone
/// changed since the page loaded is skipped and named rather than overwritten.
pub async fn bulk(
    ctx: PageContext,
    desk: web::Data<Desk>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = BulkForm::read(&body)?;
    let checked = desk
        .db({
            let (kind, value) = form.kind_and_value();
            let (kind, value) = (kind.to_string(), value.map(str::to_string));
            let reason = form.reason.clone();
            let picked = form.picked.clone();
            move |conn, desk| {
                let people = people::assignable(conn, desk, None)?;
                let names = Names {
                    person: &|id| people.iter().find(|p| p.id == id).map(|p| p.name.clone()),
                    team: &|key| desk.model.team(key).map(|t| t.name.clone()),
                };
                Ok(choose(&kind, value.as_deref(), reason, &picked, &names))
            }
        })
        .await?;
    let (action, done_words) = match checked {
        Ok(chosen) => chosen,
        Err(refusal) => return refused(ctx, desk, form, refusal).await,
    };
    let picked: Vec<Picked> = match &action {
        // The ticket merged into is not merged into itself.
        BulkAction::MergeInto(into) => form
            .picked
            .iter()
            .copied()
            .filter(|p| p.id != *into)
            .collect(),
        _ => form.picked.clone(),
    };
    if picked.is_empty() {
        let message = "Tick at least one ticket, then choose what to do with them.";
        return refused(ctx, desk, form, refuse("ticket", message)).await;
    }
    let who = ctx.viewer.who();
    let outcome = desk
        .db(move |conn, desk| bulk::apply(conn, desk, &who, &action, &picked))
        .await?;
    Ok(flash::see_other_with(
        &queue_url(&form.back),
        outcome.sentence(&done_words),
    ))
}

/// The queue again, with the refusal beside the bulk bar and the agent's choices kept.
async fn refused(
    ctx: PageContext,
    desk: web::Data<Desk>,
    form: BulkForm,
    refusal: Refusal,
) -> Result<HttpResponse, PageError> {
    let state = BulkState {
        error: Some(refusal.message),
        field: refusal.field,
        action: form.action.clone(),
        reason: form.reason.clone().unwrap_or_default(),
        ticked: form.picked.iter().map(|p| p.id).collect(),
    };
    render(ctx, desk, form.back, state, ViewState::default()).await
}

/// How the bar's choices are named: an assignable person by id, a team by key (`None`:
/// not one the bar offers).
struct Names<'a> {
    person: &'a dyn Fn(i64) -> Option<String>,
    team: &'a dyn Fn(&str) -> Option<String>,
}

/// The typed action and the words for what it does to each ticket ("assigned to Dana
/// Okafor"), or why it cannot be done.
fn choose(
    kind: &str,
    value: Option<&str>,
    reason: Option<String>,
    picked: &[Picked],
    names: &Names,
) -> Result<(BulkAction, String), Refusal> {
    if picked.is_empty() {
        return Err(refuse(
            "ticket",
            "Tick at least one ticket, then choose what to do with them.",
        ));
    }
    let pick = || refuse("action", "Choose what to do from the list.");
    let needs_reason = |what: &str| {
        refuse(
            "reason",
            format!("Say why {what} in the reason box; it is logged on each ticket."),
        )
    };
    Ok(match (kind, value) {
        ("assign", None | Some("me")) => {
            (BulkAction::Assign(Assignee::Me), "assigned to you".into())
        }
        ("assign", Some("none")) => (BulkAction::Assign(Assignee::Nobody), "unassigned".into()),
        ("assign", Some("auto")) => (
            BulkAction::Assign(Assignee::Auto),
            "assigned to the least busy member of their team".into(),
        ),
        ("assign", Some(id)) => {
            let id: i64 = id.parse().map_err(|_| pick())?;
            let name = (names.person)(id).ok_or_else(|| {
                refuse(
                    "action",
                    "That person cannot be assigned tickets; pick someone from the list.",
                )
            })?;
            (
                BulkAction::Assign(Assignee::User(id)),
                format!("assigned to {name}"),
            )
        }
        ("status", Some(value)) => {
            let status = Status::parse(value).map_err(|_| pick())?;
            (
                BulkAction::SetStatus(status),
                format!("moved to {}", status.label()),
            )
        }
        ("reclassify" | "category", Some(value)) => {
            let category = Category::parse(value).map_err(|_| pick())?;
            if reason.is_none() {
                return Err(needs_reason("the category is wrong"));
            }
            (
                BulkAction::Reclassify { category, reason },
                format!("reclassified as {}", category.label()),
            )
        }
        ("severity", Some(value)) => {
            let severity = Severity::parse(value).map_err(|_| pick())?;
            if reason.is_none() {
                return Err(needs_reason("the severity changes"));
            }
            (
                BulkAction::SetSeverity { severity, reason },
                format!("set to {}", severity.label()),
            )
        }
        ("team", Some(key)) => {
            let name =
                (names.team)(key).ok_or_else(|| refuse("action", "Pick a team from the list."))?;
            (
                BulkAction::SetTeam(key.to_string()),
                format!("moved to {name}"),
            )
        }
        ("merge", Some(value)) => {
            let into = TicketNumber::parse(value)
                .map_err(|_| refuse("action", "Pick the ticket to merge into from the list."))?;
            (
                BulkAction::MergeInto(into.id()),
                format!("merged into {into}"),
            )
        }
        _ => return Err(pick()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one() -> Vec<Picked> {
        vec![Picked { id: 1, version: 1 }]
    }

    const NAMES: Names = Names {
        person: &|id| (id == 7).then(|| "Dana Okafor".to_string()),
        team: &|key| (key == "semantic-types").then(|| "Semantic Types".to_string()),
    };

    #[test]
    fn choices_become_actions_with_their_words() {
        let (action, words) = choose("assign", Some("7"), None, &one(), &NAMES)
            .ok()
            .unwrap();
        assert_eq!(action, BulkAction::Assign(Assignee::User(7)));
        assert_eq!(words, "assigned to Dana Okafor");
        let (action, words) = choose("status", Some("triaged"), None, &one(), &NAMES)
            .ok()
            .unwrap();
        assert_eq!(action, BulkAction::SetStatus(Status::Triaged));
        assert_eq!(words, "moved to Triaged");
        let (action, _) = choose("merge", Some("INS-1042"), None, &one(), &NAMES)
            .ok()
            .unwrap();
        let (_, words) = choose("team", Some("semantic-types"), None, &one(), &NAMES)
            .ok()
            .unwrap();
        assert_eq!(words, "moved to Semantic Types");
        assert_eq!(action, BulkAction::MergeInto(1042));
    }

    #[test]
    fn bad_choices_are_refused_beside_the_right_control() {
        let field = |kind, value, reason: Option<&str>, picked: &[Picked]| {
            choose(kind, value, reason.map(str::to_string), picked, &NAMES)
                .err()
                .map(|r| r.field)
        };
        assert_eq!(field("assign", Some("me"), None, &[]), Some("ticket"));
        assert_eq!(field("assign", Some("8"), None, &one()), Some("action"));
        assert_eq!(field("status", Some("done"), None, &one()), Some("action"));
        assert_eq!(
            field("category", Some("other"), None, &one()),
            Some("reason")
        );
        assert_eq!(field("severity", Some("sev1"), Some("down"), &one()), None);
        assert_eq!(field("explode", None, None, &one()), Some("action"));
        assert_eq!(field("team", Some("nowhere"), None, &one()), Some("action"));
    }
}
