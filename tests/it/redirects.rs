//! Redirect targets taken from requests (`/login?next=`, a saved queue view's filters):
//! only paths on this site, and control characters refused before anything is stored.

use inspect_desk::domain::role::Role;

use crate::helpers::{Backend, TestApp, hidden_field};
use crate::on_both_backends;

on_both_backends!(
    sign_in_goes_only_to_paths_on_this_site,
    control_characters_in_redirect_targets_are_refused,
);

const PASSWORD: &str = "a-long-test-password";

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

async fn sign_in_goes_only_to_paths_on_this_site(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user("agent@example.com", Role::Agent, PASSWORD);
    // The sign-in form carries a target on this site, and nothing else.
    let page = app
        .page_as(&app.client, "/login?next=/%09/evil.example")
        .await;
    assert_eq!(
        hidden_field(&page, "next"),
        "",
        "a tab before a second slash"
    );
    let page = app
        .page_as(&app.client, "/login?next=%2Fqueue%3Fstatus%3Dnew")
        .await;
    assert_eq!(hidden_field(&page, "next"), "/queue?status=new");
    let home = "/my/reports";
    let cases = [
        ("/queue?status=new", "/queue?status=new"),
        ("/tickets/INS-1001#history", "/tickets/INS-1001#history"),
        ("/%2F/evil.example", "/%2F/evil.example"),
        ("//evil.example", home),
        ("/\\evil.example", home),
        ("https://evil.example/", home),
        ("evil.example", home),
        ("/ /evil.example", home),
        ("/\u{a0}/evil.example", home),
        // Dot segments that a URL parser folds into `//evil.example`.
        ("/.//evil.example", home),
        ("/a/../..//evil.example", home),
        ("", home),
    ];
    for (next, expected) in cases {
        let response = sign_in_with_next(&app, next).await;
        assert_eq!(response.status(), 303, "next {next:?}");
        assert_eq!(location(&response), expected, "next {next:?}");
    }
}

/// Sign in as the test's agent from a fresh browser, asking to go on to `next`.
async fn sign_in_with_next(app: &TestApp, next: &str) -> reqwest::Response {
    let client = app.new_client();
    app.post_form_as(
        &client,
        "/login",
        &[
            ("email", "agent@example.com"),
            ("password", PASSWORD),
            ("next", next),
        ],
    )
    .await
}

async fn control_characters_in_redirect_targets_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user("agent@example.com", Role::Agent, PASSWORD);
    let audited = app.count("audit_log");
    for next in [
        "/report\r\nSet-Cookie: planted=1",
        "/report\n",
        "/\t/evil.example",
    ] {
        let response = sign_in_with_next(&app, next).await;
        assert_eq!(response.status(), 400, "next {next:?}");
        assert!(
            response
                .headers()
                .get_all("set-cookie")
                .iter()
                .all(|c| !c.to_str().unwrap().contains("session")),
            "no session for next {next:?}"
        );
        let page = response.text().await.unwrap();
        assert!(page.contains("could not be read"), "{page}");
    }
    assert_eq!(app.count("sessions"), 0, "nobody was signed in");
    assert_eq!(app.count("audit_log"), audited, "nothing was recorded");

    let (agent, _) = app.signed_in(Role::Agent).await;
    for query in [
        "status=new\r\nX-Injected: 1",
        "status=new\n",
        "\tstatus=new",
    ] {
        let response = app
            .post_form_as(
                &agent,
                "/queue/views",
                &[("name", "broken"), ("query", query)],
            )
            .await;
        assert_eq!(response.status(), 400, "query {query:?}");
    }
    assert_eq!(app.count("saved_views"), 0, "no view was saved");
    // An ordinary view is saved and leads back to its filters.
    let response = app
        .post_form_as(
            &agent,
            "/queue/views",
            &[
                ("name", "New"),
                ("query", "?status=new&team=semantic-types"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/queue?status=new&team=semantic-types");
    assert_eq!(app.count("saved_views"), 1);
}
