//! The classifier learns from agents' reclassifications: each one is kept as a labelled
//! example, the server retrains in the background, /admin shows the model in use, and a
//! retrain that does worse on the held-back slice leaves the model in use alone.

use std::time::Duration;

use inspect_desk::db::models::classifier::Correction;
use inspect_desk::db::models::ticket::Ticket;
use inspect_desk::domain::category::Category;
use inspect_desk::domain::classify::corpus;
use inspect_desk::domain::role::{Role, Scope};
use inspect_desk::domain::ticket_number::TicketNumber;
use inspect_desk::services::classifier::{Retrained, retrain};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::triage::api;

on_both_backends!(
    ten_corrections_of_one_phrasing_teach_it,
    a_worse_retrain_is_kept_out
);

fn report(table: &str) -> Value {
    json!({"reporter_email": "analyst@example.com", "kind": "unsure", "impact": "minor",
           "warehouse_type": "snowflake", "table": table,
           "description": format!("The lineage panel for {table} credits the wrong upstream owner team.")})
}

async fn ten_corrections_of_one_phrasing_teach_it(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.background_jobs = true).await;
    let first = app.file_report(report("ANALYTICS.CORE.ORDERS")).await;
    let before = first["category"].as_str().unwrap().to_string();
    let corrected = if before == "failed_report" {
        "stale_profile"
    } else {
        "failed_report"
    };
    for n in 0..10 {
        let ticket = app
            .file_report(report(&format!("ANALYTICS.CORE.T{n}")))
            .await;
        assert_eq!(ticket["category"], before.as_str(), "{ticket}");
        let path = format!("/api/v1/tickets/{}", ticket["number"].as_str().unwrap());
        let body = json!({"category": corrected, "reason": "the lineage panel is part of the report",
                          "version": ticket["version"]});
        let (status, changed) = api(
            &app,
            &[Scope::Write],
            reqwest::Method::PATCH,
            &path,
            Some(body),
        )
        .await;
        assert_eq!(status, 200, "{changed}");
    }
    assert_eq!(app.count("classifier_corrections"), 10);

    // The background pass retrains; /admin says so once the new model is in use.
    let (admin, _) = app.signed_in(Role::Admin).await;
    let mut page = String::new();
    for _ in 0..240 {
        page = app.page_as(&admin, "/admin").await;
        if page.contains("10 agents") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(page.contains("corrections"), "{page}");
    assert!(
        page.contains("10 agents"),
        "the retrained model never came into use:\n{page}"
    );
    assert!(page.contains("Version "), "{page}");
    assert!(page.contains("classifier-cross-validation"), "{page}");
    for category in Category::ALL {
        assert!(
            page.contains(category.label()),
            "{} missing:\n{page}",
            category.label()
        );
    }

    let after = app.file_report(report("ANALYTICS.CORE.SHIPMENTS")).await;
    assert_eq!(after["category"], corrected, "{after}");
}

async fn a_worse_retrain_is_kept_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ticket = app.file_report(report("ANALYTICS.CORE.ORDERS")).await;
    let mut conn = app.desk.pool.get().unwrap();
    let number = TicketNumber::parse(ticket["number"].as_str().unwrap()).unwrap();
    let filed = Ticket::find(&mut conn, number.id()).unwrap();
    let now = app.clock.now();
    // The first pass records the model in use.
    let first = retrain(&mut conn, &app.desk.classifier, now).unwrap();
    assert!(
        matches!(first, Some(Retrained::Recorded { .. })),
        "{first:?}"
    );
    // Every corpus report again, each under the next category: corrections that teach
    // nothing but confusion.
    let next =
        |c: Category| Category::ALL[(Category::ALL.iter().position(|x| *x == c).unwrap() + 1) % 5];
    for example in corpus().iter().take(300) {
        let mut wrong = filed.clone();
        wrong.description = example.description.clone();
        wrong.category = next(example.label);
        Correction::record(&mut conn, &wrong, example.label, "noise", "Test", now).unwrap();
    }
    let outcome = retrain(&mut conn, &app.desk.classifier, now).unwrap();
    let Some(Retrained::KeptPrevious {
        candidate,
        previous,
    }) = outcome
    else {
        panic!("a confused retrain replaced the model: {outcome:?}");
    };
    assert!(candidate < previous, "{candidate} {previous}");
    assert_eq!(app.desk.classifier.current().trained_on.count, 0);
    // Tried once; nothing more to do until more corrections come.
    assert_eq!(retrain(&mut conn, &app.desk.classifier, now).unwrap(), None);
    drop(conn);
    let (admin, _) = app.signed_in(Role::Admin).await;
    let page = app.page_as(&admin, "/admin").await;
    assert!(page.contains("id=\"classifier-kept-out\""), "{page}");
    assert!(
        page.contains("A retrain with 300 corrections scored"),
        "{page}"
    );
}
