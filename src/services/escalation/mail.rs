//! What an escalation email says to each recipient: why they get it, where the ticket
//! stands as of sending, the rule behind the step, and the links to act on.

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::{ACK_LINK_LIFETIME, AckClaim, ack_token_for};
use crate::db::models::ticket::Ticket;
use crate::db::models::user::User;
use crate::domain::escalation::{Clocks, Recipient, Step, standing};
use crate::domain::humanize::{self, Moment};
use crate::domain::support_model::Team;
use crate::domain::text::{cut, first_line};
use crate::email;
use crate::state::Desk;

/// The step that fired, which of its firings, and when.
pub(super) struct Fired<'a> {
    pub(super) step: &'a Step,
    pub(super) key: &'a str,
    pub(super) now: NaiveDateTime,
}

/// The addresses a step notifies on this ticket, each once with the first rule that named
/// it (the reason its email gives); a contact the team lacks is skipped.
pub(super) fn step_recipients<'a>(
    desk: &Desk,
    step: &'a Step,
    team: Option<&Team>,
    assignee: Option<&str>,
) -> Vec<(String, &'a Recipient)> {
    let mut recipients: Vec<(String, &Recipient)> = Vec::new();
    for r in &step.notify {
        let address = match r {
            Recipient::AssigneeOrQueue => assignee
                .map(str::to_string)
                .or_else(|| team.map(|t| t.queue.clone())),
            Recipient::Queue => team.map(|t| t.queue.clone()),
            Recipient::Lead => team.map(|t| t.lead.clone()),
            Recipient::Manager => team.and_then(|t| t.manager.clone()),
            Recipient::OnCall => team.and_then(|t| t.oncall.clone()),
            Recipient::IncidentCommander => desk.model.incident_commander.clone(),
            Recipient::Address(a) => Some(a.clone()),
        };
        if let Some(address) = address
            && !recipients.iter().any(|(a, _)| *a == address)
        {
            recipients.push((address, r));
        }
    }
    recipients.sort_by(|a, b| a.0.cmp(&b.0));
    recipients
}

pub(super) fn clocks_of(ticket: &Ticket) -> Clocks {
    Clocks {
        created_at: ticket.created_at,
        first_response_due: ticket.first_response_due,
        resolution_due: ticket.resolution_due,
        responded: ticket.first_responded_at.is_some(),
    }
}

/// What one recipient's escalation email says: why they get it (their part in the
/// chain), where the ticket stands as of sending, the rule behind the step, and the
/// acknowledge link, which names them so acknowledging can make them the owner.
pub(super) fn escalation_email(
    desk: &Desk,
    ticket: &Ticket,
    team: Option<&Team>,
    assignee: Option<&User>,
    fired: &Fired<'_>,
    (address, recipient): (&str, &Recipient),
    zone: Tz,
) -> email::Escalation {
    let now = fired.now;
    let team_name = team.map_or_else(|| ticket.team.clone(), |t| t.name.clone());
    let headline = headline(fired.step, ticket, &team_name, now);
    let assigned = assignee.is_some_and(|u| u.email.eq_ignore_ascii_case(address));
    let (nth, total) = fired.step.firing_of(fired.key);
    let deadline = |at: NaiveDateTime| {
        let local = zone.from_utc_datetime(&at);
        format!(
            "{} {} · {}",
            Moment::new(at, zone, now).date,
            local.format("%Z"),
            humanize::due(at, now)
        )
    };
    email::Escalation {
        number: ticket.number().to_string(),
        summary: first_line(&ticket.description, 100),
        why: format!("{}; {headline}.", recipient.why(&team_name, assigned)),
        headline,
        step: if total > 1 {
            format!("{} ({nth} of {total})", fired.step.label())
        } else {
            fired.step.label()
        },
        rule: fired.step.rule(),
        severity: ticket.severity.label().to_string(),
        severity_meaning: ticket.severity.meaning().to_string(),
        category: ticket.category.label().to_string(),
        team: team_name,
        status: ticket.status.label().to_string(),
        assignee: assignee.map_or_else(
            || "nobody yet".to_string(),
            |u| u.name.clone().unwrap_or_else(|| u.email.clone()),
        ),
        first_response_due: match ticket.first_responded_at {
            Some(at) => format!("answered {}", Moment::new(at, zone, now).text()),
            None => deadline(ticket.first_response_due),
        },
        resolution_due: deadline(ticket.resolution_due),
        table: ticket
            .table_name
            .clone()
            .unwrap_or_else(|| "not given".into()),
        excerpt: cut(&ticket.description, 300),
        ticket_url: format!("{}/tickets/{}", desk.mail.base_url, ticket.number()),
        runbook_url: format!(
            "{}{}",
            desk.mail.base_url,
            crate::runbooks::for_category(ticket.category)
        ),
        ack_url: format!(
            "{}/ack/{}",
            desk.mail.base_url,
            ack_token_for(
                &desk.signing_key,
                &AckClaim {
                    ticket_id: ticket.id,
                    step: fired.key.to_string(),
                    recipient: Some(address.to_string()),
                },
                now + ACK_LINK_LIFETIME
            )
        ),
    }
}

/// What happened, as of `now`: "first response is overdue by 3 h 18 min" (words that
/// follow the clock at the moment of writing), or "new Sev 1 ticket for Profiler Core".
fn headline(step: &Step, ticket: &Ticket, team: &str, now: NaiveDateTime) -> String {
    standing(step.trigger, &clocks_of(ticket), now)
        .unwrap_or_else(|| format!("new {} ticket for {team}", ticket.severity.label()))
}
