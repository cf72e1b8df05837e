//! The analyst's tracking page at `/t/{token}`: what the desk made of the report.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Layout, PageContext, PageError, html};
use crate::clock::rfc3339;
use crate::db::models::event::Event;
use crate::db::models::ticket::Ticket;
use crate::db::models::ticket_run::{LinkedRun, TicketRun};
use crate::domain::status::Status;
use crate::domain::ticket_number::TicketNumber;
use crate::error::AppError;
use crate::services::ticket_actions;
use crate::state::Desk;
use crate::web::auth::client::client_ip;
use crate::web::auth::limits::Limits;
use crate::web::body;

#[derive(Template)]
#[template(path = "tracking/show.html")]
struct TrackingPage {
    layout: Layout,
    ticket: Ticket,
    number: String,
    category_label: &'static str,
    reasons: Vec<String>,
    severity_reasons: Vec<String>,
    team_name: String,
    first_response_due: String,
    resolution_due: String,
    created_at: String,
    runs: Vec<LinkedRun>,
    events: Vec<Event>,
    /// Open incidents other analysts can see too; this ticket's own is marked.
    known: Vec<super::report::KnownIssueView>,
    email: String,
    reply: ReplyBox,
}

/// The reply box: what the reporter typed and, when it was not sent, why.
#[derive(Default)]
struct ReplyBox {
    body: String,
    error: Option<String>,
}

impl TrackingPage {
    fn merged_into(&self) -> Option<String> {
        self.ticket
            .merged_into
            .map(|id| TicketNumber::of(id).to_string())
    }

    fn can_reply(&self) -> bool {
        self.ticket.status != Status::Closed
    }

    /// Is this ticket part of incident `number`?
    fn in_incident(&self, number: &str) -> bool {
        self.ticket
            .parent_id
            .map(|id| TicketNumber::of(id).to_string())
            .as_deref()
            == Some(number)
    }

    fn time(&self, at: &chrono::NaiveDateTime) -> String {
        rfc3339(*at)
    }
}

pub async fn show(
    ctx: PageContext,
    desk: web::Data<Desk>,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    // Tokens are 40 hex characters; anything else cannot match, so skip the query.
    if !valid_token(&token) {
        return Err(AppError::NotFound.into());
    }
    render(&ctx, &desk, token, StatusCode::OK, ReplyBox::default()).await
}

/// The tracking page of the ticket with tracking link `token`.
async fn render(
    ctx: &PageContext,
    desk: &web::Data<Desk>,
    token: String,
    status: StatusCode,
    reply: ReplyBox,
) -> Result<HttpResponse, PageError> {
    let (ticket, runs, events) = desk
        .db(move |conn, _| {
            let ticket = Ticket::find_by_token(conn, &token)?;
            let runs = TicketRun::for_ticket(conn, ticket.id)?;
            let events = Event::for_ticket(conn, ticket.id, true)?;
            Ok((ticket, runs, events))
        })
        .await?;
    let team_name = desk
        .model
        .team(&ticket.team)
        .map_or_else(|| ticket.team.clone(), |t| t.name.clone());
    let known = super::report::known_issues(desk).await;
    let page = TrackingPage {
        known,
        email: ticket.reporter_email.clone(),
        layout: Layout::new(format!("{} — {}", ticket.number(), ticket.status), ctx),
        number: ticket.number().to_string(),
        category_label: ticket.category.label(),
        reasons: ticket.classification_reasons(),
        severity_reasons: ticket.severity_reasons(),
        team_name,
        first_response_due: rfc3339(ticket.first_response_due),
        resolution_due: rfc3339(ticket.resolution_due),
        created_at: rfc3339(ticket.created_at),
        runs,
        events,
        ticket,
        reply,
    };
    html(status, &page)
}

#[derive(serde::Deserialize)]
pub struct ReplyForm {
    body: String,
}

fn valid_token(token: &str) -> bool {
    token.len() == 40 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The reporter answers: a resolved ticket reopens, a waiting one resumes. Replies are
/// limited per tracking link and per address (`DESK_REPLY_RATE_PER_MINUTE`); a reply over
/// the limit, or one the desk refuses, stays in the box with the reason beside it.
pub async fn reply(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    limits: web::Data<Limits>,
    token: web::Path<String>,
    form: body::Form<ReplyForm>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    if !valid_token(&token) {
        return Err(AppError::NotFound.into());
    }
    let body = form.into_inner().body;
    if !limits.replies.allow_reply(&token, client_ip(&req)) {
        let reply = ReplyBox {
            body,
            error: Some(
                "You have sent several replies in the last minute. Wait a minute, then send \
                 this one again; it is kept here."
                    .into(),
            ),
        };
        let mut page = render(&ctx, &desk, token, StatusCode::TOO_MANY_REQUESTS, reply).await?;
        page.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from_static("60"),
        );
        return Ok(page);
    }
    let back = format!("/t/{token}");
    let (sent_token, sent_body) = (token.clone(), body.clone());
    let sent = desk
        .db(move |conn, desk| ticket_actions::reporter_reply(conn, desk, &sent_token, &sent_body))
        .await;
    match sent {
        Ok(_) => Ok(crate::web::flash::see_other_with(
            &back,
            "Your reply is sent: the team sees it with your report.",
        )),
        Err(AppError::Invalid(errors)) => {
            let error = errors.into_values().next();
            let reply = ReplyBox { body, error };
            render(&ctx, &desk, token, StatusCode::UNPROCESSABLE_ENTITY, reply).await
        }
        Err(other) => Err(other.into()),
    }
}
