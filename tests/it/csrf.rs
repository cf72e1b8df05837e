//! CSRF tokens belong to one session, change at sign-in and sign-out, and their cookie
//! carries the `__Host-` prefix behind https.

use std::sync::Arc;

use inspect_desk::domain::role::Role;
use reqwest::cookie::{CookieStore, Jar};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    csrf_tokens_belong_to_one_session,
    csrf_tokens_change_at_sign_in_and_sign_out,
);

const PASSWORD: &str = "a-long-test-password";

/// A browser-like client and its cookie jar, to read cookies back.
fn client_with_jar() -> (reqwest::Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    (client, jar)
}

/// `name=value` of the cookie `name` the jar holds for the app.
fn cookie(app: &TestApp, jar: &Jar, name: &str) -> String {
    let header = jar
        .cookies(&app.url("/").parse::<reqwest::Url>().unwrap())
        .expect("cookies for the desk");
    header
        .to_str()
        .unwrap()
        .split("; ")
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_string()
}

async fn csrf_tokens_belong_to_one_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user("victim@example.com", Role::Agent, PASSWORD);
    app.create_user("mallory@example.com", Role::Agent, PASSWORD);
    // Mallory signs in and reads her own form token and CSRF cookie.
    let (mallory, mallory_jar) = client_with_jar();
    app.sign_in(&mallory, "mallory@example.com", PASSWORD).await;
    let mallory_token = app.csrf_token(&mallory).await;
    let planted = cookie(&app, &mallory_jar, "desk_csrf");
    // The victim signs in in a browser of their own.
    let (victim, victim_jar) = client_with_jar();
    app.sign_in(&victim, "victim@example.com", PASSWORD).await;
    let session = cookie(&app, &victim_jar, "desk_session");
    // Mallory's cookie planted in the victim's browser, her token in a form on her site.
    let forged = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/queue/views"))
        .header("cookie", format!("{session}; {planted}"))
        .form(&[
            ("csrf_token", mallory_token.as_str()),
            ("name", "planted"),
            ("query", "status=new"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "a token of another session");
    assert_eq!(app.count("saved_views"), 0);
    // The victim's own form goes through.
    let own = app
        .post_form_as(
            &victim,
            "/queue/views",
            &[("name", "mine"), ("query", "status=new")],
        )
        .await;
    assert_eq!(own.status(), 303);
    assert_eq!(app.count("saved_views"), 1);
}

async fn csrf_tokens_change_at_sign_in_and_sign_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user("agent@example.com", Role::Agent, PASSWORD);
    let client = app.new_client();
    let before = app.csrf_token(&client).await;
    app.sign_in(&client, "agent@example.com", PASSWORD).await;
    let stale = client
        .post(app.url("/queue/views"))
        .form(&[
            ("csrf_token", before.as_str()),
            ("name", "stale"),
            ("query", "status=new"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 403, "the token from before sign-in");
    assert_eq!(app.count("saved_views"), 0);
    let during = app.csrf_token(&client).await;
    assert_ne!(during, before);
    let out = app.post_form_as(&client, "/logout", &[]).await;
    assert_eq!(out.status(), 303);
    let after_out = client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", during.as_str()),
            ("email", "agent@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(after_out.status(), 403, "the token from before sign-out");
    let after = app.csrf_token(&client).await;
    assert!(after != during && after != before);
    // Pages of one session keep one token: two tabs both work.
    assert_eq!(app.csrf_token(&client).await, after);
    app.sign_in(&client, "agent@example.com", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_carry_the_host_prefix_behind_https() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.base_url = Some("https://desk.example".into())
    })
    .await;
    app.create_user("tls@example.com", Role::Agent, PASSWORD);
    let client = app.new_client();
    let login = client.get(app.url("/login")).send().await.unwrap();
    let set_cookies = |response: &reqwest::Response| -> Vec<String> {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    };
    let csrf = set_cookies(&login)
        .into_iter()
        .find(|c| c.starts_with("__Host-desk_csrf="))
        .expect("a __Host- CSRF cookie");
    assert!(
        csrf.contains("Secure") && csrf.contains("Path=/") && !csrf.contains("Domain"),
        "{csrf}"
    );
    let signed_in = app.sign_in(&client, "tls@example.com", PASSWORD).await;
    let cookies = set_cookies(&signed_in);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-desk_session="))
        .expect("a __Host- session cookie");
    assert!(
        session.contains("Secure") && session.contains("Path=/") && !session.contains("Domain"),
        "{session}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("__Host-desk_csrf=")),
        "a new CSRF cookie at sign-in: {cookies:?}"
    );
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
