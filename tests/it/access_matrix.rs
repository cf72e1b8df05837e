//! Every route × every kind of caller: allowed or denied, as this matrix says. A route
//! added to the app without a row here fails the test.

use inspect_desk::domain::role::{Role, Scope};
use inspect_desk::web::routes::ROUTES;
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(every_route_checks_access_for_every_caller);

/// Who may use a route, written out independently of the app's own table.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Anyone,
    SignedIn,
    AtLeast(Role),
    Token(Scope),
}

fn expected(method: &str, path: &str) -> Expect {
    use Expect::*;
    match (method, path) {
        (
            "GET",
            "/healthz"
            | "/readyz"
            | "/static/{version}/{path:.*}"
            | "/"
            | "/report"
            | "/t/{token}"
            | "/login",
        ) => Anyone,
        ("POST", "/report" | "/login" | "/t/{token}/reply" | "/known-issues/{number}/join") => {
            Anyone
        }
        ("POST", "/t/{token}") => Anyone,
        // The tracking link is the key; the file must be a public one of its ticket.
        ("GET", "/t/{token}/attachments/{id}") => Anyone,
        ("GET" | "POST", "/ack/{token}") => Anyone,
        (_, p) if p.starts_with("/escalations") => AtLeast(Role::Owner),
        (_, p) if p.starts_with("/queue") || p.starts_with("/tickets/") => AtLeast(Role::Agent),
        ("GET", "/incidents") => AtLeast(Role::Agent),
        ("GET", "/runs" | "/runs/{run_id}" | "/telemetry" | "/runbooks" | "/runbooks/{name}") => {
            AtLeast(Role::Agent)
        }
        ("POST", "/logout") | ("GET" | "POST", "/account/password") | ("GET", "/my/reports") => {
            SignedIn
        }
        ("GET" | "POST", "/account/settings") => SignedIn,
        (_, p) if p.starts_with("/admin") => AtLeast(Role::Admin),
        ("POST", "/api/v1/reports") | ("GET", "/api/v1/openapi.json") => Anyone,
        (
            "GET",
            "/api/v1/tickets"
            | "/api/v1/tickets/{number}"
            | "/api/v1/tickets/{number}/events"
            | "/api/v1/tickets/{number}/attachments/{id}"
            | "/api/v1/runs/{run_id}"
            | "/api/v1/incidents",
        ) => Token(Scope::Read),
        ("PATCH", "/api/v1/tickets/{number}")
        | (
            "POST",
            "/api/v1/tickets/{number}/comments"
            | "/api/v1/tickets/{number}/merge"
            | "/api/v1/tickets/{number}/ack"
            | "/api/v1/tickets/{number}/attachments",
        ) => Token(Scope::Write),
        ("POST", "/api/v1/incidents/{number}/updates") => Token(Scope::Write),
        ("POST", "/api/v1/runs" | "/api/v1/lineage" | "/api/v1/inbound-mail") => {
            Token(Scope::Ingest)
        }
        ("GET", "/metrics") => Token(Scope::Metrics),
        _ => panic!(
            "route {method} {path} is missing from the authorization matrix: decide who may use it"
        ),
    }
}

/// A kind of caller.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    Anonymous,
    Account(Role),
    Bearer(Scope),
}

fn allowed(expect: Expect, caller: Caller) -> bool {
    match (expect, caller) {
        (Expect::Anyone, _) => true,
        (Expect::SignedIn, Caller::Account(_)) => true,
        (Expect::AtLeast(needed), Caller::Account(role)) => role >= needed,
        (Expect::Token(needed), Caller::Bearer(scope)) => scope == needed,
        _ => false,
    }
}

async fn every_route_checks_access_for_every_caller(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ticket = app
        .file_report(
            json!({"reporter_email": "a@example.com", "kind": "other", "description": "hello"}),
        )
        .await;
    let token_path = ticket["tracking_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    app.post_run(
        json!({"run_id": "r-1", "warehouse_type": "duckdb", "table": "a.b.c", "status": "running",
                        "started_at": "2026-11-20T10:00:00Z"}),
    )
    .await;
    let target_user = app.create_user("target@example.com", Role::Analyst, "a-long-test-password");
    let future = app.desk.clock.now() + chrono::TimeDelta::days(1);
    let ack =
        inspect_desk::services::escalation::ack_token(&app.desk.signing_key, 1001, "probe", future);
    let callers = [
        Caller::Anonymous,
        Caller::Account(Role::Analyst),
        Caller::Account(Role::Agent),
        Caller::Account(Role::Owner),
        Caller::Account(Role::Admin),
        Caller::Bearer(Scope::Read),
        Caller::Bearer(Scope::Ingest),
        Caller::Bearer(Scope::Write),
        Caller::Bearer(Scope::Metrics),
    ];
    let mut checked = 0;
    for caller in callers {
        for route in ROUTES {
            let expect = expected(route.method, route.path);
            let path = route
                .path
                .replace("{version}", "v")
                .replace("{path:.*}", "css/desk.css")
                .replace("/ack/{token}", &format!("/ack/{ack}"))
                .replace("{token}", &token_path)
                .replace("{number}", "INS-1001")
                .replace("{run_id}", "r-1")
                .replace("/admin/users/{id}", &format!("/admin/users/{target_user}"))
                .replace("/admin/tokens/{id}", "/admin/tokens/999999")
                .replace("{id}", "999999");
            // A fresh session per probe: some allowed probes (sign-out) end the session.
            let (client, bearer) = match caller {
                Caller::Anonymous => (app.new_client(), None),
                Caller::Account(role) => (app.signed_in(role).await.0, None),
                Caller::Bearer(scope) => (app.new_client(), Some(app.token(&[scope]))),
            };
            let response = send(&app, &client, route.method, &path, bearer.as_deref()).await;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = response.text().await.unwrap_or_default();
            // A 403 about the ticket's team (an owner acts on their own teams' tickets)
            // means the route let the caller in: the matrix is about routes.
            let denied = match status {
                401 | 403 => {
                    !body.contains("do not match an account")
                        && !body.contains("not to a team you are on")
                }
                303 => location.starts_with("/login?next="),
                _ => false,
            };
            let want = allowed(expect, caller);
            assert_eq!(
                !denied,
                want,
                "{} {} as {caller:?}: expected {}, got {status} {location}",
                route.method,
                route.path,
                if want { "allowed" } else { "denied" }
            );
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * callers.len());
}

async fn send(
    app: &TestApp,
    client: &reqwest::Client,
    method: &str,
    path: &str,
    bearer: Option<&str>,
) -> reqwest::Response {
    let request = match method {
        "GET" => client.get(app.url(path)),
        "POST" if path.starts_with("/api/") => client.post(app.url(path)).json(&json!({})),
        "PATCH" => client.patch(app.url(path)).json(&json!({})),
        "POST" => {
            let csrf = app.csrf_token(client).await;
            // Harmless form values: wrong passwords, unknown emails, a valid role.
            let form = [
                ("csrf_token", csrf.as_str()),
                ("email", "nobody@example.com"),
                ("password", "wrong-password-here"),
                ("current_password", "wrong-password-here"),
                ("new_password", "another-long-password"),
                ("confirm_password", "another-long-password"),
                ("role", "analyst"),
                ("name", "probe"),
                ("scope", "read"),
                ("number", "INS-1001"),
                ("reporter_email", "probe@example.com"),
                ("kind", "other"),
                ("description", "probe"),
                ("body", "probe"),
                ("version", "0"),
                ("into", "INS-1001"),
                ("run_id", "r-9"),
                ("verdict", "rejected"),
                ("action", "none"),
                ("query", "status=all"),
            ];
            client.post(app.url(path)).form(&form)
        }
        other => panic!("method {other} not covered by the matrix test"),
    };
    let request = match bearer {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.expect("probe request")
}
