//! `sweep`, `outbox deliver` and `prune-runs`: one pass of a background job, run by hand.

use crate::clock::Clock;
use crate::config::Settings;
use crate::startup::build_desk;

use super::{describe, say};

/// `sweep [--at INSTANT]`: one SLA/escalation pass, with what it did.
pub(super) fn sweep(settings: &Settings, at: Option<&str>) -> Result<(), String> {
    let desk = build_desk(settings, Clock::system(), None)?;
    let at = match at {
        Some(text) => {
            crate::domain::run_record::timestamp(text).map_err(|e| format!("--at: {e}"))?
        }
        None => desk.clock.now(),
    };
    let started = std::time::Instant::now();
    let report = crate::services::escalation::sweep(&desk, at).map_err(describe)?;
    say!(
        "sweep at {}: {} ticket(s) due, {} step(s) fired, {} email(s) queued in {:.1} ms",
        crate::clock::rfc3339(at),
        report.tickets,
        report.steps,
        report.emails,
        started.elapsed().as_secs_f64() * 1000.0
    );
    for line in report.lines {
        say!("  {line}");
    }
    Ok(())
}

/// `prune-runs [--older-than PERIOD]`: remove old runs and their lineage events.
pub(super) fn prune_runs(settings: &Settings, older_than: Option<&str>) -> Result<(), String> {
    let retention = match older_than {
        Some(text) => crate::config::retention(text).map_err(|e| format!("--older-than: {e}"))?,
        None => settings
            .run_retention()?
            .ok_or("no retention: pass --older-than (e.g. 90d) or set DESK_RUN_RETENTION")?,
    };
    let desk = build_desk(settings, Clock::system(), None)?;
    crate::services::retention::check(retention, &desk.model)?;
    let cutoff = desk.clock.now() - retention;
    let pruned = crate::services::retention::prune(&desk, cutoff).map_err(describe)?;
    say!(
        "pruned {} run(s) started before {} and {} lineage event(s); kept {} older \
         run(s) linked to a ticket or a table's latest",
        pruned.runs,
        crate::clock::rfc3339(cutoff),
        pruned.lineage_events,
        pruned.kept
    );
    Ok(())
}

/// `outbox deliver`: one delivery pass over the messages due now.
pub(super) fn deliver_outbox(settings: &Settings) -> Result<(), String> {
    let desk = actix_web::web::Data::new(build_desk(settings, Clock::system(), None)?);
    let system = actix_web::rt::System::new();
    let mailer = desk.mailer.clone();
    let report = system
        .block_on(crate::services::delivery::deliver_due(&desk, &mailer))
        .map_err(describe)?;
    say!(
        "outbox via {}: {} sent, {} failed (will retry), {} dead-lettered",
        mailer.describe(),
        report.sent,
        report.failed,
        report.dead
    );
    Ok(())
}
