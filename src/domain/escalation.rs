//! Escalation chains: when each step fires for a ticket, and whom it notifies.

use chrono::{Duration, NaiveDateTime};

use super::humanize;
use super::severity::Severity;

/// Which clock a step watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    FirstResponse,
    Resolution,
}

impl Clock {
    /// The deadline as a sentence names it: "first response", "resolution".
    pub fn label(self) -> &'static str {
        match self {
            Clock::FirstResponse => "first response",
            Clock::Resolution => "resolution",
        }
    }
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

    /// When it fires, in words: "when the ticket is filed", "75% of the way to the first
    /// response deadline", "when first response is overdue", "1 h after first response
    /// is overdue".
    pub fn describe(self) -> String {
        match self {
            Trigger::Created => "when the ticket is filed".into(),
            Trigger::Percent(p, c) => format!("{p}% of the way to the {} deadline", c.label()),
            Trigger::Breach(c, after) if after.is_zero() => {
                format!("when {} is overdue", c.label())
            }
            Trigger::Breach(c, after) => format!(
                "{} after {} is overdue",
                humanize::duration(after),
                c.label()
            ),
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

impl Recipient {
    /// Whom the rule names, in words: "the team lead", "the team's queue".
    pub fn label(&self) -> String {
        match self {
            Recipient::AssigneeOrQueue => "the assignee (else the team's queue)".into(),
            Recipient::Queue => "the team's queue".into(),
            Recipient::Lead => "the team lead".into(),
            Recipient::Manager => "the team's manager".into(),
            Recipient::OnCall => "the team's on-call".into(),
            Recipient::IncidentCommander => "the incident commander".into(),
            Recipient::Address(a) => a.clone(),
        }
    }

    /// Why the person this recipient resolved to gets the email, for `team` (its display
    /// name): "You lead Semantic Types". `assigned`: the ticket is assigned to them.
    pub fn why(&self, team: &str, assigned: bool) -> String {
        match self {
            Recipient::AssigneeOrQueue if assigned => "The ticket is assigned to you".into(),
            Recipient::AssigneeOrQueue | Recipient::Queue => {
                format!("You receive the queue of {team}")
            }
            Recipient::Lead => format!("You lead {team}"),
            Recipient::Manager => format!("You manage {team}"),
            Recipient::OnCall => format!("You are on call for {team}"),
            Recipient::IncidentCommander => "You are the incident commander".into(),
            Recipient::Address(_) => "The escalation policy copies you".into(),
        }
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

    /// The step's name as people read it: "first-response-breach" is "First response
    /// breach".
    pub fn label(&self) -> String {
        let spaced = self.name.replace(['-', '_'], " ");
        let mut chars = spaced.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }

    /// The rule behind the step, in words: "1 h after first response is overdue, then
    /// every 2 h up to 2 more times, it notifies the team's manager".
    pub fn rule(&self) -> String {
        let repeats = match self.repeat_every {
            Some(every) if self.repeat_limit > 0 => format!(
                ", then every {} up to {} more time{}",
                humanize::duration(every),
                self.repeat_limit,
                if self.repeat_limit == 1 { "" } else { "s" }
            ),
            _ => String::new(),
        };
        let whom: Vec<String> = self.notify.iter().map(Recipient::label).collect();
        let mut rule = format!(
            "{}{repeats}, it notifies {}",
            self.trigger.describe(),
            whom.join(" and ")
        );
        if let Some(first) = rule.get(..1) {
            rule = first.to_uppercase() + &rule[1..];
        }
        rule
    }

    /// Which firing of this step a key names, and of how many: the step's own key is
    /// the first; `name#3` the third.
    pub fn firing_of(&self, key: &str) -> (u32, u32) {
        let nth = key
            .rsplit_once('#')
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or(1);
        let total = 1 + self.repeat_every.map_or(0, |_| self.repeat_limit);
        (nth, total)
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

/// Where a ticket stands on the clock a trigger watches, as of `now` (the moment of
/// writing): "first response is due in 1 h 55 min" before the deadline, "first response
/// is overdue by 3 h 18 min" after it. `None` for a step that watches no clock.
pub fn standing(trigger: Trigger, clocks: &Clocks, now: NaiveDateTime) -> Option<String> {
    let clock = trigger.clock()?;
    let deadline = match clock {
        Clock::FirstResponse => clocks.first_response_due,
        Clock::Resolution => clocks.resolution_due,
    };
    Some(format!(
        "{} is {}",
        clock.label(),
        humanize::due(deadline, now)
    ))
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

    fn plain(s: &str) -> String {
        s.replace(humanize::NBSP, " ")
    }

    #[test]
    fn standing_follows_the_clock_at_writing() {
        let clocks = Clocks {
            created_at: at("2026-12-08 00:00"),
            first_response_due: at("2026-12-08 08:00"),
            resolution_due: at("2026-12-11 00:00"),
            responded: false,
        };
        let reminder = Trigger::parse("75% first_response").unwrap();
        assert_eq!(
            plain(&standing(reminder, &clocks, at("2026-12-08 05:50")).unwrap()),
            "first response is due in 2 h 10 min"
        );
        // The same reminder sent late (after quiet hours) says what is true when sent.
        assert_eq!(
            plain(&standing(reminder, &clocks, at("2026-12-08 11:18")).unwrap()),
            "first response is overdue by 3 h 18 min"
        );
        let breach = Trigger::parse("breach resolution").unwrap();
        assert_eq!(
            plain(&standing(breach, &clocks, at("2026-12-11 01:00")).unwrap()),
            "resolution is overdue by 1 h"
        );
        assert_eq!(
            standing(Trigger::Created, &clocks, at("2026-12-08 01:00")),
            None
        );
    }

    #[test]
    fn steps_say_their_rule_in_words() {
        let step = Step {
            name: "first-response-manager".into(),
            trigger: Trigger::parse("breach first_response + 1h").unwrap(),
            notify: vec![Recipient::Manager],
            severities: vec![],
            teams: vec![],
            repeat_every: Some(Duration::hours(2)),
            repeat_limit: 2,
        };
        assert_eq!(step.label(), "First response manager");
        assert_eq!(
            plain(&step.rule()),
            "1 h after first response is overdue, then every 2 h up to 2 more times, it notifies the team's manager"
        );
        assert_eq!(step.firing_of("first-response-manager"), (1, 3));
        assert_eq!(step.firing_of("first-response-manager#2"), (2, 3));
        assert_eq!(
            Recipient::Lead.why("Semantic Types", false),
            "You lead Semantic Types"
        );
        assert_eq!(
            Recipient::AssigneeOrQueue.why("Semantic Types", true),
            "The ticket is assigned to you"
        );
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
