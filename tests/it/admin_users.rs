//! `/admin/users`: names shown and edited, deactivating and reactivating an account,
//! one-time passwords, each form POST → 303 → the page with a confirmation.

use inspect_desk::domain::role::{Role, Scope};
use serde_json::json;

use crate::helpers::{Backend, TestApp, hidden_field};
use crate::on_both_backends;

on_both_backends!(
    names_are_shown_and_edited_and_a_bad_one_comes_back_beside_its_field,
    a_deactivated_account_cannot_sign_in_or_be_assigned_until_reactivated,
    a_one_time_password_ends_sessions_and_must_be_changed
);

const PASSWORD: &str = "a-long-test-password";

/// POST one of the page's forms as `admin`; returns the answer and the page it leads to.
async fn post_on_users_page(
    app: &TestApp,
    admin: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> (reqwest::StatusCode, String) {
    let page = app.page_as(admin, "/admin/users").await;
    let csrf = hidden_field(&page, "csrf_token");
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    let response = admin.post(app.url(path)).form(&form).send().await.unwrap();
    let status = response.status();
    if status == 303 {
        assert_eq!(response.headers()["location"], "/admin/users");
        (status, app.page_as(admin, "/admin/users").await)
    } else {
        (status, response.text().await.unwrap())
    }
}

async fn sign_in_status(app: &TestApp, email: &str, password: &str) -> (u16, String) {
    let client = app.new_client();
    let response = app
        .post_form_as(
            &client,
            "/login",
            &[("email", email), ("password", password)],
        )
        .await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

async fn names_are_shown_and_edited_and_a_bad_one_comes_back_beside_its_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let id = app.create_user("dana@example.com", Role::Agent, PASSWORD);
    let path = format!("/admin/users/{id}/name");
    let (status, page) = post_on_users_page(&app, &admin, &path, &[("name", "Dana Okafor")]).await;
    assert_eq!(status, 303);
    assert!(page.contains("dana@example.com is now shown as Dana Okafor."));
    assert!(
        page.contains("value=\"Dana Okafor\""),
        "the name is in its field"
    );
    // The people pickers show it.
    let people = {
        let mut conn = app.desk.pool.get().unwrap();
        inspect_desk::services::people::assignable(&mut conn, &app.desk, None).unwrap()
    };
    assert!(people.iter().any(|p| p.id == id && p.name == "Dana Okafor"));

    // A name with a control character: refused beside the field, what was typed kept,
    // nothing stored.
    let (status, page) =
        post_on_users_page(&app, &admin, &path, &[("name", "Dana\u{7} Okafor")]).await;
    assert_eq!(status, 422);
    assert!(
        page.contains(&format!("id=\"name-error-{id}\"")),
        "the message sits beside the field"
    );
    assert!(page.contains("aria-invalid=\"true\""));
    let stored = app
        .desk
        .pool
        .get()
        .map(|mut conn| {
            inspect_desk::db::models::user::User::find(&mut conn, id)
                .unwrap()
                .unwrap()
        })
        .unwrap();
    assert_eq!(stored.name.as_deref(), Some("Dana Okafor"));
}

async fn a_deactivated_account_cannot_sign_in_or_be_assigned_until_reactivated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, admin_email) = app.signed_in(Role::Admin).await;
    let id = app.create_user("ops@example.com", Role::Admin, PASSWORD);
    let theirs = app.new_client();
    app.sign_in(&theirs, "ops@example.com", PASSWORD).await;
    // A token they made for a program.
    {
        let mut conn = app.desk.pool.get().unwrap();
        let actor = inspect_desk::services::accounts::Actor {
            name: "ops@example.com",
            ip: None,
        };
        inspect_desk::services::tokens::create(
            &mut conn,
            &actor,
            "nightly export",
            &[Scope::Read],
            app.desk.clock.now(),
        )
        .unwrap();
    }

    let (status, page) =
        post_on_users_page(&app, &admin, &format!("/admin/users/{id}/deactivate"), &[]).await;
    assert_eq!(status, 303);
    assert!(page.contains("ops@example.com is deactivated: they cannot sign in"));
    assert!(page.contains("data-state=\"deactivated\""));
    // Their session ended at once.
    let after = theirs.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(after.status(), 303);
    assert!(
        after.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    // They cannot sign in, and are told why; a wrong password reads as any other.
    let (status, body) = sign_in_status(&app, "ops@example.com", PASSWORD).await;
    assert_eq!(status, 403);
    assert!(body.contains("This account is deactivated"), "{body}");
    let (status, body) = sign_in_status(&app, "ops@example.com", "not-the-password-at-all").await;
    assert_eq!(status, 401);
    assert!(!body.contains("deactivated"));
    // Their token stays listed.
    let tokens = app.page_as(&admin, "/admin/tokens").await;
    assert!(
        tokens.contains("nightly export") && tokens.contains("ops@example.com"),
        "{tokens}"
    );
    // Nobody can assign them work.
    let people = {
        let mut conn = app.desk.pool.get().unwrap();
        inspect_desk::services::people::assignable(&mut conn, &app.desk, None).unwrap()
    };
    assert!(
        !people.iter().any(|p| p.id == id),
        "not offered as assignee"
    );
    let ticket = app
        .file_report(
            json!({"reporter_email": "a@example.com", "kind": "other", "description": "help"}),
        )
        .await;
    let number = ticket["number"].as_str().unwrap();
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/tickets/{number}")))
        .bearer_auth(app.token(&[Scope::Write]))
        .json(&json!({"assignee": id, "version": ticket["version"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("deactivated"));
    // An admin cannot deactivate themselves; they stay on the page with why.
    let my_id = {
        let mut conn = app.desk.pool.get().unwrap();
        inspect_desk::db::models::user::User::find_by_email(&mut conn, &admin_email)
            .unwrap()
            .unwrap()
            .id
    };
    let (status, page) = post_on_users_page(
        &app,
        &admin,
        &format!("/admin/users/{my_id}/deactivate"),
        &[],
    )
    .await;
    assert_eq!(status, 303);
    assert!(page.contains("You cannot deactivate your own account"));

    let (status, page) =
        post_on_users_page(&app, &admin, &format!("/admin/users/{id}/reactivate"), &[]).await;
    assert_eq!(status, 303);
    assert!(page.contains("ops@example.com is active again and can sign in."));
    assert_eq!(
        sign_in_status(&app, "ops@example.com", PASSWORD).await.0,
        303
    );
}

async fn a_one_time_password_ends_sessions_and_must_be_changed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let id = app.create_user("forgot@example.com", Role::Agent, PASSWORD);
    let theirs = app.new_client();
    app.sign_in(&theirs, "forgot@example.com", PASSWORD).await;

    let (status, page) = post_on_users_page(
        &app,
        &admin,
        &format!("/admin/users/{id}/one-time-password"),
        &[],
    )
    .await;
    assert_eq!(status, 303);
    let marker = "they must change it at next sign-in): ";
    let start = page.find(marker).expect("the password, shown once") + marker.len();
    let one_time = page[start..start + 20].to_string();
    // Shown once: the next load of the page does not have it.
    assert!(
        !app.page_as(&admin, "/admin/users")
            .await
            .contains(&one_time)
    );
    // Their session ended; the old password no longer works; the new one must be changed.
    let after = theirs.get(app.url("/queue")).send().await.unwrap();
    assert_eq!(after.status(), 303);
    assert_eq!(
        sign_in_status(&app, "forgot@example.com", PASSWORD).await.0,
        401
    );
    let client = app.new_client();
    let response = app.sign_in(&client, "forgot@example.com", &one_time).await;
    assert_eq!(response.headers()["location"], "/account/password");
}
