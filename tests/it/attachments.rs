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
use crate::on_both_backends;
use crate::tracking::tracking_path;

on_both_backends!(
    the_report_form_takes_files_and_the_reporter_sees_them,
    files_are_served_by_their_bytes_and_only_images_inline,
    replies_and_notes_carry_files_to_whom_they_concern,
    the_api_adds_files_with_a_comment_or_on_their_own,
    files_over_the_limits_are_refused_and_nothing_is_stored,
    a_multipart_form_without_its_token_is_refused,
);

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

async fn the_report_form_takes_files_and_the_reporter_sees_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let page = app.page_as(&app.client, "/report").await;
    assert!(page.contains("enctype=\"multipart/form-data\""), "{page}");
    assert!(
        page.contains("Up to 10 files, 10 MB each, 25 MB together."),
        "the limits beside the field: {page}"
    );
    let key = hidden_field(&page, "submission_key");
    let mut fields = report_fields();
    fields.push(("submission_key", key.as_str()));
    // The browser's claims are wrong both ways: the bytes decide.
    let files = vec![
        file("screen shot é.png", PNG, "application/octet-stream"),
        file("query.sql", b"select * from orders;\n", "image/png"),
    ];
    let response = post_files(&app, &app.client, "/report", &fields, files).await;
    assert_eq!(response.status(), 303);
    let tracking = header(&response, "location");
    assert!(tracking.starts_with("/t/"), "{tracking}");
    assert_eq!(app.count("attachments"), 2);

    // The tracking page shows the screenshot as a thumbnail, the query as a link.
    let html = app.page_as(&app.client, &tracking).await;
    assert!(
        html.contains("alt=\"screen shot é.png\""),
        "a thumbnail named by its file: {html}"
    );
    assert!(
        html.contains(">query.sql</a>") && html.contains("22 bytes"),
        "{html}"
    );
    let paths = file_paths(&html, &tracking);
    assert_eq!(paths.len(), 2, "{html}");
    let image = app.client.get(app.url(&paths[0])).send().await.unwrap();
    assert_guarded(&image, "the screenshot");
    assert_eq!(header(&image, "content-type"), "image/png");
    assert!(header(&image, "content-disposition").starts_with("inline"));
    assert!(
        header(&image, "content-disposition")
            .contains("filename*=UTF-8''screen%20shot%20%C3%A9.png"),
        "{}",
        header(&image, "content-disposition")
    );
    assert_eq!(image.bytes().await.unwrap().as_ref(), PNG);
    let query = app.client.get(app.url(&paths[1])).send().await.unwrap();
    assert_guarded(&query, "the query");
    assert_eq!(header(&query, "content-type"), "text/plain; charset=utf-8");
    assert!(header(&query, "content-disposition").starts_with("attachment"));

    // The ticket's JSON lists both, by their sniffed types, at API addresses.
    let number = app.count("tickets");
    let number = format!("INS-{}", 1000 + number);
    let json = ticket_json(&app, &number).await;
    let listed = json["attachments"].as_array().expect("attachments listed");
    assert_eq!(listed.len(), 2, "{json}");
    assert_eq!(listed[0]["filename"], "screen shot é.png");
    assert_eq!(listed[0]["content_type"], "image/png");
    assert_eq!(listed[0]["size"], PNG.len());
    assert_eq!(listed[1]["content_type"], "text/plain");
    let url = listed[0]["url"].as_str().unwrap();
    assert!(
        url.ends_with(&format!(
            "/api/v1/tickets/{number}/attachments/{}",
            listed[0]["id"]
        )),
        "{url}"
    );
    let fetched = app.api_get(&url[url.find("/api/").unwrap()..]).await;
    assert_guarded(&fetched, "through the API");
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), PNG);
    // The team's notice links to the files on the ticket page, not carrying them.
    let notice = emails(&app, "new_ticket").concat();
    assert!(
        notice.contains(&format!(
            "/tickets/{number}/attachments/{}",
            listed[0]["id"]
        )),
        "{notice}"
    );
    // The list of tickets carries them too.
    let page: Value = app.api_json("/api/v1/tickets?status=all").await;
    assert_eq!(
        page["tickets"][0]["attachments"].as_array().unwrap().len(),
        2
    );
}

async fn files_are_served_by_their_bytes_and_only_images_inline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ticket = app
        .file_report(json!({"reporter_email": "ana@example.com", "kind": "other",
                            "description": "Files of every kind"}))
        .await;
    let number = ticket["number"].as_str().unwrap();
    let files = vec![
        file("logo.svg", SVG, "image/png"),
        file("page.html", HTML, "image/png"),
        file("real.png", PNG, "text/html"),
    ];
    let response = api_upload(&app, number, Scope::Write, &[("public", "true")], files).await;
    assert_eq!(response.status(), 201);
    let stored: Value = response.json().await.unwrap();
    let (agent, _) = app.signed_in(Role::Agent).await;
    let tracking = tracking_path(&ticket);
    for (i, inline) in [(0, false), (1, false), (2, true)] {
        let id = &stored[i]["id"];
        let name = stored[i]["filename"].as_str().unwrap();
        for (client, path) in [
            (&agent, format!("/tickets/{number}/attachments/{id}")),
            (&app.client, format!("{tracking}/attachments/{id}")),
        ] {
            let response = client.get(app.url(&path)).send().await.unwrap();
            assert_guarded(&response, &path);
            let disposition = header(&response, "content-disposition");
            let content_type = header(&response, "content-type");
            if inline {
                assert!(disposition.starts_with("inline"), "{name}: {disposition}");
                assert_eq!(content_type, "image/png");
            } else {
                assert!(
                    disposition.starts_with("attachment"),
                    "{name}: {disposition}"
                );
                assert_ne!(
                    content_type, "image/png",
                    "{name}: the claim is not believed"
                );
                assert!(!content_type.starts_with("image/svg"), "{name}");
            }
        }
    }
    assert_eq!(stored[1]["content_type"], "text/html");
    // The ticket page shows only the real image as a thumbnail.
    let html = app.page_as(&agent, &format!("/tickets/{number}")).await;
    assert!(html.contains("alt=\"real.png\""), "{html}");
    assert!(!html.contains("alt=\"logo.svg\"") && !html.contains("alt=\"page.html\""));
    assert!(html.contains(">logo.svg</a>") && html.contains(">page.html</a>"));
    // Another ticket's number or an unknown id finds nothing.
    let other = app
        .file_report(json!({"reporter_email": "bo@example.com", "kind": "other",
                            "description": "Another report"}))
        .await;
    let id = &stored[2]["id"];
    let wrong = format!(
        "/tickets/{}/attachments/{id}",
        other["number"].as_str().unwrap()
    );
    assert_eq!(
        agent.get(app.url(&wrong)).send().await.unwrap().status(),
        404
    );
    let wrong = format!("{}/attachments/{id}", tracking_path(&other));
    assert_eq!(
        app.client
            .get(app.url(&wrong))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

async fn replies_and_notes_carry_files_to_whom_they_concern(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ticket = app
        .file_report(
            json!({"reporter_email": "ana@example.com", "kind": "failed_report",
                            "description": "Report generation failed (R-502)"}),
        )
        .await;
    let number = ticket["number"].as_str().unwrap().to_string();
    let tracking = tracking_path(&ticket);

    // The reporter replies from the tracking page with a screenshot.
    let response = post_files(
        &app,
        &app.client,
        &tracking,
        &[("body", "Here is what I see")],
        vec![file("error.png", PNG, "image/png")],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.count("attachments"), 1);

    // An agent answers publicly with a file, and notes something internal with another.
    let (agent, _) = app.signed_in(Role::Agent).await;
    let comment = format!("/tickets/{number}/comment");
    let public = post_files(
        &app,
        &agent,
        &comment,
        &[
            ("body", "The fix is in this script"),
            ("visibility", "public"),
            ("status", ""),
        ],
        vec![file("fix.sql", b"update orders set x = 1;\n", "text/plain")],
    )
    .await;
    assert_eq!(public.status(), 303);
    let internal = post_files(
        &app,
        &agent,
        &comment,
        &[
            ("body", "Customer data inside, keep it here"),
            ("visibility", "internal"),
        ],
        vec![file("dump.csv", b"id,email\n1,a@example.com\n", "text/csv")],
    )
    .await;
    assert_eq!(internal.status(), 303);
    assert_eq!(app.count("attachments"), 3);

    // The agent sees every file under its message; the reporter only the public ones.
    let page = app.page_as(&agent, &format!("/tickets/{number}")).await;
    for name in ["alt=\"error.png\"", ">fix.sql</a>", ">dump.csv</a>"] {
        assert!(page.contains(name), "{name} on the ticket page: {page}");
    }
    let files: Value = ticket_json(&app, &number).await["attachments"].clone();
    let id_of = |name: &str| {
        files
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["filename"] == name)
            .unwrap_or_else(|| panic!("{name} in {files}"))["id"]
            .clone()
    };
    let html = app.page_as(&app.client, &tracking).await;
    assert!(
        html.contains("alt=\"error.png\"") && html.contains(">fix.sql</a>"),
        "{html}"
    );
    assert!(
        !html.contains("dump.csv"),
        "an internal file on the tracking page: {html}"
    );
    let internal_path = format!("{tracking}/attachments/{}", id_of("dump.csv"));
    let refused = app
        .client
        .get(app.url(&internal_path))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        404,
        "the reporter fetching an internal file"
    );
    let own = format!("/tickets/{number}/attachments/{}", id_of("dump.csv"));
    assert_guarded(
        &agent.get(app.url(&own)).send().await.unwrap(),
        "the agent's own note",
    );
    // Signed out, the ticket page's address is no way in.
    let anonymous = app.new_client().get(app.url(&own)).send().await.unwrap();
    assert_ne!(anonymous.status(), 200);

    // The reply's email links to its file through the tracking link; the note sends none.
    let mails = emails(&app, "public_comment");
    assert_eq!(mails.len(), 1, "{mails:?}");
    let link = format!("{tracking}/attachments/{}", id_of("fix.sql"));
    assert!(mails[0].contains(&link), "{}", mails[0]);
    assert!(mails[0].contains("fix.sql (25 bytes)"), "{}", mails[0]);
    assert!(!mails.concat().contains("dump.csv"));

    // A replaced tracking link opens no file.
    let admin = app.signed_in(Role::Admin).await.0;
    let token = tracking.trim_start_matches("/t/").to_string();
    let revoked = app
        .post_form_as(
            &admin,
            "/admin/tracking-links/revoke",
            &[("number", number.as_str())],
        )
        .await;
    assert!(
        revoked.status().is_success() || revoked.status() == 303,
        "{}",
        revoked.status()
    );
    let old = format!("/t/{token}/attachments/{}", id_of("fix.sql"));
    assert_eq!(
        app.client.get(app.url(&old)).send().await.unwrap().status(),
        404
    );
}

async fn the_api_adds_files_with_a_comment_or_on_their_own(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ticket = app
        .file_report(json!({"reporter_email": "ana@example.com", "kind": "other",
                            "description": "A report for the API"}))
        .await;
    let number = ticket["number"].as_str().unwrap();
    let tracking = tracking_path(&ticket);
    // On their own, files are internal: on the ticket, not on the tracking page.
    let response = api_upload(
        &app,
        number,
        Scope::Write,
        &[],
        vec![file("trace.log", b"line one\nline two\n", "text/plain")],
    )
    .await;
    assert_eq!(response.status(), 201);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(stored[0]["filename"], "trace.log");
    assert_eq!(stored[0]["size"], 18);
    let html = app.page_as(&app.client, &tracking).await;
    assert!(!html.contains("trace.log"), "{html}");
    let events: Value = app
        .api_json(&format!("/api/v1/tickets/{number}/events"))
        .await;
    let added = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "files_attached")
        .expect("a files-attached entry");
    assert_eq!(added["public"], false);
    // With a public comment, the reporter reads it with its file and is emailed a link.
    let response = api_upload(
        &app,
        number,
        Scope::Write,
        &[
            ("comment", "Here is the corrected profile"),
            ("public", "true"),
        ],
        vec![file("profile.png", PNG, "image/png")],
    )
    .await;
    assert_eq!(response.status(), 201);
    let stored: Value = response.json().await.unwrap();
    let html = app.page_as(&app.client, &tracking).await;
    assert!(html.contains("Here is the corrected profile"));
    assert!(html.contains("alt=\"profile.png\""), "{html}");
    let mails = emails(&app, "public_comment").concat();
    assert!(
        mails.contains(&format!("{tracking}/attachments/{}", stored[0]["id"])),
        "{mails}"
    );
    // Without a file, or with a read token, nothing is added.
    let none = api_upload(
        &app,
        number,
        Scope::Write,
        &[("comment", "no file")],
        vec![],
    )
    .await;
    assert_eq!(none.status(), 422);
    let problem: Value = none.json().await.unwrap();
    assert!(problem["errors"]["attachments"].is_string(), "{problem}");
    let read = api_upload(
        &app,
        number,
        Scope::Read,
        &[],
        vec![file("a.txt", b"a", "text/plain")],
    )
    .await;
    assert_eq!(read.status(), 403);
    let json_body = app
        .client
        .post(app.url(&format!("/api/v1/tickets/{number}/attachments")))
        .bearer_auth(app.token(&[Scope::Write]))
        .json(&json!({"attachments": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 415);
    assert_eq!(app.count("attachments"), 2);
    assert_eq!(
        ticket_json(&app, number).await["attachments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn files_over_the_limits_are_refused_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.attachment_max_file_bytes = 2_000;
        s.attachment_max_total_bytes = 3_000;
        s.attachment_max_files = 2;
    })
    .await;
    let page = app.page_as(&app.client, "/report").await;
    assert!(
        page.contains("Up to 2 files, 2 KB each, 3 KB together."),
        "{page}"
    );
    let cases: [(Vec<File>, &str); 4] = [
        (
            vec![file("big.bin", &[7; 2_001], "image/png")],
            "a file can be at most 2 KB",
        ),
        (
            vec![
                file("a.txt", b"a", "text/plain"),
                file("b.txt", b"b", "text/plain"),
                file("c.txt", b"c", "text/plain"),
            ],
            "At most 2 files at a time; 3 were attached.",
        ),
        (
            vec![
                file("a.bin", &[1; 1_600], "image/png"),
                file("b.bin", &[2; 1_600], "image/png"),
            ],
            "at most 3 KB can be attached at a time",
        ),
        // Far more than the limits: the desk stops reading, and says so all the same.
        (
            vec![file("huge.bin", &vec![3; 3_000_000], "image/png")],
            "at most 3 KB can be attached at a time",
        ),
    ];
    for (files, message) in cases {
        let fields = report_fields();
        let response = post_files(&app, &app.client, "/report", &fields, files).await;
        assert_eq!(response.status(), 422, "{message}");
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{message}: {html}");
        assert!(
            html.contains("id=\"attachments-error\""),
            "beside the field: {html}"
        );
        assert!(
            html.contains("The orders report fails with R-502"),
            "what was typed is kept: {html}"
        );
        assert!(html.contains("Choose your files again"), "{html}");
    }
    assert_eq!(app.count("tickets"), 0);
    assert_eq!(app.count("attachments"), 0);

    // The tracking reply, the agent's reply and the API refuse the same way.
    let ticket = app
        .file_report(json!({"reporter_email": "ana@example.com", "kind": "other",
                            "description": "Within limits"}))
        .await;
    let number = ticket["number"].as_str().unwrap();
    let events = app.count("ticket_events");
    let big = || vec![file("big.bin", &[7; 2_001], "image/png")];
    let tracking = tracking_path(&ticket);
    let reply = post_files(&app, &app.client, &tracking, &[("body", "too big")], big()).await;
    assert_eq!(reply.status(), 422);
    let html = reply.text().await.unwrap();
    assert!(
        html.contains("a file can be at most 2 KB") && html.contains("too big"),
        "{html}"
    );
    let (agent, _) = app.signed_in(Role::Agent).await;
    let path = format!("/tickets/{number}/comment");
    let note = post_files(
        &app,
        &agent,
        &path,
        &[("body", "note"), ("visibility", "internal")],
        big(),
    )
    .await;
    assert_eq!(note.status(), 422);
    assert!(
        note.text()
            .await
            .unwrap()
            .contains("a file can be at most 2 KB")
    );
    let api = api_upload(&app, number, Scope::Write, &[("comment", "c")], big()).await;
    assert_eq!(api.status(), 422);
    let problem: Value = api.json().await.unwrap();
    assert!(
        problem["errors"]["attachments"]
            .as_str()
            .unwrap()
            .contains("at most 2 KB"),
        "{problem}"
    );
    let huge = || vec![file("huge.bin", &vec![3; 3_000_000], "image/png")];
    let reply = post_files(&app, &app.client, &tracking, &[("body", "kept")], huge()).await;
    assert_eq!(reply.status(), 422);
    let html = reply.text().await.unwrap();
    assert!(
        html.contains("at most 3 KB can be attached") && html.contains("kept"),
        "{html}"
    );
    let note = post_files(
        &app,
        &agent,
        &path,
        &[("body", "note"), ("visibility", "internal")],
        huge(),
    )
    .await;
    assert_eq!(note.status(), 422);
    assert!(
        note.text()
            .await
            .unwrap()
            .contains("at most 3 KB can be attached")
    );
    let api = api_upload(&app, number, Scope::Write, &[], huge()).await;
    assert_eq!(api.status(), 422);
    assert_eq!(app.count("attachments"), 0);
    assert_eq!(app.count("ticket_events"), events, "nothing recorded");
}

async fn a_multipart_form_without_its_token_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let _ = app.page_as(&app.client, "/report").await;
    let forged = app
        .client
        .post(app.url("/report"))
        .multipart(form(
            &report_fields(),
            vec![file("a.png", PNG, "image/png")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let wrong = app
        .client
        .post(app.url("/report"))
        .multipart(form(
            &[
                &[("csrf_token", "0".repeat(64).as_str())][..],
                &report_fields(),
            ]
            .concat(),
            vec![file("a.png", PNG, "image/png")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    // A form that takes no files does not read a multipart body for its token.
    let (agent, _) = app.signed_in(Role::Agent).await;
    let views = post_files(
        &app,
        &agent,
        "/queue/views",
        &[("name", "x"), ("query", "status=new")],
        vec![],
    )
    .await;
    assert_eq!(views.status(), 403);
    assert_eq!(app.count("tickets"), 0);
    assert_eq!(app.count("attachments"), 0);
    assert_eq!(app.count("saved_views"), 0);
}

/// An analyst attaches a screenshot on the report form in a real browser; their tracking
/// page shows it as a thumbnail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_attaches_a_file_on_the_report_form() {
    let Some(driver) = start_driver() else { return };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("screenshot.png");
    std::fs::write(&path, PNG).unwrap();
    let client = browser(&driver).await;
    let result = async {
        client.goto(&app.url("/report?kind=failed_report")).await?;
        client
            .find(Locator::Id("reporter_email"))
            .await?
            .send_keys("browser@example.com")
            .await?;
        client
            .find(Locator::Id("description"))
            .await?
            .send_keys("The orders report fails; the screenshot shows the error.")
            .await?;
        client
            .find(Locator::Id("attachments"))
            .await?
            .send_keys(&path.display().to_string())
            .await?;
        client
            .find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        for _ in 0..50 {
            if client.current_url().await?.path().starts_with("/t/") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let image = client.find(Locator::Css(".files img")).await?;
        let alt = image.attr("alt").await?;
        // Loaded: the browser could fetch and decode it from the tracking link (a lazy
        // image loads once it is on screen).
        let mut width = json!(0);
        for _ in 0..50 {
            width = client
                .execute(
                    "const img = document.querySelector('.files img'); \
                     img.scrollIntoView(); return img.complete ? img.naturalWidth : 0",
                    vec![],
                )
                .await?;
            if width != json!(0) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok::<_, fantoccini::error::CmdError>((alt, width))
    }
    .await;
    client.close().await.ok();
    let (alt, width) = result.expect("browser steps");
    assert_eq!(alt.as_deref(), Some("screenshot.png"));
    assert_eq!(width, json!(1));
    assert_eq!(app.count("attachments"), 1);
}
