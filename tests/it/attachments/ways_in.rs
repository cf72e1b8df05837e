//! Files through every way in: the report form (and a real browser), the tracking
//! page's reply, an agent's reply or note, and the API.

use super::*;
use crate::on_both_backends;

on_both_backends!(
    the_report_form_takes_files_and_the_reporter_sees_them,
    replies_and_notes_carry_files_to_whom_they_concern,
    the_api_adds_files_with_a_comment_or_on_their_own,
);

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
