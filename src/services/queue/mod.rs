//! The triage queue: filters, sort orders, keyset pagination and counts.

mod text;

use chrono::{DateTime, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;

use crate::db::DbConnection;
use crate::db::models::ticket::Ticket;
use crate::db::schema::tickets;
use crate::domain::category::Category;
use crate::domain::report::{Checker, FieldErrors};
use crate::domain::severity::Severity;
use crate::domain::status::{SlaState, Status};
use crate::domain::warehouse::WarehouseType;

/// The queue's query parameters as received (page and JSON API alike).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(default)]
pub struct RawQueueQuery {
    pub status: Option<String>,
    pub category: Option<String>,
    pub severity: Option<String>,
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub warehouse_type: Option<String>,
    pub sla: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Next SLA deadline first (the default).
    Sla,
    /// sev1 first.
    Severity,
    /// Newest first.
    Created,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AssigneeFilter {
    User(i64),
    Nobody,
}

/// A parsed queue query.
#[derive(Debug, Clone)]
pub struct QueueQuery {
    /// Empty: every open status.
    pub statuses: Vec<Status>,
    pub category: Option<Category>,
    pub severity: Option<Severity>,
    pub team: Option<String>,
    pub assignee: Option<AssigneeFilter>,
    pub warehouse_type: Option<WarehouseType>,
    pub sla: Option<SlaState>,
    pub q: Option<String>,
    pub sort: Sort,
    pub limit: i64,
    pub cursor: Option<Cursor>,
}

/// Where the previous page ended, in the terms of its sort.
#[derive(Debug, Clone, PartialEq)]
pub enum Cursor {
    Sla(NaiveDateTime, i64),
    Severity(Severity, i64),
    Created(i64),
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

impl Cursor {
    pub fn encode(&self) -> String {
        match self {
            Cursor::Sla(at, id) => format!("s{}_{id}", at.and_utc().timestamp_micros()),
            Cursor::Severity(sev, id) => format!("v{sev}_{id}"),
            Cursor::Created(id) => format!("c{id}"),
        }
    }

    fn decode(text: &str, sort: Sort) -> Option<Cursor> {
        let (tag, rest) = text.split_at_checked(1)?;
        match (tag, sort) {
            ("s", Sort::Sla) => {
                let (micros, id) = rest.split_once('_')?;
                let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
                Some(Cursor::Sla(at, id.parse().ok()?))
            }
            ("v", Sort::Severity) => {
                let (sev, id) = rest.split_once('_')?;
                Some(Cursor::Severity(
                    Severity::parse(sev).ok()?,
                    id.parse().ok()?,
                ))
            }
            ("c", Sort::Created) => Some(Cursor::Created(rest.parse().ok()?)),
            _ => None,
        }
    }

    fn after(ticket: &Ticket, sort: Sort) -> Cursor {
        match sort {
            Sort::Sla => Cursor::Sla(ticket.sla_due_at, ticket.id),
            Sort::Severity => Cursor::Severity(ticket.severity, ticket.id),
            Sort::Created => Cursor::Created(ticket.id),
        }
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl QueueQuery {
    /// Parse; `me` is the viewer's user id for `assignee=me`.
    pub fn parse(raw: &RawQueueQuery, me: Option<i64>) -> Result<QueueQuery, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut check = Checker(&mut errors);
        let statuses = match present(&raw.status) {
            None | Some("open") => Vec::new(),
            Some("all") => Status::ALL.to_vec(),
            Some(list) => check
                .field("status", list.split(',').map(Status::parse).collect())
                .unwrap_or_default(),
        };
        let category =
            present(&raw.category).and_then(|c| check.field("category", Category::parse(c)));
        let severity =
            present(&raw.severity).and_then(|s| check.field("severity", Severity::parse(s)));
        let warehouse_type = present(&raw.warehouse_type)
            .and_then(|w| check.field("warehouse_type", WarehouseType::parse(w)));
        let sla = present(&raw.sla).and_then(|s| check.field("sla", SlaState::parse(s)));
        let assignee = match present(&raw.assignee) {
            None => None,
            Some("none") => Some(AssigneeFilter::Nobody),
            Some("me") => check.field(
                "assignee",
                me.map(AssigneeFilter::User)
                    .ok_or_else(|| "'me' needs a signed-in agent".to_string()),
            ),
            Some(id) => check.field(
                "assignee",
                id.parse()
                    .map(AssigneeFilter::User)
                    .map_err(|_| "assignee is me, none or a user id".to_string()),
            ),
        };
        let sort = match present(&raw.sort) {
            None | Some("sla") => Sort::Sla,
            Some("severity") => Sort::Severity,
            Some("created") => Sort::Created,
            Some(other) => {
                check.field::<()>(
                    "sort",
                    Err(format!(
                        "unknown sort '{other}'; expected sla, severity or created"
                    )),
                );
                Sort::Sla
            }
        };
        let limit = match present(&raw.limit) {
            None => DEFAULT_LIMIT,
            Some(n) => check
                .field(
                    "limit",
                    n.parse::<i64>()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| format!("limit is 1 to {MAX_LIMIT}")),
                )
                .unwrap_or(DEFAULT_LIMIT),
        };
        let cursor = present(&raw.cursor).and_then(|c| {
            check.field(
                "cursor",
                Cursor::decode(c, sort).ok_or_else(|| {
                    "cursor does not fit this sort order; start from the first page".to_string()
                }),
            )
        });
        let q = present(&raw.q).map(|q| q.chars().take(200).collect());
        let team = present(&raw.team).map(str::to_string);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(QueueQuery {
            statuses,
            category,
            severity,
            team,
            assignee,
            warehouse_type,
            sla,
            q,
            sort,
            limit,
            cursor,
        })
    }
}

type Boxed<'a> = tickets::BoxedQuery<'a, crate::db::Backend>;

/// Filters other than status and SLA state (those are what the counts break down).
fn base_filter<'a>(query: &QueueQuery) -> Boxed<'a> {
    let mut q = tickets::table.into_boxed();
    if let Some(c) = query.category {
        q = q.filter(tickets::category.eq(c));
    }
    if let Some(s) = query.severity {
        q = q.filter(tickets::severity.eq(s));
    }
    if let Some(team) = &query.team {
        q = q.filter(tickets::team.eq(team.clone()));
    }
    match &query.assignee {
        Some(AssigneeFilter::User(id)) => q = q.filter(tickets::assignee_id.eq(*id)),
        Some(AssigneeFilter::Nobody) => q = q.filter(tickets::assignee_id.is_null()),
        None => {}
    }
    if let Some(w) = query.warehouse_type {
        q = q.filter(tickets::warehouse_type.eq(w));
    }
    if let Some(words) = &query.q {
        q = q.filter(text::matches(words));
    }
    q
}

const ACTIVE: [Status; 3] = [Status::New, Status::Triaged, Status::InProgress];

fn with_status_and_sla<'a>(mut q: Boxed<'a>, query: &QueueQuery, now: NaiveDateTime) -> Boxed<'a> {
    let statuses: Vec<Status> = if query.statuses.is_empty() {
        Status::OPEN.to_vec()
    } else {
        query.statuses.clone()
    };
    q = q.filter(tickets::status.eq_any(statuses));
    match query.sla {
        Some(SlaState::Breached) => q
            .filter(tickets::status.eq_any(ACTIVE))
            .filter(tickets::sla_due_at.le(now)),
        Some(SlaState::AtRisk) => q
            .filter(tickets::status.eq_any(ACTIVE))
            .filter(tickets::sla_warn_at.le(now))
            .filter(tickets::sla_due_at.gt(now)),
        Some(SlaState::OnTrack) => q
            .filter(tickets::status.eq_any(ACTIVE))
            .filter(tickets::sla_warn_at.gt(now)),
        Some(SlaState::Paused) => q.filter(tickets::status.eq(Status::WaitingOnReporter)),
        Some(SlaState::Stopped) | None => q,
    }
}

/// One page of the queue.
pub struct Page {
    pub tickets: Vec<Ticket>,
    pub next_cursor: Option<String>,
}

pub fn search(
    conn: &mut DbConnection,
    query: &QueueQuery,
    now: NaiveDateTime,
) -> QueryResult<Page> {
    let mut rows = match query.sort {
        // One short index walk per status ((team,) status, sla_due_at, id), merged here:
        // a single `status IN (…) ORDER BY sla_due_at` would sort every open ticket.
        Sort::Sla => {
            let statuses: Vec<Status> = if query.statuses.is_empty() {
                Status::OPEN.to_vec()
            } else {
                query.statuses.clone()
            };
            // Keys first (index entries only), then the page's rows.
            let mut keys: Vec<(NaiveDateTime, i64)> = Vec::new();
            for status in statuses {
                let one = QueueQuery {
                    statuses: vec![status],
                    ..query.clone()
                };
                keys.extend(
                    sla_walk(&one, now)
                        .select((tickets::sla_due_at, tickets::id))
                        .limit(query.limit + 1)
                        .load::<(NaiveDateTime, i64)>(conn)?,
                );
            }
            keys.sort();
            keys.truncate(query.limit as usize + 1);
            let ids: Vec<i64> = keys.iter().map(|(_, id)| *id).collect();
            let mut rows: Vec<Ticket> = tickets::table
                .filter(tickets::id.eq_any(&ids))
                .select(Ticket::as_select())
                .load(conn)?;
            rows.sort_by_key(|t| (t.sla_due_at, t.id));
            rows
        }
        Sort::Severity | Sort::Created => page_query(conn, query, now)?,
    };
    let more = rows.len() as i64 > query.limit;
    rows.truncate(query.limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|t| Cursor::after(t, query.sort).encode()))
        .flatten();
    Ok(Page {
        tickets: rows,
        next_cursor,
    })
}

/// One status's tickets in SLA order from the cursor on.
fn sla_walk<'a>(query: &QueueQuery, now: NaiveDateTime) -> Boxed<'a> {
    let mut q = with_status_and_sla(base_filter(query), query, now);
    if let Some(Cursor::Sla(at, id)) = &query.cursor {
        q = q.filter(
            tickets::sla_due_at
                .gt(*at)
                .or(tickets::sla_due_at.eq(*at).and(tickets::id.gt(*id))),
        );
    }
    q.order((tickets::sla_due_at.asc(), tickets::id.asc()))
}

/// The filtered, sorted query for one page by severity or age (one more row than the
/// page, to see if there is a next one).
fn page_query(
    conn: &mut DbConnection,
    query: &QueueQuery,
    now: NaiveDateTime,
) -> QueryResult<Vec<Ticket>> {
    let mut q = with_status_and_sla(base_filter(query), query, now);
    q = match (&query.sort, &query.cursor) {
        (Sort::Severity, Some(Cursor::Severity(sev, id))) => q.filter(
            tickets::severity
                .gt(*sev)
                .or(tickets::severity.eq(*sev).and(tickets::id.gt(*id))),
        ),
        (Sort::Created, Some(Cursor::Created(id))) => q.filter(tickets::id.lt(*id)),
        _ => q,
    };
    q = match query.sort {
        Sort::Sla => q.order((tickets::sla_due_at.asc(), tickets::id.asc())),
        Sort::Severity => q.order((tickets::severity.asc(), tickets::id.asc())),
        Sort::Created => q.order(tickets::id.desc()),
    };
    q.select(Ticket::as_select())
        .limit(query.limit + 1)
        .load(conn)
}

/// How many tickets match the other filters, per status and per SLA state.
pub struct Counts {
    pub by_status: Vec<(Status, i64)>,
    pub by_sla: Vec<(SlaState, i64)>,
}

pub fn counts(
    conn: &mut DbConnection,
    query: &QueueQuery,
    now: NaiveDateTime,
) -> QueryResult<Counts> {
    // One count per status: a boxed query cannot be grouped, and each count uses the
    // status index.
    let mut by_status = Vec::new();
    for status in Status::ALL {
        let n = base_filter(query)
            .filter(tickets::status.eq(status))
            .count()
            .get_result(conn)?;
        by_status.push((status, n));
    }
    // Breached and at-risk are index range seeks (team, status, sla_due_at); on-track is
    // what is left of the active tickets, and paused is the waiting count: no scan of
    // every open ticket's row.
    let count_sla = |conn: &mut DbConnection, state: SlaState| -> QueryResult<i64> {
        let scoped = QueueQuery {
            statuses: Vec::new(),
            sla: Some(state),
            ..query.clone()
        };
        with_status_and_sla(base_filter(&scoped), &scoped, now)
            .count()
            .get_result(conn)
    };
    let breached = count_sla(conn, SlaState::Breached)?;
    let at_risk = count_sla(conn, SlaState::AtRisk)?;
    let of = |wanted: Status| {
        by_status
            .iter()
            .find(|(s, _)| *s == wanted)
            .map_or(0, |(_, n)| *n)
    };
    let active = of(Status::New) + of(Status::Triaged) + of(Status::InProgress);
    let by_sla = SlaState::FILTERABLE
        .into_iter()
        .map(|state| {
            let n = match state {
                SlaState::Breached => breached,
                SlaState::AtRisk => at_risk,
                SlaState::OnTrack => active - breached - at_risk,
                SlaState::Paused => of(Status::WaitingOnReporter),
                SlaState::Stopped => 0,
            };
            (state, n)
        })
        .collect();
    Ok(Counts { by_status, by_sla })
}
