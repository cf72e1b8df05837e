//! Files served by their bytes, with headers that keep them from running on the desk's
//! origin; only images inline.

use super::*;
use crate::on_both_backends;

on_both_backends!(files_are_served_by_their_bytes_and_only_images_inline,);

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
