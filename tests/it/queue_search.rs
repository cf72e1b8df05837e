//! The queue's search box finds a ticket by what an agent remembers of it: its number, the
//! reporter's email or name, the table, the column, `table.column`, or words of the report.

use inspect_desk::domain::role::Role;
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(search_finds_tickets_by_what_agents_remember);

/// The numbers the queue lists for `q`.
async fn found(app: &TestApp, agent: &reqwest::Client, q: &str) -> Vec<String> {
    let query = serde_urlencoded::to_string([("q", q)]).unwrap();
    let html = app.page_as(agent, &format!("/queue?{query}")).await;
    html.match_indices("class=\"ticket-link\">")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('<').unwrap()].to_string()
        })
        .collect()
}

async fn search_finds_tickets_by_what_agents_remember(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let file = |name: &str, email: &str, table: &str, column: &str, text: &str| {
        json!({"reporter_name": name, "reporter_email": email, "kind": "wrong_column_type",
               "warehouse_type": "snowflake", "table": table, "column": column,
               "description": text})
    };
    let mut numbers = Vec::new();
    for report in [
        file(
            "Priya Raman",
            "priya.raman@example.com",
            "sales.core.orders",
            "amount_usd",
            "Amounts look like text since the last profile",
        ),
        file(
            "Tomasz Nowak",
            "tomasz@example.org",
            "hr.people.staff",
            "hired_on",
            "Dates detected as strings; 100% of rows are affected",
        ),
        file(
            "Lee Chen",
            "lee@example.net",
            "sales.core.refunds",
            "amount",
            "Refund amount is typed as an identifier",
        ),
    ] {
        let ticket = app.file_report(report).await;
        numbers.push(ticket["number"].as_str().unwrap().to_string());
    }
    let (agent, _) = app.signed_in(Role::Agent).await;
    let [priya, tomasz, lee] = [&numbers[0], &numbers[1], &numbers[2]].map(|n| vec![n.clone()]);
    // The number, written either way.
    assert_eq!(found(&app, &agent, &numbers[1]).await, tomasz);
    let bare = numbers[1].trim_start_matches("INS-");
    assert!(found(&app, &agent, bare).await.contains(&numbers[1]));
    assert_eq!(
        found(&app, &agent, &numbers[1].to_lowercase()).await,
        tomasz
    );
    // The reporter's email, any part of it, any case; their name.
    assert_eq!(found(&app, &agent, "PRIYA.RAMAN@example").await, priya);
    assert_eq!(found(&app, &agent, "example.org").await, tomasz);
    assert_eq!(found(&app, &agent, "lee chen").await, lee);
    // The table, the column, and the two together.
    assert_eq!(found(&app, &agent, "hr.people.staff").await, tomasz);
    assert_eq!(found(&app, &agent, "HIRED_ON").await, tomasz);
    let mut both_sales = found(&app, &agent, "sales.core").await;
    both_sales.sort();
    let mut expected = vec![numbers[0].clone(), numbers[2].clone()];
    expected.sort();
    assert_eq!(both_sales, expected);
    assert_eq!(found(&app, &agent, "sales.core.refunds.amount").await, lee);
    assert_eq!(found(&app, &agent, "core.orders.amount_usd").await, priya);
    // Words of the report.
    assert_eq!(found(&app, &agent, "typed as an IDENTIFIER").await, lee);
    // LIKE's wildcards are plain characters: `%` and `_` match only themselves.
    assert_eq!(found(&app, &agent, "100%").await, tomasz);
    assert!(
        found(&app, &agent, "%").await.eq(&tomasz),
        "only the text with a %"
    );
    assert_eq!(found(&app, &agent, "amount_usd").await, priya);
    assert!(
        found(&app, &agent, "amount_").await.eq(&priya),
        "_ is no wildcard"
    );
    assert!(
        found(&app, &agent, "nobody remembers this")
            .await
            .is_empty()
    );
}
