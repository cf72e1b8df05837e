//! Sign-in, sessions (fixation, expiry, revocation), lockout, CSRF, the auth proxy.

use chrono::TimeDelta;
use inspect_desk::domain::role::Role;
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    sign_in_and_out_end_the_server_side_session,
    a_new_session_key_at_sign_in,
    sessions_expire,
    password_and_role_changes_end_other_sessions,
    repeated_failures_lock_the_account,
    forms_without_the_csrf_token_are_refused,
    proxy_header_is_trusted_only_from_proxy_addresses,
    one_time_passwords_must_be_changed,
    analysts_see_only_their_own_reports,
);

const PASSWORD: &str = "a-long-test-password";

/// The `desk_session` cookie a response sets, as `name=value`.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("desk_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
}

/// GET with an explicit cookie header and no cookie store.
async fn get_with_cookie(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

fn is_sign_in_redirect(response: &reqwest::Response) -> bool {
    response.status() == 303
        && response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
}

async fn sign_in_and_out_end_the_server_side_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user("agent@example.com", Role::Agent, PASSWORD);
    let client = app.new_client();
    let response = app.sign_in(&client, "Agent@Example.com", PASSWORD).await;
    let raw = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>();
    let session = raw
        .iter()
        .find(|c| c.starts_with("desk_session="))
        .expect("session cookie set");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain http: no Secure flag");
    let cookie = session_cookie(&response).unwrap();
    assert_eq!(
        client
            .get(app.url("/my/reports"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let out = app.post_form_as(&client, "/logout", &[]).await;
    assert_eq!(out.status(), 303);
    assert!(is_sign_in_redirect(
        &client.get(app.url("/my/reports")).send().await.unwrap()
    ));
    // The old cookie, replayed, is dead on the server too.
    assert!(is_sign_in_redirect(
        &get_with_cookie(&app, "/my/reports", &cookie).await
    ));
    assert_eq!(app.count("sessions"), 0);
}

async fn a_new_session_key_at_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user("one@example.com", Role::Agent, PASSWORD);
    app.create_user("two@example.com", Role::Admin, PASSWORD);
    let client = app.new_client();
    let first = session_cookie(&app.sign_in(&client, "one@example.com", PASSWORD).await).unwrap();
    let second = session_cookie(&app.sign_in(&client, "two@example.com", PASSWORD).await).unwrap();
    assert_ne!(first, second, "sign-in must issue a new session key");
    assert!(
        is_sign_in_redirect(&get_with_cookie(&app, "/my/reports", &first).await),
        "the earlier key is dead"
    );
    assert_eq!(get_with_cookie(&app, "/admin", &second).await.status(), 200);
}

async fn sessions_expire(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, _) = app.signed_in(Role::Agent).await;
    assert_eq!(
        client
            .get(app.url("/my/reports"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.clock
        .advance(TimeDelta::hours(12) + TimeDelta::minutes(1));
    assert!(is_sign_in_redirect(
        &client.get(app.url("/my/reports")).send().await.unwrap()
    ));
}

async fn password_and_role_changes_end_other_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.create_user("sam@example.com", Role::Owner, PASSWORD);
    let (laptop, phone) = (app.new_client(), app.new_client());
    app.sign_in(&laptop, "sam@example.com", PASSWORD).await;
    app.sign_in(&phone, "sam@example.com", PASSWORD).await;
    let changed = app
        .post_form_as(
            &laptop,
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "an-even-longer-password"),
                ("confirm_password", "an-even-longer-password"),
            ],
        )
        .await;
    assert_eq!(changed.status(), 303);
    assert_eq!(
        laptop
            .get(app.url("/my/reports"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "this browser stays in"
    );
    assert!(
        is_sign_in_redirect(&phone.get(app.url("/my/reports")).send().await.unwrap()),
        "the other is out"
    );
    // A role change by an admin ends every session of that user.
    let (admin, _) = app.signed_in(Role::Admin).await;
    let response = app
        .post_form_as(
            &admin,
            &format!("/admin/users/{id}/role"),
            &[("role", "agent")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert!(is_sign_in_redirect(
        &laptop.get(app.url("/my/reports")).send().await.unwrap()
    ));
    app.sign_in(&laptop, "sam@example.com", "an-even-longer-password")
        .await;
    assert_eq!(
        laptop.get(app.url("/admin")).send().await.unwrap().status(),
        403
    );
}

async fn repeated_failures_lock_the_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user("lock@example.com", Role::Agent, PASSWORD);
    let client = app.new_client();
    for attempt in 1..=5 {
        let response = app
            .post_form_as(
                &client,
                "/login",
                &[("email", "lock@example.com"), ("password", "wrong")],
            )
            .await;
        let expected = if attempt < 5 { 401 } else { 423 };
        assert_eq!(response.status(), expected, "attempt {attempt}");
    }
    let locked = app
        .post_form_as(
            &client,
            "/login",
            &[("email", "lock@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        locked.status(),
        423,
        "even the right password is refused while locked"
    );
    assert!(locked.text().await.unwrap().contains("locked until"));
    let unknown = app
        .post_form_as(
            &client,
            "/login",
            &[("email", "nobody@example.com"), ("password", "x")],
        )
        .await;
    assert_eq!(
        unknown.status(),
        401,
        "unknown accounts look like wrong passwords"
    );
    app.clock.advance(TimeDelta::minutes(16));
    app.sign_in(&client, "lock@example.com", PASSWORD).await;
    let audit = app.count("audit_log");
    assert!(audit >= 8, "every attempt audited, got {audit}");
}

async fn forms_without_the_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fields = [
        ("reporter_email", "a@example.com"),
        ("kind", "other"),
        ("description", "no token"),
    ];
    let missing = app
        .client
        .post(app.url("/report"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 403);
    assert!(missing.text().await.unwrap().contains("Reload the page"));
    app.csrf_token(&app.client).await;
    let mut wrong = fields.to_vec();
    wrong.push((
        "csrf_token",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ));
    assert_eq!(
        app.client
            .post(app.url("/report"))
            .form(&wrong)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let login = app
        .client
        .post(app.url("/login"))
        .form(&[("email", "a@example.com"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 403);
    assert_eq!(app.count("tickets"), 0);
    // The JSON API takes bearer tokens, not cookies, so it needs no CSRF token.
    app.file_report(
        json!({"reporter_email": "a@example.com", "kind": "other", "description": "api"}),
    )
    .await;
}

async fn proxy_header_is_trusted_only_from_proxy_addresses(backend: Backend) {
    let trusted = TestApp::spawn_with(backend.clone(), |s| {
        s.auth_proxy_header = Some("X-Auth-Email".into());
        // A range, as a proxy fleet on a subnet would be given.
        s.auth_proxy_addresses = vec!["127.0.0.0/8".into()];
    })
    .await;
    trusted.create_user("sso@example.com", Role::Agent, PASSWORD);
    let client = trusted.new_client();
    let ok = client
        .get(trusted.url("/my/reports"))
        .header("X-Auth-Email", "SSO@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let unknown = client
        .get(trusted.url("/my/reports"))
        .header("X-Auth-Email", "who@example.com")
        .send()
        .await
        .unwrap();
    assert!(is_sign_in_redirect(&unknown));
    let untrusted = TestApp::spawn_with(backend, |s| {
        s.auth_proxy_header = Some("X-Auth-Email".into());
        s.auth_proxy_addresses = vec!["10.9.9.9".into(), "10.8.0.0/16".into()];
    })
    .await;
    untrusted.create_user("sso@example.com", Role::Agent, PASSWORD);
    let spoofed = client
        .get(untrusted.url("/my/reports"))
        .header("X-Auth-Email", "sso@example.com")
        .send()
        .await
        .unwrap();
    assert!(
        is_sign_in_redirect(&spoofed),
        "header from an unlisted address is ignored"
    );
}

async fn one_time_passwords_must_be_changed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.signed_in(Role::Admin).await;
    let page = app
        .post_form_as(
            &admin,
            "/admin/users",
            &[
                ("email", "new@example.com"),
                ("name", "New"),
                ("role", "agent"),
            ],
        )
        .await;
    assert_eq!(page.status(), 303, "POST → redirect → GET");
    let html = app.page_as(&admin, "/admin/users").await;
    let marker = "must change it at first sign-in): ";
    let start = html.find(marker).expect("one-time password shown") + marker.len();
    let one_time = html[start..start + 20].to_string();
    let client = app.new_client();
    let response = app.sign_in(&client, "new@example.com", &one_time).await;
    assert_eq!(response.headers()["location"], "/account/password");
    let forced = client.get(app.url("/my/reports")).send().await.unwrap();
    assert_eq!(
        forced.headers()["location"],
        "/account/password",
        "everything else waits"
    );
    let short = app
        .post_form_as(
            &client,
            "/account/password",
            &[
                ("current_password", &one_time),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status(), 422);
    let changed = app
        .post_form_as(
            &client,
            "/account/password",
            &[
                ("current_password", &one_time),
                ("new_password", "my-own-long-password"),
                ("confirm_password", "my-own-long-password"),
            ],
        )
        .await;
    assert_eq!(changed.status(), 303);
    assert_eq!(
        client
            .get(app.url("/my/reports"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

async fn analysts_see_only_their_own_reports(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (analyst, email) = app.signed_in(Role::Analyst).await;
    let mine = app
        .file_report(
            json!({"reporter_email": email.to_uppercase(), "kind": "other", "description": "mine"}),
        )
        .await;
    let theirs = app
        .file_report(
            json!({"reporter_email": "else@example.com", "kind": "other", "description": "theirs"}),
        )
        .await;
    let html = app.page_as(&analyst, "/my/reports").await;
    assert!(html.contains(mine["number"].as_str().unwrap()));
    assert!(!html.contains(theirs["number"].as_str().unwrap()));
    assert_eq!(
        analyst
            .get(app.url("/admin"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attempts_are_throttled_per_address() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.sign_in_rate_per_minute = 2).await;
    let client = app.new_client();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = app
            .post_form_as(
                &client,
                "/login",
                &[("email", "x@example.com"), ("password", "nope")],
            )
            .await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookies_are_secure_behind_https() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.base_url = Some("https://desk.example".into())
    })
    .await;
    app.create_user("tls@example.com", Role::Agent, PASSWORD);
    let client = app.new_client();
    let csrf = app.csrf_token(&client).await;
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "tls@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        // Behind https the session cookie carries the `__Host-` prefix.
        .find(|c| c.starts_with("__Host-desk_session="))
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}
