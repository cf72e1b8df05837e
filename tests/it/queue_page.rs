//! The queue as an agent works it in a real browser: dense enough for a shift of work,
//! bulk actions chosen from lists with a sentence saying what happened, and the keyboard.

use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, Locator};
use inspect_desk::domain::role::Role;

use crate::browser::{browser, start_driver};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::reader::check_page;

on_both_backends!(
    the_queue_is_dense_and_reads_for_people,
    select_all_and_assign_by_name,
    keys_move_tick_open_assign_and_list_themselves,
);

type Steps<T> = Result<T, fantoccini::error::CmdError>;

const PASSWORD: &str = "a-long-test-password";

/// The demo's 50 tickets (through the real intake) and its accounts.
pub(crate) async fn demo_tickets(app: &TestApp) {
    let desk = app.desk.clone();
    tokio::task::spawn_blocking(move || inspect_desk::demo::seed(&desk, 200, 50))
        .await
        .unwrap()
        .expect("demo data");
}

/// An account with a name people know it by; returns its id.
pub(crate) fn person(app: &TestApp, email: &str, name: &str, role: Role) -> i64 {
    let mut conn = app.desk.pool.get().unwrap();
    let actor = inspect_desk::services::accounts::Actor {
        name: "test",
        ip: None,
    };
    let (user, _) = inspect_desk::services::accounts::create_user(
        &mut conn,
        &actor,
        email,
        Some(name),
        role,
        Some(PASSWORD),
        app.desk.clock.now(),
    )
    .unwrap();
    user.id
}

/// Size the window so the page's viewport is `width` × `height`.
async fn set_viewport(client: &Client, width: u32, height: u32) -> Steps<()> {
    client.set_window_size(width, height).await?;
    let inner = client
        .execute("return [window.innerWidth, window.innerHeight]", vec![])
        .await?;
    let read = |i: usize| inner[i].as_u64().unwrap_or(0) as u32;
    let (frame_w, frame_h) = (
        width.saturating_sub(read(0)),
        height.saturating_sub(read(1)),
    );
    if frame_w > 0 || frame_h > 0 {
        client
            .set_window_size(width + frame_w, height + frame_h)
            .await?;
    }
    Ok(())
}

/// How many ticket rows the first screen shows whole.
async fn rows_above_the_fold(client: &Client) -> Steps<u64> {
    Ok(client
        .execute(
            "return Array.from(document.querySelectorAll('tr.queue-row'))
               .filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length",
            vec![],
        )
        .await?
        .as_u64()
        .unwrap_or(0))
}

/// Press one key (a character, or a WebDriver key code such as Enter's `\u{E007}`).
async fn press(client: &Client, key: char) -> Steps<()> {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    client.perform_actions(keys).await
}

/// The confirmation at the top of the page, once one shows.
async fn flash(client: &Client) -> Steps<String> {
    client
        .wait()
        .at_most(Duration::from_secs(5))
        .for_element(Locator::Css("p.flash"))
        .await?
        .text()
        .await
}

/// The ticket page's path, once the browser is on one.
async fn ticket_opened(client: &Client) -> Steps<String> {
    for _ in 0..50 {
        let path = client.current_url().await?.path().to_string();
        if path.starts_with("/tickets/") {
            return Ok(path);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(client.current_url().await?.path().to_string())
}

async fn text_of(client: &Client, id: &str) -> Steps<String> {
    client.find(Locator::Id(id)).await?.text().await
}

/// 50 demo tickets at 1280 × 800: at least 15 whole rows before any scrolling, nothing
/// scrolls sideways at 1280 or 375 px, and the page passes the reader's checks.
async fn the_queue_is_dense_and_reads_for_people(backend: Backend) {
    let Some(driver) = start_driver() else { return };
    let app = TestApp::spawn(backend).await;
    demo_tickets(&app).await;
    person(&app, "dana@inspect.example", "Dana Okafor", Role::Agent);
    let client = browser(&driver).await;
    let result = async {
        crate::browser::sign_in(&client, &app, "dana@inspect.example", PASSWORD).await?;
        client.goto(&app.url("/queue")).await?;
        set_viewport(&client, 1280, 800).await?;
        let rows = client.find_all(Locator::Css("tr.queue-row")).await?.len();
        let above = rows_above_the_fold(&client).await?;
        check_page(&client, "the queue").await;
        Ok::<_, fantoccini::error::CmdError>((rows, above))
    }
    .await;
    client.close().await.ok();
    let (rows, above) = result.expect("browser steps");
    assert!(rows >= 15, "only {rows} open demo tickets listed");
    assert!(
        above >= 15,
        "only {above} of {rows} rows show above the fold at 1280 × 800"
    );
}

/// Tick every ticket with one box, see the count, assign them all to a colleague picked
/// by name: the queue comes back with its filters and says what was done.
async fn select_all_and_assign_by_name(backend: Backend) {
    let Some(driver) = start_driver() else { return };
    let app = TestApp::spawn(backend).await;
    crate::triage::seed(&app).await;
    person(&app, "lead@inspect.example", "Robin Lead", Role::Agent);
    let dana = person(&app, "dana@inspect.example", "Dana Okafor", Role::Agent);
    let client = browser(&driver).await;
    let result = async {
        crate::browser::sign_in(&client, &app, "lead@inspect.example", PASSWORD).await?;
        client.goto(&app.url("/queue?severity=sev3")).await?;
        let listed = client.find_all(Locator::Css("tr.queue-row")).await?.len();
        client
            .find(Locator::Id("select-all"))
            .await?
            .click()
            .await?;
        let count = text_of(&client, "selected-count").await?;
        client
            .find(Locator::Id("bulk-action"))
            .await?
            .select_by_value(&format!("assign:{dana}"))
            .await?;
        client
            .find(Locator::Id("bulk-apply"))
            .await?
            .click()
            .await?;
        let said = flash(&client).await?;
        let url = client.current_url().await?;
        Ok::<_, fantoccini::error::CmdError>((listed, count, said, url))
    }
    .await;
    client.close().await.ok();
    let (listed, count, said, url) = result.expect("browser steps");
    assert!(listed >= 2, "the filter lists {listed} tickets");
    assert_eq!(count, format!("{listed} tickets selected"));
    assert_eq!(said, format!("{listed} tickets assigned to Dana Okafor."));
    assert_eq!(url.path(), "/queue");
    assert_eq!(url.query(), Some("severity=sev3"), "the filters are kept");
    assert_eq!(
        app.count(&format!("tickets WHERE assignee_id = {dana}")),
        listed as i64
    );
}

/// j/k move the focus between rows, x ticks the focused one, ? shows and hides the keys,
/// / goes to the search box and keys typed there stay text, a assigns the row to me,
/// o opens it.
async fn keys_move_tick_open_assign_and_list_themselves(backend: Backend) {
    let Some(driver) = start_driver() else { return };
    let app = TestApp::spawn(backend).await;
    crate::triage::seed(&app).await;
    person(&app, "kim@inspect.example", "Kim Keys", Role::Agent);
    let client = browser(&driver).await;
    let focused = "return document.activeElement.getAttribute('data-ticket') || \
                   document.activeElement.id";
    let result = async {
        crate::browser::sign_in(&client, &app, "kim@inspect.example", PASSWORD).await?;
        client.goto(&app.url("/queue")).await?;
        let rows: Vec<String> = {
            let mut all = Vec::new();
            for row in client.find_all(Locator::Css("tr.queue-row")).await? {
                all.push(row.attr("data-ticket").await?.unwrap_or_default());
            }
            all
        };
        for key in ['j', 'j', 'j', 'k'] {
            press(&client, key).await?;
        }
        let after_jjjk = client.execute(focused, vec![]).await?;
        press(&client, 'x').await?;
        let ticked = client
            .find(Locator::Css("tr.queue-row:focus input[name=ticket]"))
            .await?
            .is_selected()
            .await?;
        let count = text_of(&client, "selected-count").await?;
        let keys_hidden = |c: &Client| {
            let c = c.clone();
            async move {
                c.execute(
                    "return document.getElementById('queue-keys').hidden",
                    vec![],
                )
                .await
            }
        };
        press(&client, '?').await?;
        let shown = keys_hidden(&client).await?;
        press(&client, '?').await?;
        let hidden = keys_hidden(&client).await?;
        press(&client, '/').await?;
        let in_search = client.execute(focused, vec![]).await?;
        press(&client, 'j').await?;
        let typed = client
            .find(Locator::Id("queue-search"))
            .await?
            .prop("value")
            .await?;
        // Back to the rows, from the second one up to the first: it gets assigned to me.
        client
            .execute("document.activeElement.blur()", vec![])
            .await?;
        press(&client, 'k').await?;
        press(&client, 'a').await?;
        let assigned = flash(&client).await?;
        press(&client, 'j').await?;
        press(&client, 'o').await?;
        let opened = ticket_opened(&client).await?;
        client.back().await?;
        client
            .wait()
            .for_element(Locator::Id("queue-table"))
            .await?;
        press(&client, 'j').await?;
        press(&client, '\u{E007}').await?;
        let entered = ticket_opened(&client).await?;
        Ok::<_, fantoccini::error::CmdError>((
            rows, after_jjjk, ticked, count, shown, hidden, in_search, typed, assigned, opened,
            entered,
        ))
    }
    .await;
    client.close().await.ok();
    let (
        rows,
        after_jjjk,
        ticked,
        count,
        shown,
        hidden,
        in_search,
        typed,
        assigned,
        opened,
        entered,
    ) = result.expect("browser steps");
    assert_eq!(
        after_jjjk.as_str(),
        Some(rows[1].as_str()),
        "j j j k: the second row"
    );
    assert!(ticked, "x ticks the focused row");
    assert_eq!(count, "1 ticket selected");
    assert_eq!(shown, serde_json::json!(false), "? shows the keys");
    assert_eq!(hidden, serde_json::json!(true), "? again hides them");
    assert_eq!(in_search.as_str(), Some("queue-search"), "/ goes to search");
    assert_eq!(typed.as_deref(), Some("j"), "a key typed in search is text");
    let first = rows[0].split(':').next().unwrap();
    assert_eq!(
        assigned,
        format!("INS-{first} assigned to you."),
        "a assigns the focused row to me"
    );
    assert_eq!(
        app.count(&format!(
            "tickets t JOIN users u ON u.id = t.assignee_id \
             WHERE t.id = {first} AND u.email = 'kim@inspect.example'"
        )),
        1
    );
    assert!(opened.starts_with("/tickets/INS-"), "o opens: {opened}");
    assert!(
        entered.starts_with("/tickets/INS-"),
        "Enter opens: {entered}"
    );
}
