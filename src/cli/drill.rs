//! `drill`: rehearse a launch scenario and print its step-by-step report.

use crate::clock::Clock;
use crate::config::Settings;
use crate::services::accounts::Actor;
use crate::services::drills;
use crate::startup::build_desk;

use super::{describe, say};

/// `drill --list`: the scenarios, one a line.
pub(super) fn list() -> Result<(), String> {
    for s in drills::SCENARIOS {
        say!(
            "{:<30} {}",
            s.name,
            s.summary.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    Ok(())
}

/// `drill NAME [--recipient …]`: Err (a failing exit) unless every step passed.
pub(super) fn run(settings: &Settings, name: &str, recipients: &[String]) -> Result<(), String> {
    let desk = build_desk(settings, Clock::system(), None)?;
    let mut conn = desk.pool.get().map_err(|e| describe(e.into()))?;
    let id = drills::start(
        &mut conn,
        &desk,
        name,
        recipients,
        &Actor {
            name: "inspect-desk drill (command line)",
            ip: None,
        },
    )
    .map_err(describe)?;
    drop(conn);
    let report = drills::run(&desk, id, &desk.mailer).map_err(describe)?;
    say!(@write, "{}", report.to_text());
    if report.passed() {
        Ok(())
    } else {
        Err(format!("drill {id} ({name}) failed"))
    }
}
