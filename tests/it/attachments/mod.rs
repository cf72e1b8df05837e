//! Files on tickets through every way in (the report form, the tracking page's reply, an
//! agent's reply or note, the API), served to those who may see them with headers that
//! keep them from running on the desk's origin, listed in the ticket's JSON and linked
//! from emails; over a limit, a clear message and nothing stored.

use std::time::Duration;

use diesel::prelude::*;
use fantoccini::Locator;
use inspect_desk::domain::role::{Role, Scope};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::browser::{browser, start_driver};
use crate::helpers::{Backend, TestApp, hidden_field};
use crate::tracking::tracking_path;

mod limits;
mod serving;
mod ways_in;

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x04, 0x00, 0x00, 0x00, 0xb5, 0x1c, 0x0c,
    0x02, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0x00, 0x00,
    0x00, 0x06, 0x00, 0x02, 0x30, 0x81, 0xd0, 0x2f, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

const SVG: &[u8] =
    br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>"#;

const HTML: &[u8] = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>";

/// A file as a client sends it: name, bytes, and the type it claims.
struct File {
    name: &'static str,
    bytes: Vec<u8>,
    claimed: &'static str,
}

fn file(name: &'static str, bytes: &[u8], claimed: &'static str) -> File {
    File {
        name,
        bytes: bytes.to_vec(),
        claimed,
    }
}

/// A multipart form: text fields first (as browsers send them, in page order), then the
/// files under `attachments`.
fn form(fields: &[(&str, &str)], files: Vec<File>) -> Form {
    let mut form = Form::new();
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    for f in files {
        let part = Part::bytes(f.bytes)
            .file_name(f.name)
            .mime_str(f.claimed)
            .unwrap();
        form = form.part("attachments", part);
    }
    form
}

/// POST a multipart form as `client`, with the CSRF token its pages carry.
async fn post_files(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
    files: Vec<File>,
) -> reqwest::Response {
    let token = app.csrf_token(client).await;
    let mut all = vec![("csrf_token", token.as_str())];
    all.extend_from_slice(fields);
    client
        .post(app.url(path))
        .multipart(form(&all, files))
        .send()
        .await
        .expect("POST multipart")
}

/// POST files to the API upload with a token of `scope`.
async fn api_upload(
    app: &TestApp,
    number: &str,
    scope: Scope,
    fields: &[(&str, &str)],
    files: Vec<File>,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/tickets/{number}/attachments")))
        .bearer_auth(app.token(&[scope]))
        .multipart(form(fields, files))
        .send()
        .await
        .expect("POST attachments")
}

fn report_fields() -> Vec<(&'static str, &'static str)> {
    vec![
        ("reporter_email", "ana@example.com"),
        ("kind", "failed_report"),
        ("warehouse_type", "postgres"),
        ("table", "public.orders"),
        (
            "description",
            "The orders report fails with R-502; screenshot attached",
        ),
    ]
}

/// The ticket as the API shows it.
async fn ticket_json(app: &TestApp, number: &str) -> Value {
    app.api_json(&format!("/api/v1/tickets/{number}")).await
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The headers every served file carries, whoever fetches it.
fn assert_guarded(response: &reqwest::Response, what: &str) {
    assert_eq!(response.status(), 200, "{what}");
    assert_eq!(
        header(response, "x-content-type-options"),
        "nosniff",
        "{what}"
    );
    assert_eq!(
        header(response, "content-security-policy"),
        "sandbox",
        "{what}"
    );
    assert!(
        header(response, "cache-control").starts_with("private"),
        "{what}"
    );
}

/// The first `files` entry of a message as `/…/attachments/{id}` paths in a page.
fn file_paths(html: &str, prefix: &str) -> Vec<String> {
    let marker = format!("href=\"{prefix}/attachments/");
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&marker) {
        let start = at + "href=\"".len();
        let end = rest[start..].find('"').unwrap() + start;
        let path = rest[start..end].to_string();
        if !found.contains(&path) {
            found.push(path);
        }
        rest = &rest[end..];
    }
    found
}

/// The text of the emails queued with `template`.
fn emails(app: &TestApp, template: &str) -> Vec<String> {
    use inspect_desk::db::schema::outbox;
    let mut conn = app.desk.pool.get().unwrap();
    outbox::table
        .filter(outbox::template.eq(template))
        .select(outbox::body_text)
        .load(&mut *conn)
        .unwrap()
}
