//! A ticket escalates while SMTP is down; nothing is lost or sent twice.

use super::*;
use crate::email::transport::Mailer;

const WAREHOUSE: WarehouseType = WarehouseType::Redshift;

pub fn smtp_down_during_escalation(r: &mut Rehearsal<'_>) {
    let table = r.table(WAREHOUSE, "finance.invoices");
    let mut ticket_id = 0;
    r.step("a blocking report is filed", |r| {
        file_blocking_report(r, &table, &mut ticket_id)
    });
    let dead_mailer = match refused_mailer() {
        Ok(m) => m,
        Err(e) => {
            r.step("SMTP goes down", |_| Err(e));
            return;
        }
    };
    let mut queued = 0;
    r.step(
        "the SLA passes while SMTP is down: every attempt fails and is kept",
        |r| escalates_while_down(r, ticket_id, &dead_mailer, &mut queued),
    );
    r.step("another sweep during the outage doubles nothing", |r| {
        sweep_doubles_nothing(r, ticket_id, queued)
    });
    r.step(
        "SMTP returns: each message is delivered exactly once",
        |r| delivered_exactly_once(r, queued),
    );
    r.step("the owner acknowledges", |r| {
        let ticket = r.ticket(ticket_id)?;
        acknowledge(r, &ticket)
    });
}

/// A report that blocks month-end close; its id goes to `ticket_id`.
fn file_blocking_report(
    r: &mut Rehearsal<'_>,
    table: &TableName,
    ticket_id: &mut i64,
) -> StepResult {
    let t = r.report(RawReport {
        reporter_email: Some(r.analyst(1)),
        kind: Some("profiling_failure".into()),
        warehouse_type: Some(WAREHOUSE.as_str().into()),
        table: Some(table.as_str().into()),
        impact: Some("blocked".into()),
        description: Some(
            "Profiling of invoices fails with a connection error; month-end close is blocked."
                .into(),
        ),
        ..RawReport::default()
    })?;
    *ticket_id = t.id;
    Ok(format!(
        "{}: {} {}, owned by {}, first response due {}",
        t.number(),
        t.severity,
        t.category,
        t.team,
        crate::clock::rfc3339(t.first_response_due)
    ))
}

/// A mailer whose SMTP server refuses every connection.
fn refused_mailer() -> Result<Mailer, String> {
    // Nothing listens on a port we just had and let go: every connection is refused.
    let down = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port());
    down.map_err(|e| e.to_string()).and_then(|port| {
        Mailer::new(
            Some(&format!("smtp://127.0.0.1:{port}")),
            std::path::Path::new("."),
        )
    })
}

/// The ticket breaches and escalates; delivering through `dead_mailer` fails every message
/// once and keeps it for a retry. How many were queued goes to `queued`.
fn escalates_while_down(
    r: &mut Rehearsal<'_>,
    ticket_id: i64,
    dead_mailer: &Mailer,
    queued: &mut usize,
) -> StepResult {
    let ticket = r.ticket(ticket_id)?;
    let swept = breach_and_sweep(r, &ticket)?;
    let delivered = r.deliver(Some(dead_mailer))?;
    let mail = r.mail()?;
    *queued = mail.len();
    let queued = *queued;
    let kept = mail
        .iter()
        .filter(|m| m.status == OutboxStatus::Pending && m.attempts == 1 && m.last_error.is_some())
        .count();
    let retry_at = mail.iter().map(|m| m.next_attempt_at).min();
    check(
        delivered.sent == 0 && delivered.failed == queued && kept == queued && queued > 0,
        format!(
            "{swept}\n{queued} message(s) queued; {} attempt(s) failed, {kept} kept for retry (next at {}); first error: {}",
            delivered.failed,
            retry_at.map_or("-".into(), crate::clock::rfc3339),
            mail.first()
                .and_then(|m| m.last_error.clone())
                .unwrap_or_default()
        ),
    )
}

/// A sweep a minute later records no step again and queues no message again.
fn sweep_doubles_nothing(r: &mut Rehearsal<'_>, ticket_id: i64, queued: usize) -> StepResult {
    let steps_before = TicketEscalation::for_ticket(&mut r.conn, ticket_id)
        .map_err(|e| e.to_string())?
        .len();
    r.advance(TimeDelta::minutes(1));
    crate::services::escalation::sweep(r.desk, r.now()).map_err(|e| e.to_string())?;
    let steps_after = TicketEscalation::for_ticket(&mut r.conn, ticket_id)
        .map_err(|e| e.to_string())?
        .len();
    let now_queued = r.mail()?.len();
    check(
        steps_after == steps_before && now_queued == queued,
        format!(
            "escalation steps {steps_before} → {steps_after}; messages {queued} → {now_queued}"
        ),
    )
}

/// Past the retry's backoff every kept message goes, once, under its own Message-ID; a
/// second pass sends nothing.
fn delivered_exactly_once(r: &mut Rehearsal<'_>, queued: usize) -> StepResult {
    r.advance(crate::services::delivery::backoff(1) + TimeDelta::seconds(1));
    let delivered = r.deliver(None)?;
    let again = r.deliver(None)?;
    let mail = r.mail()?;
    let mut ids: Vec<&str> = mail.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let sent = mail
        .iter()
        .filter(|m| m.status == OutboxStatus::Sent)
        .count();
    let confined = r.check_mail_confined()?;
    check(
        delivered.sent == queued && again.sent == 0 && sent == queued && ids.len() == queued,
        format!(
            "{} sent on the retry, {} on a second pass; {sent} of {queued} messages sent, {} distinct Message-IDs; all {confined} to drill recipients",
            delivered.sent,
            again.sent,
            ids.len()
        ),
    )
}
