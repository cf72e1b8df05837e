//! The operator's pages read for people in Chromium at 1280 and 375 px: telemetry with
//! runs, a drill still running with a long step text, and the users page.

use fantoccini::Locator;
use inspect_desk::db::models::drill::{Drill, DrillStep, NewDrill};
use inspect_desk::domain::drill::DrillStatus;
use inspect_desk::domain::role::Role;
use serde_json::json;

use crate::helpers::{Backend, TestApp, minutes_ago};
use crate::on_both_backends;
use crate::reader::check_page;

on_both_backends!(ops_pages_read_for_people);

const ADMIN: &str = "ops-admin@example.com";
const PASSWORD: &str = "a-long-test-password";

/// A running drill, seven of its nine steps done, one of them with a long unbroken line.
fn running_drill(app: &TestApp) -> i64 {
    let mut conn = app.desk.pool.get().unwrap();
    let now = app.desk.clock.now();
    let id = Drill::insert(
        &mut conn,
        &NewDrill {
            scenario: "snowflake-timeout-burst",
            status: DrillStatus::Running,
            started_by: ADMIN,
            recipients: "launch-drill@inspect.example",
            started_at: now,
        },
    )
    .unwrap();
    for position in 1..=7 {
        let detail = if position == 3 {
            format!("evidence runs: {}", "drill-run-0000000001,".repeat(40))
        } else {
            "ok".to_string()
        };
        DrillStep::insert(
            &mut conn,
            &DrillStep {
                drill_id: id,
                position,
                name: format!("step number {position} of the rehearsal"),
                passed: true,
                detail,
                duration_ms: 1_250,
            },
        )
        .unwrap();
    }
    id
}

async fn ops_pages_read_for_people(backend: Backend) {
    let Some(driver) = crate::browser::start_driver() else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    app.create_user(ADMIN, Role::Admin, PASSWORD);
    for (i, status) in ["succeeded", "failed", "timed_out", "succeeded"]
        .iter()
        .enumerate()
    {
        app.post_run(
            json!({"run_id": format!("r-{i}"), "warehouse_type": "snowflake",
            "table": "ANALYTICS.SALES.ORDERS", "status": status,
            "started_at": minutes_ago(50 - i as i64 * 10),
            "finished_at": minutes_ago(45 - i as i64 * 10)}),
        )
        .await;
    }
    let drill = running_drill(&app);
    let client = crate::browser::browser(&driver).await;
    let result = async {
        crate::browser::sign_in(&client, &app, ADMIN, PASSWORD).await?;
        for path in ["/telemetry?window=1h", "/telemetry", "/admin/users"] {
            client.goto(&app.url(path)).await?;
            check_page(&client, path).await;
        }
        // The running drill's page updates itself; kept still for reading.
        client
            .goto(&app.url(&format!("/admin/drills/{drill}")))
            .await?;
        client
            .find(Locator::Id("stop-refresh"))
            .await?
            .click()
            .await?;
        check_page(&client, "a running drill").await;
        let count = client
            .find(Locator::Id("drill-steps-count"))
            .await?
            .text()
            .await?;
        Ok::<_, fantoccini::error::CmdError>(count)
    }
    .await;
    client.close().await.ok();
    let count = result.expect("browser steps");
    assert_eq!(count, "7 of 9", "a running drill says how far of how many");
}
