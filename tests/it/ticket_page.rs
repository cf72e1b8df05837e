//! The agent's ticket page and `/incidents`: a reply that also moves the status reaches the
//! reporter as one email (page and API), every action confirms what it did, merges and
//! attachments are picked from suggestions, reclassifying reroutes, and taking a ticket
//! yourself sends you no email.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{Value, json};

use crate::browser::{browser, start_driver};
use crate::helpers::{Backend, TestApp, hidden_field};
use crate::on_both_backends;
use crate::reader::check_page;
use crate::smtp::{Received, SmtpSink, app_with_smtp};
use inspect_desk::domain::role::{Role, Scope};

on_both_backends!(
    reply_and_status_in_one_submit_in_the_browser,
    api_comment_with_status_sends_one_email,
    taking_a_ticket_yourself_sends_no_email,
    merge_through_the_picker,
    reclassifying_reroutes_unless_the_team_is_kept,
    incidents_page_lists_an_incident_with_its_latest_update,
    a_refused_action_comes_back_beside_its_control,
);

const PASSWORD: &str = "a-long-test-password";

fn report(email: &str, kind: &str, table: &str, text: &str) -> Value {
    json!({"reporter_email": email, "reporter_name": "Ana Analyst", "kind": kind,
           "warehouse_type": "redshift", "table": table, "description": text})
}

/// Deliver what is queued and return every message received for `recipient`.
async fn mail_to(app: &TestApp, sink: &SmtpSink, recipient: &str) -> Vec<Received> {
    app.deliver().await;
    // Give the server a moment to write what it accepted.
    tokio::time::sleep(Duration::from_millis(200)).await;
    sink.received()
        .into_iter()
        .filter(|m| m.header("To").as_deref() == Some(recipient))
        .collect()
}

async fn ticket(app: &TestApp, number: &str) -> Value {
    app.api_json(&format!("/api/v1/tickets/{number}")).await
}

/// The version the ticket page hands its update form.
async fn version_on_page(app: &TestApp, agent: &reqwest::Client, number: &str) -> String {
    hidden_field(
        &app.page_as(agent, &format!("/tickets/{number}")).await,
        "version",
    )
}

async fn wait_for_source(client: &fantoccini::Client, text: &str) -> String {
    for _ in 0..50 {
        let source = client.source().await.expect("page source");
        if source.contains(text) {
            return source;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("page never showed {text:?}");
}

/// In Chromium: the agent writes a reply and picks "Reply and mark waiting on reporter";
/// one submit moves the status, the page confirms both, and the reporter gets one email
/// with the reply and the new status in words. The ticket page and `/incidents` read
/// for people at 1280 and 375 px.
async fn reply_and_status_in_one_submit_in_the_browser(backend: Backend) {
    let Some(driver) = start_driver() else { return };
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    app.create_user("replier@example.com", Role::Agent, PASSWORD);
    let filed = app
        .file_report(report(
            "ana@example.com",
            "stale_profile",
            "dw.sales.orders",
            "The orders profile has not refreshed since Monday",
        ))
        .await;
    let number = filed["number"].as_str().unwrap().to_string();
    let before = mail_to(&app, &sink, "ana@example.com").await.len();
    assert_eq!(before, 1, "the confirmation");
    // An open incident with an update, for `/incidents` to show.
    let (agent, _) = app.signed_in(Role::Agent).await;
    let incident = app
        .file_report(report(
            "ivo@example.com",
            "profiling_failure",
            "dw.sales.orders",
            "Profiling runs time out on orders",
        ))
        .await;
    let path = format!("/tickets/{}/incident", incident["number"].as_str().unwrap());
    for form in [
        vec![("action", "declare")],
        vec![
            ("action", "update"),
            ("body", "Warehouse resized; reruns started."),
        ],
    ] {
        assert_eq!(app.post_form_as(&agent, &path, &form).await.status(), 303);
    }
    let client = browser(&driver).await;
    let result = async {
        crate::browser::sign_in(&client, &app, "replier@example.com", PASSWORD).await?;
        client.goto(&app.url(&format!("/tickets/{number}"))).await?;
        client
            .find(Locator::Id("comment-body"))
            .await?
            .send_keys("Which schema do you profile? Please send the run id.")
            .await?;
        client
            .find(Locator::Id("reply-status"))
            .await?
            .select_by_value("waiting_on_reporter")
            .await?;
        client
            .find(Locator::Id("comment-submit"))
            .await?
            .click()
            .await?;
        let page = wait_for_source(&client, "Reply sent to the reporter").await;
        let status = client
            .find(Locator::Id("ticket-status"))
            .await?
            .text()
            .await?;
        // The history and the classifier's reasons too, folded away by default.
        client
            .execute(
                "document.querySelectorAll('details').forEach(d => d.open = true)",
                vec![],
            )
            .await?;
        check_page(&client, "the ticket page").await;
        client.goto(&app.url("/incidents")).await?;
        check_page(&client, "the incidents page").await;
        Ok::<_, fantoccini::error::CmdError>((page, status))
    }
    .await;
    client.close().await.ok();
    let (page, status) = result.expect("browser steps");
    assert!(
        page.contains(&format!("{number} is now Waiting on reporter")),
        "the confirmation says what happened"
    );
    assert_eq!(status, "Waiting on reporter");
    assert_eq!(ticket(&app, &number).await["status"], "waiting_on_reporter");
    let mail = mail_to(&app, &sink, "ana@example.com").await;
    assert_eq!(
        mail.len(),
        before + 1,
        "one email for the reply and the status"
    );
    let text = mail.last().unwrap().text();
    assert!(text.contains("Which schema do you profile?"), "{text}");
    assert!(text.contains("Waiting for your reply"), "{text}");
}

/// `POST /api/v1/tickets/{number}/comments` with a status: one change, one email to the
/// reporter carrying the reply and the new status; a status it cannot move to is refused
/// with nothing stored.
async fn api_comment_with_status_sends_one_email(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    let filed = app
        .file_report(report(
            "bo@example.com",
            "failed_report",
            "dw.sales.orders",
            "Report generation error on orders",
        ))
        .await;
    let number = filed["number"].as_str().unwrap();
    let before = mail_to(&app, &sink, "bo@example.com").await.len();
    let write = app.token(&[Scope::Write]);
    let post = |body: Value| {
        app.client
            .post(app.url(&format!("/api/v1/tickets/{number}/comments")))
            .bearer_auth(&write)
            .json(&body)
            .send()
    };
    let refused = post(json!({"body": "Done", "public": true, "status": "asleep"}))
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let response = post(
        json!({"body": "The renderer is fixed; reports generate again.",
                               "public": true, "status": "resolved"}),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["status"], "resolved");
    let mail = mail_to(&app, &sink, "bo@example.com").await;
    assert_eq!(
        mail.len(),
        before + 1,
        "one email, not a reply and a status"
    );
    let text = mail.last().unwrap().text();
    assert!(text.contains("The renderer is fixed"), "{text}");
    assert!(text.contains("Resolved"), "{text}");
    let events: Vec<Value> = app
        .api_json(&format!("/api/v1/tickets/{number}/events"))
        .await;
    let comments = events.iter().filter(|e| e["kind"] == "comment").count();
    assert_eq!(comments, 1, "the refused comment stored nothing");
}

/// Assigning a ticket to yourself sends you no email; assigning it to someone else by
/// name from the picker does, and the page confirms each.
async fn taking_a_ticket_yourself_sends_no_email(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    app.create_user("taker@example.com", Role::Agent, PASSWORD);
    let other = app.create_user("other@example.com", Role::Agent, PASSWORD);
    let agent = app.new_client();
    app.sign_in(&agent, "taker@example.com", PASSWORD).await;
    let filed = app
        .file_report(report(
            "cy@example.com",
            "stale_profile",
            "dw.sales.orders",
            "Stale profile on orders",
        ))
        .await;
    let number = filed["number"].as_str().unwrap();
    let path = format!("/tickets/{number}/update");
    let version = version_on_page(&app, &agent, number).await;
    let taken = app
        .post_form_as(&agent, &path, &[("version", &version), ("assignee", "me")])
        .await;
    assert_eq!(taken.status(), 303);
    let page = app.page_as(&agent, &format!("/tickets/{number}")).await;
    assert!(page.contains("assigned to taker@example.com"), "confirmed");
    assert!(
        mail_to(&app, &sink, "taker@example.com").await.is_empty(),
        "no email to yourself"
    );
    assert!(
        page.contains(&format!(
            "<option value=\"{other}\">other@example.com</option>"
        )),
        "the picker names the agents"
    );
    let version = hidden_field(&page, "version");
    let handed = app
        .post_form_as(
            &agent,
            &path,
            &[("version", &version), ("assignee", &other.to_string())],
        )
        .await;
    assert_eq!(handed.status(), 303);
    assert_eq!(
        mail_to(&app, &sink, "other@example.com").await.len(),
        1,
        "the colleague hears of it"
    );
    assert_eq!(ticket(&app, number).await["assignee"], "other@example.com");
}

/// Two reports of one table: the duplicate's page offers the other as a radio choice;
/// merging through it closes the duplicate and says so.
async fn merge_through_the_picker(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.signed_in(Role::Agent).await;
    let original = app
        .file_report(report(
            "one@example.com",
            "stale_profile",
            "dw.finance.invoices",
            "Invoices profile is stale",
        ))
        .await;
    let duplicate = app
        .file_report(report(
            "two@example.com",
            "stale_profile",
            "dw.finance.invoices",
            "The invoices profile is out of date",
        ))
        .await;
    let elsewhere = app
        .file_report(report(
            "three@example.com",
            "stale_profile",
            "dw.hr.people",
            "People profile is stale",
        ))
        .await;
    let (original, duplicate) = (
        original["number"].as_str().unwrap(),
        duplicate["number"].as_str().unwrap(),
    );
    let page = app.page_as(&agent, &format!("/tickets/{duplicate}")).await;
    assert!(
        page.contains(&format!("id=\"merge-{original}\"")),
        "the same table is suggested"
    );
    let other = elsewhere["number"].as_str().unwrap();
    assert!(
        !page.contains(&format!("id=\"merge-{other}\"")),
        "another table is not"
    );
    // ...until the two share a run.
    for number in [other, duplicate] {
        let path = format!("/tickets/{number}/runs");
        let linked = app
            .post_form_as(
                &agent,
                &path,
                &[("run_id", "rs-shared"), ("action", "link")],
            )
            .await;
        assert_eq!(linked.status(), 303);
    }
    let page = app.page_as(&agent, &format!("/tickets/{duplicate}")).await;
    assert!(page.contains("Linked run rs-shared."), "confirmed");
    assert!(
        page.contains(&format!("id=\"merge-{other}\"")),
        "a shared run"
    );
    assert!(page.contains("shares run rs-shared"));
    // A week later the same table alone no longer suggests it; the shared run still does.
    app.clock.advance(chrono::TimeDelta::days(8));
    // (A new session: the first one has expired by now.)
    let (agent, _) = app.signed_in(Role::Agent).await;
    let page = app.page_as(&agent, &format!("/tickets/{duplicate}")).await;
    assert!(page.contains("id=\"merge-form\""), "the ticket page");
    assert!(
        !page.contains(&format!("id=\"merge-{original}\"")),
        "too old"
    );
    assert!(page.contains(&format!("id=\"merge-{other}\"")));
    let merged = app
        .post_form_as(
            &agent,
            &format!("/tickets/{duplicate}/merge"),
            &[("into", original), ("into_typed", "")],
        )
        .await;
    assert_eq!(merged.status(), 303);
    let page = app.page_as(&agent, &format!("/tickets/{duplicate}")).await;
    assert!(
        page.contains(&format!("Merged {duplicate} into {original}")),
        "confirmed"
    );
    let t = ticket(&app, duplicate).await;
    assert_eq!(t["status"], "closed");
    assert_eq!(t["merged_into"], original);
}

/// A new category takes the ticket where the routing rules send it and the page says
/// where; "keep the team" keeps it; the category then reads as set by the agent.
async fn reclassifying_reroutes_unless_the_team_is_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, email) = app.signed_in(Role::Agent).await;
    let mut numbers = Vec::new();
    for who in ["d@example.com", "e@example.com"] {
        let t = app
            .file_report(report(
                who,
                "stale_profile",
                "dw.sales.orders",
                "The orders profile is out of date",
            ))
            .await;
        assert_eq!(t["team"], "profiler-core");
        numbers.push(t["number"].as_str().unwrap().to_string());
    }
    let reclassify = |number: String, keep: bool| {
        let (app, agent) = (&app, &agent);
        async move {
            let version = version_on_page(app, agent, &number).await;
            let mut form = vec![
                ("version", version.as_str()),
                ("category", "failed_report"),
                ("team", "profiler-core"),
                ("reason", "it is the report that fails"),
            ];
            if keep {
                form.push(("keep_team", "on"));
            }
            let path = format!("/tickets/{number}/update");
            assert_eq!(app.post_form_as(agent, &path, &form).await.status(), 303);
            app.page_as(agent, &format!("/tickets/{number}")).await
        }
    };
    let page = reclassify(numbers[0].clone(), false).await;
    assert!(
        page.contains("sent to Inspector Reports by the routing rules"),
        "says where it went"
    );
    assert!(
        page.contains(&format!("set by {email}")),
        "set by the agent"
    );
    assert_eq!(ticket(&app, &numbers[0]).await["team"], "reports");
    let page = reclassify(numbers[1].clone(), true).await;
    assert!(page.contains("category Failed report generation"));
    assert_eq!(ticket(&app, &numbers[1]).await["team"], "profiler-core");
}

/// An incident with a report attached from the picker and a public update: `/incidents`
/// lists it with what opened it, its report count and that update.
async fn incidents_page_lists_an_incident_with_its_latest_update(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, email) = app.signed_in(Role::Agent).await;
    let mut numbers = Vec::new();
    for who in ["f@example.com", "g@example.com"] {
        let t = app
            .file_report(report(
                who,
                "profiling_failure",
                "dw.sales.orders",
                "Profiling runs time out",
            ))
            .await;
        numbers.push(t["number"].as_str().unwrap().to_string());
    }
    let (incident, child) = (numbers[0].as_str(), numbers[1].as_str());
    let declare = app
        .post_form_as(
            &agent,
            &format!("/tickets/{incident}/incident"),
            &[("action", "declare")],
        )
        .await;
    assert_eq!(declare.status(), 303);
    let page = app.page_as(&agent, &format!("/tickets/{child}")).await;
    assert!(
        page.contains(&format!("id=\"attach-{incident}\"")),
        "offered"
    );
    let attach = app
        .post_form_as(
            &agent,
            &format!("/tickets/{child}/incident"),
            &[("action", "attach"), ("incident", incident)],
        )
        .await;
    assert_eq!(attach.status(), 303);
    let page = app.page_as(&agent, &format!("/tickets/{child}")).await;
    assert!(page.contains(&format!("Attached {child} to incident {incident}")));
    let update = app
        .post_form_as(
            &agent,
            &format!("/tickets/{incident}/incident"),
            &[
                ("action", "update"),
                ("body", "Warehouse resized; reruns started."),
            ],
        )
        .await;
    assert_eq!(update.status(), 303);
    let list = app.page_as(&agent, "/incidents").await;
    let row = list
        .split(&format!("id=\"incident-{incident}\""))
        .nth(1)
        .expect("the incident is listed");
    let row = row.split("</tr>").next().unwrap();
    assert!(row.contains("Warehouse resized; reruns started."), "{row}");
    assert!(row.contains(&format!("Declared by {email}")), "{row}");
    assert!(row.contains("data-label=\"Reports\">1</td>"), "{row}");
    assert!(
        row.contains(&format!("href=\"/tickets/{incident}\"")),
        "{row}"
    );
}

/// A refused action comes back to the ticket page (422) with the message beside its
/// control and the reply being written kept: never a bare error page.
async fn a_refused_action_comes_back_beside_its_control(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.signed_in(Role::Agent).await;
    let t = app
        .file_report(report(
            "h@example.com",
            "stale_profile",
            "dw.sales.orders",
            "Stale",
        ))
        .await;
    let number = t["number"].as_str().unwrap();
    let merge = app
        .post_form_as(
            &agent,
            &format!("/tickets/{number}/merge"),
            &[("into_typed", "INS-99999")],
        )
        .await;
    assert_eq!(merge.status(), 422);
    let html = merge.text().await.unwrap();
    assert!(
        html.contains("id=\"into-error\""),
        "beside the merge control"
    );
    assert!(html.contains("id=\"update-form\""), "the ticket page");
    let version = version_on_page(&app, &agent, number).await;
    let resolve = [("version", version.as_str()), ("status", "resolved")];
    let path = format!("/tickets/{number}/update");
    assert_eq!(
        app.post_form_as(&agent, &path, &resolve).await.status(),
        303
    );
    // A resolved ticket comes back only by reopening: a reply cannot move it on.
    let reply = app
        .post_form_as(
            &agent,
            &format!("/tickets/{number}/comment"),
            &[
                ("body", "Kept while I fix the status"),
                ("visibility", "public"),
                ("status", "in_progress"),
            ],
        )
        .await;
    assert_eq!(reply.status(), 422);
    let html = reply.text().await.unwrap();
    assert!(html.contains("id=\"reply-status-error\""), "{html}");
    assert!(
        html.contains("cannot move from Resolved to In progress"),
        "in words: {html}"
    );
    assert!(html.contains(">Kept while I fix the status</textarea>"));
    let t = ticket(&app, number).await;
    assert_eq!(t["status"], "resolved", "nothing stored half-way");
    let events: Vec<Value> = app
        .api_json(&format!("/api/v1/tickets/{number}/events"))
        .await;
    assert!(!events.iter().any(|e| e["kind"] == "comment"));
}
