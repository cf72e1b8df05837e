//! The analyst's tracking page: the conversation with the desk, replies, and what the
//! page says after each action.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(a_blank_reply_comes_back_to_the_tracking_page);

fn report() -> Value {
    json!({"reporter_email": "ana@example.com", "kind": "failed_report", "impact": "degraded",
           "warehouse_type": "postgres", "table": "public.orders",
           "description": "Report generation failed (R-502)"})
}

/// `/t/{token}` of a ticket's tracking URL.
pub fn tracking_path(ticket: &Value) -> String {
    let url = ticket["tracking_url"].as_str().unwrap();
    url[url.find("/t/").unwrap()..].to_string()
}

/// A reply of only spaces and line breaks stays on the tracking page, with the message
/// beside the box and nothing recorded; the address the browser then shows is the
/// tracking page's own, so reopening it shows the page, not an error.
async fn a_blank_reply_comes_back_to_the_tracking_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ticket = app.file_report(report()).await;
    let path = tracking_path(&ticket);
    let events = app.count("ticket_events");
    let page = app.page_as(&app.client, &path).await;
    let action = form_action(&page, "reply-form");
    let response = app.post_form(&action, &[("body", "  \r\n \t ")]).await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("id=\"reply-form\""),
        "the tracking page: {html}"
    );
    assert!(
        html.contains("id=\"reply-body-error\"") && html.contains("Write something first"),
        "the message beside the box: {html}"
    );
    assert_eq!(app.count("ticket_events"), events, "nothing recorded");
    // The browser shows the form's address: opening it again is the tracking page.
    let again = app.client.get(app.url(&action)).send().await.unwrap();
    assert_eq!(again.status(), 200, "{action}");
    assert!(again.text().await.unwrap().contains("id=\"reply-form\""));
}

/// The `action` of the form with this id.
pub fn form_action(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no form {id}"));
    let tag = &html[html[..at].rfind("<form").expect("the form's tag")..];
    let start = tag.find("action=\"").unwrap() + "action=\"".len();
    let end = tag[start..].find('"').unwrap() + start;
    tag[start..end].to_string()
}
