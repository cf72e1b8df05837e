//! Background work: outbox delivery, escalation sweeps and threshold rules, hourly
//! clean-ups (expired sessions, old sign-in failures; runs past their retention), reading
//! the IMAP mailbox when one is set, and retraining the classifier with agents'
//! corrections. Each pass but the retraining is also a CLI verb, and the server runs them
//! on a timer unless `DESK_BACKGROUND_JOBS=false`.

pub mod after_ingest;

use actix_web::web;
use std::sync::Arc;
use std::time::Duration;

use crate::db::models::session::SessionRow;
use crate::db::models::sign_in_throttle::SignInThrottle;
use crate::domain::sign_in_throttle::FORGET_AFTER;
use crate::email::imap::Mailbox;
use crate::email::transport::Mailer;
use crate::error::AppError;
use crate::services::imap_poll::PollReport;
use crate::services::monitor::MonitorCache;
use crate::state::Desk;

/// How often the server delivers mail and sweeps for escalations.
const DELIVERY_EVERY: Duration = Duration::from_secs(2);
const SWEEP_EVERY: Duration = Duration::from_secs(15);
/// How often the server looks for agents' corrections to retrain the classifier with.
const CLASSIFIER_EVERY: Duration = Duration::from_secs(5);
/// Sweep ticks between clean-ups of expired sessions, old sign-in failures and old runs
/// (240 × 15 s = 1 h).
const CLEANUP_TICKS: u64 = 240;

/// Start both loops on the current tokio runtime. A failing pass is logged and retried at
/// the next tick; nothing is lost because all state is in the database.
/// With a `retention`, runs older than it are pruned in the hourly clean-up. `cache`: the
/// threshold rules' cache, shared with the rules run after ingest.
pub fn spawn(
    desk: web::Data<Desk>,
    mailer: Mailer,
    retention: Option<chrono::TimeDelta>,
    cache: Arc<MonitorCache>,
) {
    spawn_classifier(desk.clone());
    let delivery_desk = desk.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(DELIVERY_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = crate::services::delivery::deliver_due(&delivery_desk, &mailer).await {
                tracing::warn!(error = %e, "outbox delivery pass failed");
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        let mut tick_count: u64 = 0;
        // The latest prune pass, while it may still be going.
        let mut pruning: Option<tokio::task::JoinHandle<()>> = None;
        loop {
            tick.tick().await;
            let monitor_desk = desk.clone();
            let cache = cache.clone();
            let now = desk.clock.now();
            // Threshold rules first: an incident they open is swept in the same pass.
            // These passes take their own connections, so they are not run with `desk.db`.
            match web::block(move || {
                crate::services::monitor::evaluate(&monitor_desk, &cache, now, None)
            })
            .await
            {
                Ok(Ok(evaluation)) => {
                    for line in evaluation.lines {
                        tracing::info!(%line, "threshold rules");
                    }
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "threshold rule evaluation failed"),
                Err(_) => {}
            }
            if tick_count.is_multiple_of(CLEANUP_TICKS) {
                if let Err(e) = clean_up(&desk).await {
                    tracing::warn!(error = %e, "hourly clean-up failed");
                }
                // A pass still going an hour later is left to finish instead of starting
                // a second one beside it.
                if let Some(retention) = retention
                    && pruning.as_ref().is_none_or(|pass| pass.is_finished())
                {
                    pruning = Some(spawn_prune(desk.clone(), now - retention));
                }
            }
            tick_count += 1;
            let sweep_desk = desk.clone();
            match web::block(move || crate::services::escalation::sweep(&sweep_desk, now)).await {
                Ok(Ok(report)) if report.steps > 0 => {
                    tracing::info!(steps = report.steps, "escalation sweep")
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "escalation sweep failed"),
                _ => {}
            }
        }
    });
}

/// Retrain the classifier when agents' corrections came (in this desk or another on the
/// same database), one pass at a time; training runs on the blocking pool, never on a
/// request's path.
fn spawn_classifier(desk: web::Data<Desk>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CLASSIFIER_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let pass = desk.db(|conn, desk| {
                crate::services::classifier::retrain(conn, &desk.classifier, desk.clock.now())
            });
            match pass.await {
                Ok(Some(done)) => tracing::debug!(?done, "classifier pass"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "classifier retrain failed"),
            }
        }
    });
}

/// Read the mailbox every `every`, one pass at a time (a slow pass delays the next
/// instead of overlapping it). A pass that cannot run is logged and tried again at the
/// next tick; a message it could not take stays in the mailbox for that one.
pub fn spawn_imap_poll(desk: web::Data<Desk>, mailbox: Mailbox, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match crate::services::imap_poll::poll(&desk, &mailbox).await {
                Ok(report) => log_poll(&report),
                Err(e) => tracing::warn!(
                    mailbox = %mailbox.url.describe(),
                    error = %e,
                    "mailbox pass failed"
                ),
            }
        }
    });
}

/// One line for a pass that did something; quiet when the mailbox was empty.
fn log_poll(report: &PollReport) {
    if report.messages.is_empty() {
        return;
    }
    let (left, move_failures) = (report.left(), report.move_failures());
    if left > 0 || move_failures > 0 || report.broke_off.is_some() {
        tracing::warn!(
            mailbox = %report.mailbox,
            taken = report.taken(),
            repeats = report.repeats(),
            not_messages = report.not_messages(),
            left,
            move_failures,
            broke_off = report.broke_off.as_deref().unwrap_or(""),
            "mailbox pass left messages for the next one"
        );
    } else {
        tracing::info!(
            mailbox = %report.mailbox,
            taken = report.taken(),
            repeats = report.repeats(),
            not_messages = report.not_messages(),
            gone = report.gone(),
            waiting = report.waiting - report.messages.len(),
            "mailbox pass"
        );
    }
}

/// What the hourly clean-up removed.
#[derive(Debug, Default)]
pub struct CleanUp {
    pub sessions: usize,
    pub sign_in_throttles: usize,
}

/// The hourly clean-up: expired sessions (the store only ignores them) and sign-in
/// failures too old to count (`domain::sign_in_throttle::FORGET_AFTER`).
pub async fn clean_up(desk: &web::Data<Desk>) -> Result<CleanUp, AppError> {
    desk.db(|conn, desk| {
        let now = desk.clock.now();
        Ok(CleanUp {
            sessions: SessionRow::delete_expired(conn, now)?,
            sign_in_throttles: SignInThrottle::delete_before(conn, now - FORGET_AFTER)?,
        })
    })
    .await
}

/// Prune old runs on a task of its own: a first pass over a long history can take minutes,
/// and the escalation sweeps and threshold rules must not wait for it.
fn spawn_prune(
    desk: web::Data<Desk>,
    cutoff: chrono::NaiveDateTime,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match web::block(move || crate::services::retention::prune(&desk, cutoff)).await {
            Ok(Ok(pruned)) if pruned.runs > 0 => tracing::info!(
                runs = pruned.runs,
                lineage_events = pruned.lineage_events,
                kept = pruned.kept,
                "old runs pruned"
            ),
            Ok(Err(e)) => tracing::warn!(error = %e, "pruning old runs failed"),
            _ => {}
        }
    })
}
