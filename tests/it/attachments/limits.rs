//! Over a limit, or without the form's token: a clear message and nothing stored.

use super::*;
use crate::on_both_backends;

on_both_backends!(
    files_over_the_limits_are_refused_and_nothing_is_stored,
    a_multipart_form_without_its_token_is_refused,
);

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
