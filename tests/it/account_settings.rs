//! A signed-in person chooses the time zone the desk shows them times in.

use inspect_desk::domain::role::Role;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(a_chosen_time_zone_is_kept_and_used);

async fn a_chosen_time_zone_is_kept_and_used(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (analyst, email) = app.signed_in(Role::Analyst).await;
    let page = app.page_as(&analyst, "/account/settings").await;
    assert!(
        page.contains("<option value=\"\" selected>Use my browser's</option>"),
        "{page}"
    );
    assert!(page.contains("<option value=\"Asia/Tokyo\">"), "{page}");

    let saved = app
        .post_form_as(
            &analyst,
            "/account/settings",
            &[("time_zone", "Asia/Tokyo")],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let location = saved.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, "/account/settings");
    let page = app.page_as(&analyst, &location).await;
    assert!(
        page.contains("Saved: times now show in Asia/Tokyo."),
        "{page}"
    );
    assert!(
        page.contains("<option value=\"Asia/Tokyo\" selected>"),
        "{page}"
    );
    assert!(page.contains("JST"), "times read in Tokyo: {page}");
    assert_eq!(
        app.count(&format!(
            "users WHERE email = '{email}' AND time_zone = 'Asia/Tokyo'"
        )),
        1
    );

    // A name that is no zone: the page again, the message beside the list, nothing saved.
    let refused = app
        .post_form_as(
            &analyst,
            "/account/settings",
            &[("time_zone", "Mars/Olympus")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(page.contains("id=\"time_zone-error\""), "{page}");
    assert!(page.contains("not a time zone"), "{page}");
    assert_eq!(app.count("users WHERE time_zone = 'Asia/Tokyo'"), 1);

    // Back to the browser's zone.
    let cleared = app
        .post_form_as(&analyst, "/account/settings", &[("time_zone", "")])
        .await;
    assert_eq!(cleared.status(), 303);
    let page = app.page_as(&analyst, "/account/settings").await;
    assert!(page.contains("follow your browser"), "{page}");
    assert_eq!(
        app.count(&format!(
            "users WHERE email = '{email}' AND time_zone IS NULL"
        )),
        1
    );

    // Signed out, the page is not there.
    let anonymous = app.new_client();
    let response = anonymous
        .get(app.url("/account/settings"))
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), 200);
}
