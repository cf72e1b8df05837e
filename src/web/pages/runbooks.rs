//! `/runbooks`: the launch runbooks, rendered from the markdown built into the binary.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Layout, PageContext, PageError, html};
use crate::error::AppError;
use crate::runbooks::{RUNBOOKS, Runbook};

pub struct Entry {
    pub slug: &'static str,
    pub title: &'static str,
}

#[derive(Template)]
#[template(path = "runbooks/index.html")]
struct IndexPage {
    layout: Layout,
    entries: Vec<Entry>,
    body: &'static str,
}

#[derive(Template)]
#[template(path = "runbooks/show.html")]
struct ShowPage {
    layout: Layout,
    body: &'static str,
}

pub async fn index(ctx: PageContext) -> Result<HttpResponse, PageError> {
    let entries = RUNBOOKS
        .iter()
        .filter(|r| r.slug != "README")
        .map(|r| Entry {
            slug: r.slug,
            title: r.title(),
        })
        .collect();
    let body = Runbook::find("README").map_or("", Runbook::html);
    let page = IndexPage {
        layout: Layout::new("Runbooks", &ctx),
        entries,
        body,
    };
    html(StatusCode::OK, &page)
}

pub async fn show(ctx: PageContext, name: web::Path<String>) -> Result<HttpResponse, PageError> {
    let runbook = Runbook::find(&name).ok_or(AppError::NotFound)?;
    let page = ShowPage {
        layout: Layout::new(runbook.title(), &ctx),
        body: runbook.html(),
    };
    html(StatusCode::OK, &page)
}
