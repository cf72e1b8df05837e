//! Failed sign-ins slow down the address that makes them, per account email, with delays
//! that grow; kept in the database, so every instance agrees. Known and unknown emails get
//! the same answers.

use chrono::TimeDelta;
use inspect_desk::domain::role::Role;
use inspect_desk::startup::Application;

use crate::helpers::{Backend, TestApp, hidden_field};
use crate::on_both_backends;

on_both_backends!(
    failed_sign_ins_answer_the_same_for_any_email,
    the_throttle_stops_the_address_not_the_owner,
    delays_grow_and_every_instance_sees_them,
    old_throttles_are_cleaned_up,
);

const PASSWORD: &str = "a-long-test-password";
const WRONG: &str = "not-the-password";

/// The desk behind a proxy on loopback: `X-Forwarded-For` names the client.
async fn behind_proxy(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |s| s.trusted_proxies = vec!["127.0.0.0/8".into()]).await
}

/// A browser-like client whose requests reach the desk from `address`.
fn client_from(address: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", address.parse().unwrap());
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .default_headers(headers)
        .build()
        .unwrap()
}

/// One sign-in at the desk at `base`: the status, `Retry-After` and the page's message.
async fn attempt_at(
    base: &str,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> (u16, Option<String>, String) {
    let login = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden_field(&login, "csrf_token");
    let response = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let page = response.text().await.unwrap();
    let message = page
        .split_once("id=\"login-error\">")
        .and_then(|(_, rest)| rest.split_once("</div>"))
        .map(|(message, _)| message.to_string())
        .unwrap_or_default();
    (status, retry_after, message)
}

async fn attempt(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> (u16, Option<String>, String) {
    attempt_at(&app.address, client, email, password).await
}

fn without_digits(text: &str) -> String {
    text.chars().filter(|c| !c.is_ascii_digit()).collect()
}

async fn failed_sign_ins_answer_the_same_for_any_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user("known@example.com", Role::Agent, PASSWORD);
    let client = app.new_client();
    for round in 1..=7 {
        let known = attempt(&app, &client, "known@example.com", WRONG).await;
        let unknown = attempt(&app, &client, "unknown@example.com", WRONG).await;
        assert_eq!(known.0, if round < 5 { 401 } else { 423 }, "round {round}");
        assert_eq!(known.0, unknown.0, "round {round}: the same status");
        assert_eq!(known.1, unknown.1, "round {round}: the same Retry-After");
        // The instant may differ by a second between the two; the words may not.
        assert_eq!(
            without_digits(&known.2),
            without_digits(&unknown.2),
            "round {round}: the same message"
        );
    }
    // Every failure is in the audit log, for both emails.
    assert_eq!(
        app.count("audit_log WHERE action = 'sign_in_failed' AND subject = 'known@example.com'"),
        5
    );
    assert_eq!(
        app.count("audit_log WHERE action = 'sign_in_failed' AND subject = 'unknown@example.com'"),
        5
    );
}

async fn the_throttle_stops_the_address_not_the_owner(backend: Backend) {
    let app = behind_proxy(backend).await;
    app.create_user("owner@example.com", Role::Owner, PASSWORD);
    let attacker = client_from("203.0.113.7");
    for _ in 0..5 {
        attempt(&app, &attacker, "owner@example.com", WRONG).await;
    }
    let (status, retry_after, message) =
        attempt(&app, &attacker, "owner@example.com", PASSWORD).await;
    assert_eq!(status, 423, "even the right password waits");
    assert_eq!(retry_after.as_deref(), Some("60"));
    assert!(message.contains("locked until"), "{message}");
    // The owner, from their own address, is not held up.
    let owner = client_from("198.51.100.9");
    app.sign_in(&owner, "owner@example.com", PASSWORD).await;
    assert_eq!(
        owner
            .get(app.url("/escalations"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Their sign-in does not free the attacker's address.
    let (status, _, _) = attempt(&app, &attacker, "owner@example.com", PASSWORD).await;
    assert_eq!(status, 423);
    // Admins see which accounts some address is locked out of.
    let (admin, _) = app.signed_in(Role::Admin).await;
    let users = app.page_as(&admin, "/admin/users").await;
    assert!(users.contains("sign-in locked for 1 address"), "{users}");
    // Nor does the attacker's lock cover another account from that address.
    app.create_user("other@example.com", Role::Agent, PASSWORD);
    app.sign_in(&attacker, "other@example.com", PASSWORD).await;
}

async fn delays_grow_and_every_instance_sees_them(backend: Backend) {
    let app = behind_proxy(backend).await;
    app.create_user("owner@example.com", Role::Owner, PASSWORD);
    let attacker = client_from("203.0.113.7");
    let mut answers = Vec::new();
    for _ in 0..5 {
        answers.push(attempt(&app, &attacker, "owner@example.com", WRONG).await);
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 423]);
    assert_eq!(answers[4].1.as_deref(), Some("60"));
    // A second instance on the same database holds the same address back.
    let second = Application::build(&app.settings, app.clock.clone()).expect("second desk");
    let second_base = format!("http://{}", second.address());
    tokio::spawn(second.run_until_stopped());
    let (status, _, _) = attempt_at(&second_base, &attacker, "owner@example.com", PASSWORD).await;
    assert_eq!(status, 423, "the other instance agrees");
    // After the minute, one more failure doubles the delay.
    app.clock.advance(TimeDelta::seconds(61));
    let (status, retry_after, _) = attempt(&app, &attacker, "owner@example.com", WRONG).await;
    assert_eq!((status, retry_after.as_deref()), (423, Some("120")));
    app.clock.advance(TimeDelta::seconds(61));
    let (status, _, _) = attempt_at(&second_base, &attacker, "owner@example.com", PASSWORD).await;
    assert_eq!(status, 423, "two minutes, not one");
    app.clock.advance(TimeDelta::seconds(60));
    app.sign_in(&attacker, "owner@example.com", PASSWORD).await;
    // A success starts the count again.
    let (status, _, _) = attempt(&app, &attacker, "owner@example.com", WRONG).await;
    assert_eq!(status, 401);
}

async fn old_throttles_are_cleaned_up(backend: Backend) {
    let app = behind_proxy(backend).await;
    app.create_user("owner@example.com", Role::Owner, PASSWORD);
    for address in ["203.0.113.7", "203.0.113.8"] {
        attempt(&app, &client_from(address), "owner@example.com", WRONG).await;
    }
    assert_eq!(app.count("sign_in_throttle"), 2);
    inspect_desk::jobs::clean_up(&app.desk).await.unwrap();
    assert_eq!(app.count("sign_in_throttle"), 2, "recent failures stay");
    app.clock.advance(TimeDelta::hours(25));
    attempt(
        &app,
        &client_from("203.0.113.9"),
        "owner@example.com",
        WRONG,
    )
    .await;
    inspect_desk::jobs::clean_up(&app.desk).await.unwrap();
    assert_eq!(
        app.count("sign_in_throttle"),
        1,
        "a day without failures is forgotten"
    );
}
