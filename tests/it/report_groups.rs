//! Reports sent at once are written together (on PostgreSQL one transaction and one
//! statement per table for a group, on SQLite one commit for the writer's batch): each
//! still gets its whole ticket, its own answer, and a repeated or reused submission key
//! is told apart from the others in its group.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use inspect_desk::db::DbConnection;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(reports_sent_at_once_each_get_their_whole_ticket);

/// Reports sent at once.
const PLAIN: usize = 40;
/// Keys sent twice at once with the same report: one ticket, both answers name it.
const REPEATED: usize = 6;
/// Keys sent twice at once with different reports: one ticket, the other refused.
const REUSED: usize = 4;

fn report(description: String) -> Value {
    // No warehouse: a burst of these opens no incident, so each ticket's timeline is the
    // report's own.
    json!({"reporter_email": "ana@example.com", "kind": "other", "description": description})
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    ticket: i64,
    #[diesel(sql_type = Text)]
    what: String,
}

fn rows(app: &TestApp, sql: &str) -> BTreeMap<i64, Vec<String>> {
    let mut conn = app.desk.pool.get().unwrap();
    let mut by_ticket: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for row in diesel::sql_query(sql).load::<Row>(&mut *conn).unwrap() {
        by_ticket.entry(row.ticket).or_default().push(row.what);
    }
    by_ticket
}

async fn reports_sent_at_once_each_get_their_whole_ticket(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let url = app.url("/api/v1/reports");
    let send = |key: Option<String>, description: String| {
        let mut request = app.client.post(&url).json(&report(description));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        })
    };
    let mut requests = Vec::new();
    for i in 0..PLAIN {
        requests.push(send(None, format!("Report R-{i} failed at load")));
    }
    for i in 0..REPEATED {
        for _ in 0..2 {
            requests.push(send(
                Some(format!("same-{i}")),
                format!("Retried report {i}"),
            ));
        }
    }
    for i in 0..REUSED {
        for other in ["one", "another"] {
            requests.push(send(
                Some(format!("reused-{i}")),
                format!("{other} report {i}"),
            ));
        }
    }
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.unwrap());
    }

    let (plain, keyed) = answers.split_at(PLAIN);
    let (repeated, reused) = keyed.split_at(REPEATED * 2);
    let mut numbers: Vec<&str> = Vec::new();
    for (status, body) in plain {
        assert_eq!(*status, 201, "{body}");
        numbers.push(body["number"].as_str().unwrap());
    }
    for pair in repeated.chunks(2) {
        let mut statuses = [pair[0].0, pair[1].0];
        statuses.sort();
        assert_eq!(statuses, [200, 201], "{pair:?}");
        assert_eq!(pair[0].1["number"], pair[1].1["number"], "{pair:?}");
        numbers.push(pair[0].1["number"].as_str().unwrap());
    }
    for pair in reused.chunks(2) {
        let mut statuses = [pair[0].0, pair[1].0];
        statuses.sort();
        assert_eq!(statuses, [201, 422], "{pair:?}");
        let created = pair.iter().find(|(status, _)| *status == 201).unwrap();
        numbers.push(created.1["number"].as_str().unwrap());
    }
    let tickets = PLAIN + REPEATED + REUSED;
    let mut unique = numbers.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), tickets, "every ticket its own number");
    assert_eq!(app.count("tickets"), tickets as i64);

    // Each ticket's timeline in order: the report's entries, then its two emails queued.
    let timelines = rows(
        &app,
        "SELECT ticket_id AS ticket, kind AS what FROM ticket_events ORDER BY id",
    );
    assert_eq!(timelines.len(), tickets);
    for (ticket, kinds) in &timelines {
        assert_eq!(
            kinds,
            &[
                "created",
                "classified",
                "severity_set",
                "routed",
                "sla_set",
                "email_queued",
                "email_queued"
            ],
            "ticket {ticket}"
        );
    }
    let outbox = rows(
        &app,
        "SELECT ticket_id AS ticket, template AS what FROM outbox ORDER BY id",
    );
    assert_eq!(outbox.len(), tickets);
    for (ticket, templates) in &outbox {
        assert_eq!(
            templates,
            &["confirmation", "new_ticket"],
            "ticket {ticket}"
        );
    }

    // On PostgreSQL the reports really were written in groups: rows one transaction made
    // share its id (`xmin`).
    let mut conn = app.desk.pool.get().unwrap();
    if let DbConnection::Postgres(pg) = &mut *conn {
        #[derive(QueryableByName)]
        struct Groups {
            #[diesel(sql_type = BigInt)]
            transactions: i64,
        }
        let groups: Groups =
            diesel::sql_query("SELECT COUNT(DISTINCT xmin::text) AS transactions FROM tickets")
                .get_result(pg)
                .unwrap();
        assert!(
            (groups.transactions as usize) < tickets,
            "{} tickets in {} transactions: none written together",
            tickets,
            groups.transactions
        );
    }
}
