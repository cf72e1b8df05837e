//! The analyst's report form at `/report`: prefilled from the inspector's deep link,
//! re-rendered with every value and a message per bad field, safe against double submits.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Layout, PageContext, PageError, html};
use crate::domain::category::Category;
use crate::domain::report::{Checker, FieldErrors, RawReport, Report};
use crate::domain::severity::Impact;
use crate::domain::submission::{Requester, Submission};
use crate::domain::text;
use crate::domain::ticket_number::TicketNumber;
use crate::domain::warehouse::WarehouseType;
use crate::error::AppError;
use crate::services::intake;
use crate::state::Desk;
use crate::web::attachments::FilesForm;
use crate::web::auth::client::client_ip;
use crate::web::auth::limits::Limits;
use crate::web::body;

/// A choice in a select box.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "report/form.html")]
struct ReportForm {
    layout: Layout,
    values: RawReport,
    errors: FieldErrors,
    submission_key: String,
    kinds: Vec<Choice>,
    warehouses: Vec<Choice>,
    impacts: Vec<Choice>,
    script: String,
    /// Open incidents, as a banner an analyst can join instead of filing.
    known: Vec<KnownIssueView>,
    /// The address to prefill in each banner's join form.
    email: String,
    /// The attachment limits in words, beside the file field.
    file_limits: String,
    /// Files came with a form shown again: a browser cannot keep them, so ask for them.
    files_dropped: bool,
}

/// A known issue ready for a page.
pub struct KnownIssueView {
    pub number: String,
    pub headline: String,
    pub since: chrono::NaiveDateTime,
    pub reports: usize,
    pub team: String,
    pub latest: Option<LatestUpdate>,
}

/// An incident's newest public update.
pub struct LatestUpdate {
    pub text: String,
    pub at: chrono::NaiveDateTime,
}

impl From<crate::services::incidents::KnownIssue> for KnownIssueView {
    fn from(k: crate::services::incidents::KnownIssue) -> Self {
        KnownIssueView {
            number: k.number.to_string(),
            headline: k.headline,
            since: k.since,
            reports: k.reports,
            team: k.team,
            latest: k.latest_update.map(|(text, at)| LatestUpdate { text, at }),
        }
    }
}

/// The open incidents as banners (none if the database cannot say: the form must work).
pub async fn known_issues(desk: &web::Data<Desk>) -> Vec<KnownIssueView> {
    let found = desk.db(crate::services::incidents::known_issues).await;
    match found {
        Ok(issues) => issues.into_iter().map(KnownIssueView::from).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "known issues could not be read");
            Vec::new()
        }
    }
}

impl ReportForm {
    fn new(
        ctx: &PageContext,
        values: RawReport,
        errors: FieldErrors,
        submission_key: String,
        known: Vec<KnownIssueView>,
        limits: &crate::domain::attachment::Limits,
    ) -> Self {
        let email = values.reporter_email.clone().unwrap_or_default();
        let picked = |v: &Option<String>, candidate: &str| v.as_deref() == Some(candidate);
        let mut kinds: Vec<Choice> = Category::ALL
            .iter()
            .map(|c| Choice {
                value: c.as_str(),
                label: c.label(),
                selected: picked(&values.kind, c.as_str()),
            })
            .collect();
        kinds.push(Choice {
            value: "unsure",
            label: "Not sure",
            selected: picked(&values.kind, "unsure"),
        });
        let warehouses = WarehouseType::ALL
            .iter()
            .map(|w| Choice {
                value: w.as_str(),
                label: w.label(),
                selected: picked(&values.warehouse_type, w.as_str()),
            })
            .collect();
        let impacts = [
            (Impact::Blocked, "Blocked: I cannot do my work"),
            (Impact::Degraded, "Degraded: I can work around it"),
            (Impact::Minor, "Minor: an annoyance"),
        ]
        .into_iter()
        .map(|(i, label)| Choice {
            value: i.as_str(),
            label,
            selected: picked(&values.impact, i.as_str()),
        })
        .collect();
        ReportForm {
            layout: Layout::new("Report a problem", ctx),
            values,
            errors,
            submission_key,
            kinds,
            warehouses,
            impacts,
            script: crate::web::assets::asset_url("js/report.js"),
            known,
            email,
            file_limits: limits.in_words(),
            files_dropped: false,
        }
    }

    /// The value typed into a field, or "".
    fn value(&self, field: &str) -> &str {
        let v = &self.values;
        let value = match field {
            "reporter_name" => &v.reporter_name,
            "reporter_email" => &v.reporter_email,
            "table" => &v.table,
            "column" => &v.column,
            "detected_type" => &v.detected_type,
            "expected_type" => &v.expected_type,
            "run_id" => &v.run_id,
            "description" => &v.description,
            _ => &None,
        };
        value.as_deref().unwrap_or("")
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

/// Hidden form field that makes a resubmitted form land on the ticket it already made
/// (when the same requester sends the same answers again).
#[derive(Deserialize, Default)]
struct FormMeta {
    #[serde(default)]
    submission_key: Option<String>,
}

/// The key a rendered form carries, so that its double submit makes one ticket. A UUIDv7
/// (time first, then 74 random bits): keys of forms filled in at about the same time sit
/// together at the end of the tickets' key index, not each on a random page of it that
/// the report's commit has to write out again.
fn new_submission_key() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub async fn show(
    ctx: PageContext,
    desk: web::Data<Desk>,
    query: web::Query<RawReport>,
) -> Result<HttpResponse, PageError> {
    let mut values = query.into_inner();
    // A signed-in analyst is who they are; prefill what the account knows.
    if let Some(user) = &ctx.viewer.user {
        values
            .reporter_email
            .get_or_insert_with(|| user.email.clone());
        if let Some(name) = &user.name {
            values.reporter_name.get_or_insert_with(|| name.clone());
        }
    }
    let form = ReportForm::new(
        &ctx,
        values,
        FieldErrors::new(),
        new_submission_key(),
        known_issues(&desk).await,
        &desk.attachment_limits,
    );
    html(StatusCode::OK, &form)
}

/// The report, sent urlencoded (deep links, programs posting the form) or as
/// `multipart/form-data` with files (the form itself). The files' limits are checked with
/// the other fields: a form over one comes back with every message and nothing saved.
pub async fn submit(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    limits: web::Data<Limits>,
    form: FilesForm,
) -> Result<HttpResponse, PageError> {
    if !limits.reports.allow(client_ip(&req)) {
        return Err(AppError::TooManyRequests.into());
    }
    let values: RawReport = form.decode()?;
    let meta: FormMeta = form.decode().unwrap_or_default();
    // A key is a UUID we handed out; anything else is ignored rather than trusted.
    let key = meta
        .submission_key
        .filter(|k| uuid::Uuid::parse_str(k).is_ok());
    let files = form.checked_files(&desk.attachment_limits);
    let report = match (Report::parse(&values), files) {
        (Ok(report), Ok(files)) => (report, files),
        (parsed, files) => {
            let mut errors = parsed.err().unwrap_or_default();
            if let Err(message) = files {
                errors.insert("attachments", message);
            }
            let key = key.unwrap_or_else(new_submission_key);
            let known = known_issues(&desk).await;
            let mut page =
                ReportForm::new(&ctx, values, errors, key, known, &desk.attachment_limits);
            page.files_dropped = form.had_files();
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let (report, files) = report;
    let requester = requester(&ctx, &req, &report);
    let submission = key.map(|key| Submission::new(key, &requester, &values));
    let submitted = desk
        .db(move |conn, desk| {
            let submitted = intake::submit_with_files(conn, desk, report, submission, files)?;
            desk.after_ingest.reports_filed(&submitted.touched());
            Ok(submitted)
        })
        .await;
    match submitted {
        Ok(submitted) => Ok(crate::web::flash::see_other_with(
            &format!("/t/{}", submitted.ticket().tracking_token),
            format!(
                "Thanks — your report is {}. We emailed this page's link to you; keep it to \
                 follow your report.",
                submitted.ticket().number()
            ),
        )),
        // The form again with what was typed, a fresh key and nothing of the first ticket.
        Err(AppError::SubmissionKeyReused) => {
            let errors = std::iter::once(("submission_key", KEY_REUSED.to_string())).collect();
            let known = known_issues(&desk).await;
            let key = new_submission_key();
            let mut page =
                ReportForm::new(&ctx, values, errors, key, known, &desk.attachment_limits);
            page.files_dropped = form.had_files();
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// Why a form whose key was already used is shown again.
const KEY_REUSED: &str = "This form was already sent, with other details or from another \
    browser or network, so nothing was saved this time. Check your answers and send the form \
    again to file them as a new report.";

/// Who sends the form: the signed-in account, else the reporter's address and the
/// client's (the submission key is bound to them).
fn requester(ctx: &PageContext, req: &HttpRequest, report: &Report) -> Requester {
    match &ctx.viewer.user {
        Some(user) => Requester::Account(user.id),
        None => Requester::Anonymous {
            reporter_email: report.reporter_email.to_string(),
            client: client_ip(req),
        },
    }
}

#[derive(Deserialize)]
pub struct JoinForm {
    reporter_email: String,
    #[serde(default)]
    reporter_name: Option<String>,
}

/// One click from the banner: the analyst's own ticket, attached to the known issue. The
/// address and name follow the report form's rules.
pub async fn join_known_issue(
    req: HttpRequest,
    ctx: PageContext,
    desk: web::Data<Desk>,
    limits: web::Data<Limits>,
    number: web::Path<String>,
    form: body::Form<JoinForm>,
) -> Result<HttpResponse, PageError> {
    if !limits.reports.allow(client_ip(&req)) {
        return Err(AppError::TooManyRequests.into());
    }
    let id = TicketNumber::parse(&number)
        .ok()
        .map(TicketNumber::id)
        .ok_or(AppError::NotFound)?;
    let form = form.into_inner();
    let mut errors = FieldErrors::new();
    let mut check = Checker(&mut errors);
    let email = check.field(
        "reporter_email",
        crate::domain::email::EmailAddress::parse(form.reporter_email.trim()),
    );
    let name = check.field(
        "reporter_name",
        text::name(form.reporter_name.as_deref().unwrap_or("")),
    );
    let (Some(email), Some(name)) = (email, name) else {
        // The form again, with the message beside each field.
        let values = RawReport {
            reporter_email: Some(form.reporter_email),
            reporter_name: form.reporter_name,
            ..RawReport::default()
        };
        let known = known_issues(&desk).await;
        let key = new_submission_key();
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ReportForm::new(&ctx, values, errors, key, known, &desk.attachment_limits),
        );
    };
    let ticket = desk
        .db(move |conn, desk| {
            let ticket = crate::services::incidents::join(conn, desk, id, email, name)?;
            desk.after_ingest
                .reports_filed(&crate::services::intake::touched_by(&ticket));
            Ok(ticket)
        })
        .await?;
    Ok(crate::web::flash::see_other_with(
        &format!("/t/{}", ticket.tracking_token),
        format!(
            "You are following the known issue {number}: its updates appear here and reach \
             you by email. We emailed this page's link to you; keep it.",
            number = TicketNumber::of(id)
        ),
    ))
}
