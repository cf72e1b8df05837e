//! What a page must be for the person reading it, checked in a real browser: its visible
//! text shows no internals (ISO instants, slugs, step ids), nothing scrolls sideways, and
//! axe-core finds no serious or critical accessibility violation.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use fantoccini::Client;

use crate::helpers::manifest_dir;

/// Widths every page is checked at: a laptop and a phone.
pub const WIDTHS: [u32; 2] = [1280, 375];

/// Resize the window so the page's viewport is `width` px wide (the height of a laptop).
pub async fn set_width(client: &Client, width: u32) {
    client
        .set_window_size(width, 800)
        .await
        .expect("resize the window");
    // The window's frame takes some of it: widen until the viewport is `width`.
    let inner: u64 = client
        .execute("return window.innerWidth", vec![])
        .await
        .ok()
        .and_then(|v| v.as_u64())
        .unwrap_or(u64::from(width));
    let frame = u32::try_from(u64::from(width).saturating_sub(inner)).unwrap_or(0);
    if frame > 0 {
        client
            .set_window_size(width + frame, 800)
            .await
            .expect("resize the window");
    }
}

/// The text a person sees on the page, apart from what it shows as code (`<code>`, `<pre>`,
/// `<kbd>`, `<samp>`): keys an operator types into the support model are shown as code on
/// purpose, and nothing else is.
pub async fn visible_text(client: &Client) -> String {
    client
        .execute(
            // Styles set through the DOM, which the page's CSP allows (a <style> it refuses).
            r#"const code = [...document.querySelectorAll('code, pre, kbd, samp')];
               const was = code.map(e => e.style.display);
               code.forEach(e => e.style.display = 'none');
               const text = document.body.innerText;
               code.forEach((e, i) => e.style.display = was[i]);
               return text;"#,
            vec![],
        )
        .await
        .expect("read the page's text")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// How far the page scrolls sideways (0: it fits the window).
pub async fn sideways_scroll(client: &Client) -> i64 {
    client
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            vec![],
        )
        .await
        .expect("measure the page")
        .as_i64()
        .unwrap_or(0)
}

/// Words of the desk's internals that no reader should meet in a page's visible text:
/// enum slugs, event kinds, escalation step ids and team keys.
pub fn internal_words() -> Vec<String> {
    use inspect_desk::domain::category::Category;
    use inspect_desk::domain::event::EventKind;
    use inspect_desk::domain::status::Status;
    use inspect_desk::domain::support_model::SupportModel;
    let mut words: Vec<String> = Category::ALL.iter().map(|c| c.as_str().into()).collect();
    words.extend(Status::ALL.iter().map(|s| s.as_str().to_string()));
    words.extend(EventKind::ALL.iter().map(|k| k.as_str().to_string()));
    words.extend(["timed_out", "at_risk", "on_track"].map(String::from));
    let model = SupportModel::from_toml(
        &std::fs::read_to_string(manifest_dir().join("config/support-model.toml")).unwrap(),
    )
    .expect("the shipped support model");
    words.extend(model.teams.iter().map(|t| t.key.clone()));
    words.extend(model.escalation.iter().map(|s| s.name.clone()));
    // Slugs without an underscore read as plain words ("new", "comment"); only the ones
    // that cannot be words are looked for.
    words.retain(|w| w.contains('_') || w.contains('-') || w.contains('#'));
    words.sort();
    words.dedup();
    words
}

/// Assert that `text` (a page's visible text, or an email's text part) shows no ISO
/// instant and none of the desk's internal words; `what` names it in the failure.
pub fn assert_reads_for_people(what: &str, text: &str) {
    let problems = text_problems(what, text);
    assert!(problems.is_empty(), "{}\n{text}", problems.join("\n"));
}

/// What in `text` a person should not meet: raw timestamps and internal words, one line
/// each. Empty is a pass.
pub fn text_problems(what: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some((i, _)) = text
        .char_indices()
        .find(|(i, _)| looks_like_iso(&text[*i..]))
    {
        let end = text.ceil_char_boundary((i + 40).min(text.len()));
        problems.push(format!(
            "{what} shows a raw timestamp near: {}",
            &text[i..end]
        ));
    }
    for word in internal_words() {
        let found = text
            .match_indices(&word)
            .any(|(i, _)| is_whole_word(text, i, word.len()));
        if found {
            problems.push(format!("{what} shows the internal word '{word}'"));
        }
    }
    problems
}

/// `2026-12-08T09:28` or `2026-12-08 09:28:00` at the start of `s`.
fn looks_like_iso(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 16
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b[10] == b'T' || b[10] == b' ')
        && b[11..13].iter().all(u8::is_ascii_digit)
        && b[13] == b':'
}

fn is_whole_word(text: &str, start: usize, len: usize) -> bool {
    let word_char = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let before = text[..start].chars().next_back();
    let after = text[start + len..].chars().next();
    // A word before an `@` is an email address's mailbox (a team's queue address).
    !before.is_some_and(word_char) && !after.is_some_and(|c| word_char(c) || c == '@')
}

/// axe-core's script, installed once under the target folder from npm.
fn axe_script() -> &'static str {
    static SCRIPT: OnceLock<String> = OnceLock::new();
    SCRIPT.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| manifest_dir().join("target"));
        let dir = target.join("axe");
        let file = dir.join("node_modules/axe-core/axe.min.js");
        if !file.is_file() {
            let status = Command::new("npm")
                .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .arg("axe-core@4")
                .stdin(Stdio::null())
                .status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "cannot install axe-core with npm into {} (.ci/run installs npm)",
                dir.display()
            );
        }
        std::fs::read_to_string(&file).expect("read axe.min.js")
    })
}

/// axe-core's serious and critical violations on the page the browser shows: one line each,
/// with the elements concerned. Empty is a pass.
pub async fn axe_violations(client: &Client) -> Vec<String> {
    client
        .execute(axe_script(), vec![])
        .await
        .expect("load axe-core into the page");
    let result = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { resultTypes: ['violations'] })
                 .then(r => done(r.violations
                   .filter(v => v.impact === 'serious' || v.impact === 'critical')
                   .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' — ' +
                        v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))))
                 .catch(e => done(['axe failed: ' + e]));"#,
            vec![],
        )
        .await
        .expect("run axe-core");
    result
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The checks every page gets at every width: no sideways scroll, no serious or critical
/// axe violation, and visible text for people. `what` names the page in failures.
pub async fn check_page(client: &Client, what: &str) {
    let problems = page_problems(client, what).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What `check_page` finds wrong with the page the browser shows, one line each.
pub async fn page_problems(client: &Client, what: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for width in WIDTHS {
        set_width(client, width).await;
        let scroll = sideways_scroll(client).await;
        if scroll > 0 {
            problems.push(format!(
                "{what} at {width} px scrolls sideways by {scroll} px"
            ));
        }
        problems.extend(
            axe_violations(client)
                .await
                .into_iter()
                .map(|v| format!("{what} at {width} px: {v}")),
        );
    }
    problems.extend(text_problems(what, &visible_text(client).await));
    problems
}

#[test]
fn the_text_checks_catch_internals_and_pass_words() {
    assert!(looks_like_iso("2026-12-08T09:28:14Z"));
    assert!(looks_like_iso("2026-12-08 09:28:14"));
    assert!(!looks_like_iso("Tue 8 Dec, 09:28"));
    let words = internal_words();
    assert!(words.contains(&"wrong_column_type".to_string()));
    assert!(words.contains(&"semantic-types".to_string()));
    assert!(is_whole_word("a wrong_column_type b", 2, 17));
    assert!(!is_whole_word("xwrong_column_type", 1, 17));
    assert_reads_for_people(
        "a good page",
        "Wrong column type · Semantic Types · due in 2 h",
    );
    let caught = std::panic::catch_unwind(|| {
        assert_reads_for_people("a bad page", "Category: wrong_column_type")
    });
    assert!(caught.is_err());
}

crate::on_both_backends!(the_front_door_reads_for_people);

/// The pages anyone meets first: the report form and the sign-in page.
async fn the_front_door_reads_for_people(backend: crate::helpers::Backend) {
    let Some(driver) = crate::browser::start_driver() else {
        return;
    };
    let app = crate::helpers::TestApp::spawn(backend).await;
    let client = crate::browser::browser(&driver).await;
    for path in ["/report", "/login"] {
        client.goto(&app.url(path)).await.expect("open the page");
        check_page(&client, path).await;
    }
    client.close().await.ok();
}
