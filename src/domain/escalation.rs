//! Escalation chains: when each step fires for a ticket, and whom it notifies.

use chrono::{Duration, NaiveDateTime};

use super::severity::Severity;

/// Which clock a step watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    FirstResponse,
    Resolution,
}

/// When a step fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// As the ticket is filed.
    Created,
    /// At this share (0–100) of the way to the deadline.
    Percent(u8, Clock),
    /// This long after the deadline passes.
    Breach(Clock, Duration),
}

impl Trigger {
    /// `created`, `75% first_response`, `breach resolution`, `breach first_response + 1h`.
    pub fn parse(text: &str) -> Result<Trigger, String> {
        let text = text.trim();
        let clock = |name: &str| match name.trim() {
            "first_response" => Ok(Clock::FirstResponse),
            "resolution" => Ok(Clock::Resolution),
            other => Err(format!(
                "unknown clock '{other}'; expected first_response or resolution"
            )),
        };
        if text == "created" {
            return Ok(Trigger::Created);
        }
        if let Some(rest) = text.strip_prefix("breach ") {
            let (name, after) = rest.split_once('+').unwrap_or((rest, ""));
            let after = if after.trim().is_empty() {
                Duration::zero()
            } else {
                let d = humantime::parse_duration(after.trim())
                    .map_err(|e| format!("'{after}': {e}"))?;
                Duration::from_std(d).map_err(|e| e.to_string())?
            };
            return Ok(Trigger::Breach(clock(name)?, after));
        }
        if let Some((percent, name)) = text.split_once("% ") {
            let p: u8 = percent
                .trim()
                .parse()
                .ok()
                .filter(|p| (1..=100).contains(p))
                .ok_or_else(|| format!("'{percent}%' is not 1% to 100%"))?;
            return Ok(Trigger::Percent(p, clock(name)?));
        }
        Err(format!(
            "'{text}' is not a trigger; write created, 75% first_response, breach resolution or breach first_response + 1h"
        ))
    }

    pub fn clock(self) -> Option<Clock> {
        match self {
            Trigger::Created => None,
            Trigger::Percent(_, c) | Trigger::Breach(c, _) => Some(c),
        }
    }
}

/// Who a step notifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// The assignee, or the team queue when nobody is assigned.
    AssigneeOrQueue,
    Queue,
    Lead,
    Manager,
    OnCall,
    IncidentCommander,
    Address(String),
}

impl Recipient {
    pub fn parse(text: &str) -> Result<Recipient, String> {
        Ok(match text {
            "assignee_or_queue" => Recipient::AssigneeOrQueue,
            "queue" => Recipient::Queue,
            "lead" => Recipient::Lead,
            "manager" => Recipient::Manager,
            "oncall" => Recipient::OnCall,
            "incident_commander" => Recipient::IncidentCommander,
            other => Recipient::Address(super::email::EmailAddress::parse(other).map_err(|_| {
                format!("'{other}' is neither a role (assignee_or_queue, queue, lead, manager, oncall, incident_commander) nor an email address")
            })?.as_str().to_string()),
        })
    }
}

/// One step of the chain.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub trigger: Trigger,
    pub notify: Vec<Recipient>,
    /// Empty: every severity.
    pub severities: Vec<Severity>,
    /// Empty: every team.
    pub teams: Vec<String>,
    pub repeat_every: Option<Duration>,
    pub repeat_limit: u32,
}

/// The times a ticket's clocks run on.
#[derive(Debug, Clone, Copy)]
pub struct Clocks {
    pub created_at: NaiveDateTime,
    pub first_response_due: NaiveDateTime,
    pub resolution_due: NaiveDateTime,
    pub responded: bool,
}

/// One firing of a step: its key (unique per ticket) and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub key: String,
    pub step: usize,
    pub at: NaiveDateTime,
}

impl Step {
    pub fn applies(&self, severity: Severity, team: &str) -> bool {
        (self.severities.is_empty() || self.severities.contains(&severity))
            && (self.teams.is_empty() || self.teams.iter().any(|t| t == team))
    }

    /// When this step (and its repeats) fire for a ticket; nothing for a first-response
    /// step once someone has responded.
    pub fn firings(&self, index: usize, clocks: &Clocks) -> Vec<Firing> {
        if self.trigger.clock() == Some(Clock::FirstResponse) && clocks.responded {
            return Vec::new();
        }
        let due = |c: Clock| match c {
            Clock::FirstResponse => clocks.first_response_due,
            Clock::Resolution => clocks.resolution_due,
        };
        let first = match self.trigger {
            Trigger::Created => clocks.created_at,
            Trigger::Percent(p, c) => {
                clocks.created_at + (due(c) - clocks.created_at) * i32::from(p) / 100
            }
            Trigger::Breach(c, after) => due(c) + after,
        };
        let repeats = self.repeat_every.map_or(0, |_| self.repeat_limit);
        (0..=repeats)
            .map(|k| Firing {
                key: if k == 0 {
                    self.name.clone()
                } else {
                    format!("{}#{}", self.name, k + 1)
                },
                step: index,
                at: first + self.repeat_every.unwrap_or_else(Duration::zero) * k as i32,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::at;

    #[test]
    fn triggers_parse_and_refuse() {
        assert_eq!(Trigger::parse("created"), Ok(Trigger::Created));
        assert_eq!(
            Trigger::parse("75% first_response"),
            Ok(Trigger::Percent(75, Clock::FirstResponse))
        );
        assert_eq!(
            Trigger::parse("breach resolution"),
            Ok(Trigger::Breach(Clock::Resolution, Duration::zero()))
        );
        assert_eq!(
            Trigger::parse("breach first_response + 1h"),
            Ok(Trigger::Breach(Clock::FirstResponse, Duration::hours(1)))
        );
        assert!(Trigger::parse("150% resolution").is_err());
        assert!(Trigger::parse("soon").is_err());
    }

    #[test]
    fn firings_follow_the_clocks_and_repeat() {
        let clocks = Clocks {
            created_at: at("2026-11-26 10:00"),
            first_response_due: at("2026-11-26 18:00"),
            resolution_due: at("2026-11-29 10:00"),
            responded: false,
        };
        let step = Step {
            name: "manager".into(),
            trigger: Trigger::parse("breach first_response + 1h").unwrap(),
            notify: vec![Recipient::Manager],
            severities: vec![],
            teams: vec![],
            repeat_every: Some(Duration::hours(1)),
            repeat_limit: 2,
        };
        let f = step.firings(0, &clocks);
        assert_eq!(
            f.iter().map(|f| f.key.as_str()).collect::<Vec<_>>(),
            ["manager", "manager#2", "manager#3"]
        );
        assert_eq!(f[0].at, at("2026-11-26 19:00"));
        assert_eq!(f[2].at, at("2026-11-26 21:00"));
        let reminder = Step {
            name: "r".into(),
            trigger: Trigger::parse("75% first_response").unwrap(),
            repeat_every: None,
            ..step
        };
        assert_eq!(reminder.firings(1, &clocks)[0].at, at("2026-11-26 16:00"));
        assert!(
            reminder
                .firings(
                    1,
                    &Clocks {
                        responded: true,
                        ..clocks
                    }
                )
                .is_empty()
        );
    }
}
