//! The owner's side of escalation: emails in words that follow the clock at sending and
//! say why the reader got them and what to do, the escalation view, and acknowledging
//! (in the view, by the emailed link, by the API) that takes ownership.

use chrono::TimeDelta;
use fantoccini::Locator;
use inspect_desk::domain::role::{Role, Scope};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, hidden_field};
use crate::on_both_backends;
use crate::reader::{assert_reads_for_people, check_page};
use crate::smtp::{Received, SmtpSink, app_with_smtp};

on_both_backends!(
    a_late_reminder_says_overdue_not_due_in,
    the_escalation_email_says_why_and_what_to_do,
    the_view_puts_the_most_severe_first_and_acknowledging_takes_the_ticket,
    the_emailed_link_shows_the_ticket_then_its_recipient_takes_it,
    acknowledging_by_api_takes_the_ticket_for_the_tokens_owner,
    the_escalation_view_and_acknowledge_page_read_for_people,
    the_demo_owner_receives_and_sees_its_teams_escalations
);

const PASSWORD: &str = "a-long-test-password";
/// Leads Warehouse Connectors in the shipped support model (the demo's owner).
const OWNER: &str = "owner@inspect.example";
/// Leads Inspector Reports.
const REPORTS_LEAD: &str = "lucia.ferreira@inspect.example";
const REPORTS_QUEUE: &str = "inspector-reports@inspect.example";

/// A sev3 failed report for Inspector Reports: first response due in 8 hours.
fn failed_report() -> Value {
    json!({"reporter_email": "ana@example.com", "kind": "failed_report", "impact": "degraded",
           "warehouse_type": "postgres", "table": "public.orders",
           "description": "Report generation failed (R-502)\nIt fails after a minute, every time."})
}

/// A profiling failure on Snowflake, for Warehouse Connectors; `blocked` makes it sev2.
fn connector_failure(impact: &str, table: &str) -> Value {
    json!({"reporter_email": "ben@example.com", "kind": "profiling_failure", "impact": impact,
           "warehouse_type": "snowflake", "table": table,
           "description": format!("Profiling {table} times out every night since Monday")})
}

fn number_of(ticket: &Value) -> String {
    ticket["number"].as_str().unwrap().to_string()
}

/// A received message decoded as a mail client shows it (Python's email package): the
/// recipient, the subject and both parts, no-break spaces read as spaces.
#[derive(Debug)]
struct Mail {
    to: String,
    subject: String,
    text: String,
    html: String,
}

fn decode(message: &Received) -> Mail {
    use std::io::Write;
    let script = r#"
import email, json, sys
from email import policy
m = email.message_from_string(sys.stdin.read(), policy=policy.default)
out = {"to": str(m["to"]), "subject": str(m["subject"]), "text": "", "html": ""}
for p in m.walk():
    if p.get_content_type() == "text/plain": out["text"] = p.get_content()
    elif p.get_content_type() == "text/html": out["html"] = p.get_content()
print(json.dumps(out))
"#;
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 decodes the message");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(message.raw.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).expect("decoded message");
    let field = |k: &str| json[k].as_str().unwrap_or_default().replace('\u{a0}', " ");
    Mail {
        to: field("to"),
        subject: field("subject"),
        text: field("text"),
        html: field("html"),
    }
}

/// The first message received that matches, waiting up to five seconds.
fn mail_where(sink: &SmtpSink, matches: impl Fn(&Mail) -> bool) -> Mail {
    for _ in 0..100 {
        if let Some(found) = sink.received().iter().map(decode).find(|m| matches(m)) {
            return found;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let seen: Vec<String> = sink
        .received()
        .iter()
        .map(decode)
        .map(|m| format!("{} | {}", m.to, m.subject))
        .collect();
    panic!("no such message; received:\n{}", seen.join("\n"));
}

/// The first link in `text` that starts with `prefix`.
fn link(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
    text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '<' && *c != '"')
        .collect()
}

async fn ticket_json(app: &TestApp, number: &str) -> Value {
    app.api_json(&format!("/api/v1/tickets/{number}")).await
}

/// Bug: a reminder sent after its deadline said "first response due in 198 min". The
/// words follow the clock at sending.
async fn a_late_reminder_says_overdue_not_due_in(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    // On time: 75% of the way to the deadline, 1 h 55 min (and some seconds) before it.
    let on_time = number_of(&app.file_report(failed_report()).await);
    app.clock
        .advance(TimeDelta::hours(6) + TimeDelta::minutes(4) + TimeDelta::seconds(30));
    app.sweep().await;
    app.deliver().await;
    let reminder = mail_where(&sink, |m| {
        m.to == REPORTS_QUEUE && m.subject.contains(&on_time) && m.subject.contains("Escalation")
    });
    assert!(
        reminder
            .subject
            .contains("first response is due in 1 h 55 min"),
        "{}",
        reminder.subject
    );

    // Late: nothing swept this ticket until 3 h 18 min after its deadline.
    let late = number_of(&app.file_report(failed_report()).await);
    app.clock
        .advance(TimeDelta::hours(11) + TimeDelta::minutes(18) + TimeDelta::seconds(10));
    app.sweep().await;
    app.deliver().await;
    let reminder = mail_where(&sink, |m| {
        m.to == REPORTS_QUEUE && m.subject.contains(&late) && m.subject.contains("Escalation")
    });
    assert!(
        reminder
            .subject
            .contains("first response is overdue by 3 h 18 min"),
        "{}",
        reminder.subject
    );
    assert!(!reminder.subject.contains("due in"), "{}", reminder.subject);
    assert!(
        reminder
            .text
            .contains("first response is overdue by 3 h 18 min"),
        "{}",
        reminder.text
    );
}

async fn the_escalation_email_says_why_and_what_to_do(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    let number = number_of(&app.file_report(failed_report()).await);
    app.clock
        .advance(TimeDelta::hours(11) + TimeDelta::minutes(18) + TimeDelta::seconds(10));
    app.sweep().await;
    app.deliver().await;
    let breach = mail_where(&sink, |m| m.to == REPORTS_LEAD);
    assert_reads_for_people("the breach email's text part", &breach.text);
    assert!(
        breach.subject.starts_with(&format!("[{number}] "))
            && breach.subject.contains("Report generation failed (R-502)"),
        "{}",
        breach.subject
    );
    let text = &breach.text;
    for expected in [
        "You lead Inspector Reports; first response is overdue by 3 h 18 min.",
        &format!("{number}: Report generation failed (R-502)"),
        "Severity: Sev 3",
        "Category: Failed report",
        "Team: Inspector Reports",
        "Table: public.orders",
        "Escalation step: First response breach. When first response is overdue, it notifies the team lead.",
    ] {
        assert!(
            text.contains(expected),
            "'{expected}' missing from:\n{text}"
        );
    }
    let ack = link(text, &format!("{}/ack/", app.address));
    let ticket = link(text, &format!("{}/tickets/", app.address));
    let runbook = link(text, &format!("{}/runbooks/", app.address));
    assert_eq!(ticket, app.url(&format!("/tickets/{number}")));
    assert_eq!(runbook, app.url("/runbooks/failed-report"));
    // The HTML part says the same, with the same links.
    for same in [&ack, &ticket, &runbook] {
        assert!(
            breach.html.contains(same.as_str()),
            "{same} not in the HTML part"
        );
    }
    assert!(
        breach
            .html
            .contains("You lead Inspector Reports; first response is overdue by 3 h 18 min."),
        "{}",
        breach.html
    );
    // The link opens; the rules in words also name the manager step's repeats.
    assert_eq!(app.client.get(&ack).send().await.unwrap().status(), 200);
    let manager = mail_where(&sink, |m| m.to == "jonas.berg@inspect.example");
    assert!(
        manager.text.contains("You manage Inspector Reports;")
            && manager.text.contains("First response manager (2 of 3)")
            && manager
                .text
                .contains("then every 2 h up to 2 more times, it notifies the team's manager"),
        "{}",
        manager.text
    );
    assert_reads_for_people("the manager's email", &manager.text);
}

/// A sev3 and a sev2 ticket for Warehouse Connectors, both past their first-response
/// deadline and escalated; the sev3 one breached first. Returns (sev3, sev2).
async fn two_breached_connector_tickets(app: &TestApp) -> (String, String) {
    let sev3 = number_of(
        &app.file_report(connector_failure("degraded", "ANALYTICS.CRM.CONTACTS"))
            .await,
    );
    app.clock.advance(TimeDelta::hours(7));
    let sev2 = number_of(
        &app.file_report(connector_failure("blocked", "RAW.EVENTS.CLICKS"))
            .await,
    );
    app.clock
        .advance(TimeDelta::hours(2) + TimeDelta::minutes(30));
    assert!(app.sweep().await.steps >= 4);
    (sev3, sev2)
}

async fn the_view_puts_the_most_severe_first_and_acknowledging_takes_the_ticket(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user(OWNER, Role::Owner, PASSWORD);
    let (sev3, sev2) = two_breached_connector_tickets(&app).await;
    let owner = app.new_client();
    app.sign_in(&owner, OWNER, PASSWORD).await;
    let page = app.page_as(&owner, "/escalations").await;
    let (at2, at3) = (page.find(&sev2).unwrap(), page.find(&sev3).unwrap());
    assert!(
        at2 < at3,
        "the sev2 ticket comes before the sev3 one that breached earlier"
    );
    for words in [
        "Profiling RAW.EVENTS.CLICKS times out every night since Monday",
        "Sev 2",
        "Warehouse Connectors",
        "First response breach",
        "When first response is overdue, it notifies the team lead",
        "1 report from 1 analyst",
    ] {
        assert!(page.contains(words), "'{words}' missing from the view");
    }
    // Since when, in words: "breached 31 h ago" in each breached row's <time>.
    let since: Vec<&str> = page
        .split(">breached ")
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .collect();
    assert!(
        since.len() >= 2 && since.iter().all(|s| s.ends_with(" ago")),
        "each breached row says since when: {since:?}"
    );

    let csrf = hidden_field(&page, "csrf_token");
    let response = owner
        .post(app.url(&format!("/escalations/{sev2}/ack")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/escalations");
    let page = app.page_as(&owner, "/escalations").await;
    assert!(
        page.contains(&format!(
            "Acknowledged {sev2} “Profiling RAW.EVENTS.CLICKS times out every night since Monday”. It is assigned to you now"
        )),
        "no confirmation on:\n{page}"
    );
    let json = ticket_json(&app, &sev2).await;
    assert_eq!(json["assignee"], OWNER);
    assert_eq!(json["status"], "triaged");
    assert!(json["escalations"][0]["acknowledged"].as_bool().unwrap());
    // Acknowledged holds: the next sweep fires nothing more on it.
    app.clock.advance(TimeDelta::hours(3));
    let swept = app.sweep().await;
    assert!(
        !swept.lines.iter().any(|l| l.starts_with(&sev2)),
        "{:?}",
        swept.lines
    );
    // Again: nothing changes, and the page says so.
    let response = owner
        .post(app.url(&format!("/escalations/{sev2}/ack")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let page = app.page_as(&owner, "/escalations").await;
    assert!(page.contains("was already acknowledged; nothing changed."));
}

async fn the_emailed_link_shows_the_ticket_then_its_recipient_takes_it(backend: Backend) {
    let Some((app, sink)) = app_with_smtp(backend).await else {
        return;
    };
    app.create_user(REPORTS_LEAD, Role::Owner, PASSWORD);
    let number = number_of(&app.file_report(failed_report()).await);
    app.clock
        .advance(TimeDelta::hours(8) + TimeDelta::minutes(5));
    app.sweep().await;
    app.deliver().await;
    let breach = mail_where(&sink, |m| m.to == REPORTS_LEAD);
    let ack = link(&breach.text, &format!("{}/ack/", app.address));

    // Someone not signed in (the lead, from their phone) sees what they acknowledge.
    let visitor = app.new_client();
    let page = visitor
        .get(&ack)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for words in [
        "Report generation failed (R-502)",
        "Sev 3",
        "Inspector Reports",
        "Breached",
        "First response breach",
        "nobody has it yet",
        "Acknowledge and take it",
    ] {
        assert!(page.contains(words), "'{words}' missing from the page");
    }
    let csrf = hidden_field(&page, "csrf_token");
    let confirm = visitor
        .post(&ack)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 303, "POST → redirect → GET");
    let back = confirm.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(app.url(&back), ack);
    let page = visitor
        .get(&ack)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!(
            "Acknowledged {number} “Report generation failed (R-502)”. It is assigned to you now"
        )),
        "{page}"
    );
    assert!(page.contains(&format!("Acknowledged by {REPORTS_LEAD}")));
    assert!(!page.contains("id=\"ack-confirm\""), "no second button");
    let json = ticket_json(&app, &number).await;
    assert_eq!(json["assignee"], REPORTS_LEAD);
    assert_eq!(json["status"], "triaged");

    // The link works once; a refresh of the POST changes nothing.
    let again = visitor
        .post(&ack)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 303);
    let page = visitor
        .get(&ack)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("was already acknowledged; nothing changed."));
    assert_eq!(ticket_json(&app, &number).await["version"], json["version"]);
    let forged = ack.replace('.', ".0");
    assert_eq!(visitor.get(&forged).send().await.unwrap().status(), 403);
}

async fn acknowledging_by_api_takes_the_ticket_for_the_tokens_owner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user(OWNER, Role::Owner, PASSWORD);
    let number = number_of(
        &app.file_report(connector_failure("degraded", "ANALYTICS.CRM.CONTACTS"))
            .await,
    );
    let token = {
        let mut conn = app.desk.pool.get().unwrap();
        let actor = inspect_desk::services::accounts::Actor {
            name: OWNER,
            ip: None,
        };
        inspect_desk::services::tokens::create(
            &mut conn,
            &actor,
            "owner's pager bridge",
            &[Scope::Write],
            app.desk.clock.now(),
        )
        .unwrap()
        .plain
    };
    let response = app
        .client
        .post(app.url(&format!("/api/v1/tickets/{number}/ack")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["assignee"], OWNER);
    assert_eq!(json["status"], "triaged");
    // A token made by a program's account (no person who works tickets) acknowledges
    // without assigning anyone.
    let other = number_of(&app.file_report(failed_report()).await);
    let response = app
        .client
        .post(app.url(&format!("/api/v1/tickets/{other}/ack")))
        .bearer_auth(app.token(&[Scope::Write]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["assignee"], Value::Null);
    assert_eq!(json["status"], "new");
}

async fn the_escalation_view_and_acknowledge_page_read_for_people(backend: Backend) {
    let Some(driver) = crate::browser::start_driver() else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    app.create_user(OWNER, Role::Owner, PASSWORD);
    let (_, sev2) = two_breached_connector_tickets(&app).await;
    let ack = inspect_desk::services::escalation::ack_token_for(
        &app.desk.signing_key,
        &inspect_desk::services::escalation::AckClaim {
            ticket_id: inspect_desk::domain::ticket_number::TicketNumber::parse(&sev2)
                .unwrap()
                .id(),
            step: "first-response-breach".into(),
            recipient: Some(OWNER.into()),
        },
        app.clock.now() + TimeDelta::days(1),
    );
    let client = crate::browser::browser(&driver).await;
    let result = async {
        // The emailed link, before signing in.
        client.goto(&app.url(&format!("/ack/{ack}"))).await?;
        check_page(&client, "the acknowledge page").await;
        // The view, signed in as the owner.
        crate::browser::sign_in(&client, &app, OWNER, PASSWORD).await?;
        client.goto(&app.url("/escalations")).await?;
        check_page(&client, "the escalation view").await;
        client
            .find(Locator::Css(&format!(
                "form[action='/escalations/{sev2}/ack'] button"
            )))
            .await?
            .click()
            .await?;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let flash = client.find(Locator::Css(".flash")).await?.text().await?;
        check_page(&client, "the escalation view after acknowledging").await;
        Ok::<_, fantoccini::error::CmdError>(flash)
    }
    .await;
    client.close().await.ok();
    let flash = result.expect("browser steps");
    assert!(
        flash.starts_with(&format!("Acknowledged {sev2}")),
        "{flash}"
    );
}

/// The demo shows the owner's path end to end: the demo owner leads a team, the demo data
/// escalated some of its tickets to them, and their view lists them.
async fn the_demo_owner_receives_and_sees_its_teams_escalations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let desk = app.desk.clone();
    let seeded = tokio::task::spawn_blocking(move || inspect_desk::demo::seed_if_empty(&desk))
        .await
        .unwrap()
        .expect("demo data");
    assert!(seeded.contains("escalation steps fired"), "{seeded}");
    let to_owner = app.count(&format!(
        "ticket_escalations WHERE recipients LIKE '%{OWNER}%'"
    ));
    assert!(to_owner > 0, "the demo owner was sent escalations");
    assert!(app.count(&format!("outbox WHERE recipient = '{OWNER}'")) > 0);
    let owner = app.new_client();
    app.sign_in(&owner, OWNER, "demo-owner-password").await;
    let page = app.page_as(&owner, "/escalations").await;
    assert!(
        page.contains("Warehouse Connectors")
            && page.contains("<p class=\"escalation-why\"><strong>First response"),
        "{page}"
    );
}
