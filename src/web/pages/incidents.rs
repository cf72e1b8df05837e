//! `/incidents` for agents: the open incidents, what opened each, the reports it gathers,
//! its latest update and its age, each linking to its ticket page.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Layout, PageContext, PageError, html};
use crate::services::incident_list::{self, IncidentRow};
use crate::state::Desk;

#[derive(Template)]
#[template(path = "incidents/index.html")]
struct IncidentsPage {
    layout: Layout,
    incidents: Vec<IncidentRow>,
}

pub async fn index(ctx: PageContext, desk: web::Data<Desk>) -> Result<HttpResponse, PageError> {
    let incidents = desk.db(incident_list::open).await?;
    let page = IncidentsPage {
        layout: Layout::new("Open incidents", &ctx),
        incidents,
    };
    html(StatusCode::OK, &page)
}
