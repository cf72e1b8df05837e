//! The analyst form at /report: submit, rejection, prefill, double submit, escaping.

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    form_submit_lands_on_tracking_page,
    rejected_form_keeps_what_was_typed,
    deep_link_prefills_the_form,
    double_submit_creates_one_ticket,
    markup_in_every_field_is_shown_escaped,
    invalid_utf8_and_oversize_forms_are_refused_cleanly,
);

/// askama escapes `<` as `&#60;`; accept the named form too.
fn shows_escaped_script(html: &str) -> bool {
    html.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
        || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
}

/// The hidden submission key the form carries.
fn submission_key(html: &str) -> String {
    let marker = "name=\"submission_key\" value=\"";
    let start = html.find(marker).expect("form has a submission key") + marker.len();
    html[start..start + 36].to_string()
}

async fn form_submit_lands_on_tracking_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let form = app.get("/report").await.text().await.unwrap();
    let key = submission_key(&form);
    let response = app
        .post_form(
            "/report",
            &[
                ("submission_key", key.as_str()),
                ("reporter_name", "Ana Lyst"),
                ("reporter_email", "ana@example.com"),
                ("kind", "unsure"),
                ("warehouse_type", "bigquery"),
                ("table", "proj.web.events"),
                ("column", "country"),
                ("detected_type", "person_name"),
                ("expected_type", "country_code"),
                ("impact", "degraded"),
                (
                    "description",
                    "country column flagged as a person name, values are US, DE, FR",
                ),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/t/"), "{location}");
    let page = app.get(&location).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("INS-1001"), "ticket number shown");
    assert!(
        html.contains("data-category=\"wrong_column_type\""),
        "category shown"
    );
    assert!(
        html.contains("data-team=\"semantic-types\""),
        "owning team shown"
    );
    assert!(
        html.contains("We emailed this page&#39;s link to you"),
        "the confirmation after the redirect"
    );
    assert!(html.contains("What happens next"));
    assert_eq!(app.count("tickets"), 1);
    assert_eq!(
        app.count("outbox WHERE template = 'confirmation'"),
        1,
        "confirmation email queued"
    );
    assert_eq!(
        app.count("outbox WHERE template = 'new_ticket'"),
        1,
        "the team queue is told"
    );
}

async fn rejected_form_keeps_what_was_typed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .post_form(
            "/report",
            &[
                ("reporter_name", "Ana Lyst"),
                ("reporter_email", "not-an-email"),
                ("kind", "stale_profile"),
                ("warehouse_type", "oracle"),
                ("table", "sales..orders"),
                ("column", "order_total"),
                ("description", "Numbers look old since Tuesday"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    for kept in [
        "Ana Lyst",
        "not-an-email",
        "order_total",
        "Numbers look old since Tuesday",
        "value=\"sales..orders\"",
    ] {
        assert!(html.contains(kept), "form should keep {kept}");
    }
    assert!(
        html.contains("id=\"reporter_email-error\""),
        "message beside the email"
    );
    assert!(
        html.contains("id=\"warehouse_type-error\""),
        "message beside the warehouse"
    );
    assert!(
        html.contains("id=\"table-error\""),
        "message beside the table"
    );
    assert!(
        html.contains("<option value=\"stale_profile\" selected>"),
        "kind stays selected"
    );
    assert_eq!(app.count("tickets"), 0, "nothing stored");
    assert_eq!(app.count("ticket_events"), 0);
    assert_eq!(app.count("outbox"), 0);
}

async fn deep_link_prefills_the_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let html = app
        .get("/report?warehouse_type=snowflake&table=ANALYTICS.SALES.ORDERS&column=AMOUNT&run_id=R-77&kind=wrong_column_type")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<option value=\"snowflake\" selected>"));
    assert!(html.contains("value=\"ANALYTICS.SALES.ORDERS\""));
    assert!(html.contains("value=\"AMOUNT\""));
    assert!(html.contains("value=\"R-77\""));
    assert!(html.contains("<option value=\"wrong_column_type\" selected>"));
}

async fn double_submit_creates_one_ticket(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = submission_key(&app.get("/report").await.text().await.unwrap());
    let fields = [
        ("submission_key", key.as_str()),
        ("reporter_email", "ana@example.com"),
        ("kind", "failed_report"),
        (
            "description",
            "PDF export of the inspector report gives a blank page",
        ),
    ];
    // A double click: both requests in flight at once.
    let (first, second) = tokio::join!(
        app.post_form("/report", &fields),
        app.post_form("/report", &fields)
    );
    // And a refresh that re-posts the form later.
    let third = app.post_form("/report", &fields).await;
    let locations: Vec<String> = [first, second, third]
        .iter()
        .map(|r| {
            assert_eq!(r.status(), 303);
            r.headers()["location"].to_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(locations[0], locations[1]);
    assert_eq!(locations[0], locations[2]);
    assert_eq!(app.count("tickets"), 1);
    assert_eq!(
        app.count("outbox WHERE template = 'confirmation'"),
        1,
        "one confirmation, not three"
    );
}

async fn markup_in_every_field_is_shown_escaped(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let evil = "<script>alert(1)</script><b>x</b>";
    // Fields with a grammar refuse markup; the form must show it back escaped.
    let rejected = app
        .post_form(
            "/report",
            &[
                ("reporter_name", evil),
                ("reporter_email", evil),
                ("kind", evil),
                ("warehouse_type", evil),
                ("table", evil),
                ("column", evil),
                ("detected_type", evil),
                ("expected_type", evil),
                ("run_id", evil),
                ("impact", evil),
                ("description", evil),
            ],
        )
        .await;
    assert_eq!(rejected.status(), 422);
    let html = rejected.text().await.unwrap();
    assert!(!html.contains("<script>alert"), "raw script echoed back");
    assert!(shows_escaped_script(&html), "escaped script shown back");
    // Free-text fields accept it and the tracking page escapes it.
    let response = app
        .post_form(
            "/report",
            &[
                ("reporter_name", evil),
                ("reporter_email", "ana@example.com"),
                ("kind", "other"),
                ("column", evil),
                ("detected_type", evil),
                ("expected_type", evil),
                ("description", evil),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let page = app.get(&location).await.text().await.unwrap();
    assert!(
        !page.contains("<script>alert"),
        "raw script on the tracking page"
    );
    assert!(!page.contains("<b>x</b>"));
    // The agents' pages escape it too.
    let (agent, _) = app.signed_in(inspect_desk::domain::role::Role::Agent).await;
    for path in ["/queue", "/tickets/INS-1001"] {
        let html = app.page_as(&agent, path).await;
        assert!(
            !html.contains("<script>alert") && !html.contains("<b>x</b>"),
            "raw markup on {path}"
        );
        assert!(shows_escaped_script(&html), "escaped markup on {path}");
    }
    // And the confirmation email escapes it in HTML and keeps it inert in text.
    let mut conn = app.desk.pool.get().unwrap();
    let mail = inspect_desk::db::models::outbox::OutboxMessage::recent(&mut conn, 1)
        .unwrap()
        .remove(0);
    assert!(
        !mail.body_html.contains("<script>alert"),
        "raw script in the HTML email"
    );
    assert!(
        shows_escaped_script(&mail.body_html),
        "escaped script in the HTML email"
    );
    assert!(!mail.subject.contains('<'));
    assert!(
        shows_escaped_script(&page),
        "escaped script on the tracking page"
    );
}

async fn invalid_utf8_and_oversize_forms_are_refused_cleanly(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let csrf = app.csrf_token(&app.client).await;
    let mut body = format!("csrf_token={csrf}&").into_bytes();
    body.extend_from_slice(b"reporter_email=a%40example.com&kind=other&description=caf%FF%FE");
    let bad = app
        .client
        .post(app.url("/report"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("not valid UTF-8"));
    let huge = format!(
        "reporter_email=a%40example.com&kind=other&description={}",
        "x".repeat(70 * 1024)
    );
    let big = app
        .client
        .post(app.url("/report"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    assert!(big.text().await.unwrap().contains("KiB"));
    // Under the body limit but over the description limit: a message beside the field.
    let long = app
        .post_form(
            "/report",
            &[
                ("reporter_email", "a@example.com"),
                ("kind", "other"),
                ("description", &"y".repeat(20 * 1024)),
            ],
        )
        .await;
    assert_eq!(long.status(), 422);
    assert!(
        long.text()
            .await
            .unwrap()
            .contains("id=\"description-error\"")
    );
    assert_eq!(app.count("tickets"), 0);
}
