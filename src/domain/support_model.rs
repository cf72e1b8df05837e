//! The support model as code: teams, routing rules, severity and SLA policy, freshness
//! targets. Loaded from `config/support-model.toml`; every problem found names itself.

use chrono::Duration;
use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

use super::calendar::Calendar;
use super::category::Category;
use super::escalation::{Recipient, Step, Trigger};
use super::routing::{Router, RoutingRule};
use super::severity::Severity;
use super::signals::{RawSignalRules, SignalRules};
use super::warehouse::WarehouseType;

/// A team that owns a class of problem.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    pub key: String,
    pub name: String,
    /// Queue address: new-ticket mail goes here.
    pub queue: String,
    /// Team lead, first human in the escalation chain.
    pub lead: String,
    #[serde(default)]
    pub description: String,
    /// Engineering manager: later escalation steps.
    #[serde(default)]
    pub manager: Option<String>,
    /// Who is on call for sev1 pages.
    #[serde(default)]
    pub oncall: Option<String>,
    /// Business calendar for this team's clocks (default `24x7`).
    #[serde(default)]
    pub calendar: Option<String>,
    /// Agents who work this team's queue (emails of desk accounts); auto-assignment picks
    /// among them.
    #[serde(default)]
    pub members: Vec<String>,
}

/// First-response and resolution targets for one severity.
#[derive(Debug, Clone)]
pub struct SlaPolicy {
    pub first_response: Duration,
    pub resolution: Duration,
    /// Calendar the clocks run on; `None`: the team's calendar.
    pub calendar: Option<String>,
}

/// The built-in round-the-clock calendar.
pub const ALWAYS: &str = "24x7";

/// The validated model the app runs on.
#[derive(Debug, Clone)]
pub struct SupportModel {
    pub teams: Vec<Team>,
    pub calendars: BTreeMap<String, Calendar>,
    /// Escalation chain steps, in order.
    pub escalation: Vec<Step>,
    pub incident_commander: Option<String>,
    pub router: Router,
    pub sla: BTreeMap<Severity, SlaPolicy>,
    critical_tables: Vec<(String, GlobMatcher)>,
    default_freshness: Duration,
    freshness: Vec<(GlobMatcher, Duration)>,
    /// Threshold rules that open incidents from run records and reports.
    pub signals: SignalRules,
    /// Where drills' mail goes (instead of the owners and analysts it names).
    pub drill_recipients: Vec<String>,
    /// The zone people read times in when neither their account nor their browser says
    /// (`time_zone`, an IANA name; default UTC).
    pub time_zone: chrono_tz::Tz,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    #[serde(default)]
    time_zone: Option<String>,
    teams: Vec<Team>,
    routing: RawRouting,
    sla: BTreeMap<String, RawSla>,
    #[serde(default)]
    severity: RawSeverity,
    #[serde(default)]
    freshness: RawFreshness,
    #[serde(default)]
    escalation: RawEscalation,
    #[serde(default)]
    calendars: BTreeMap<String, RawCalendar>,
    #[serde(default)]
    incidents: Option<RawSignalRules>,
    #[serde(default)]
    drills: RawDrills,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDrills {
    #[serde(default)]
    recipients: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    timezone: String,
    hours: BTreeMap<String, String>,
    #[serde(default)]
    holidays: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEscalation {
    #[serde(default)]
    incident_commander: Option<String>,
    #[serde(default)]
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    at: String,
    notify: Vec<String>,
    #[serde(default)]
    severity: Vec<String>,
    #[serde(default)]
    teams: Vec<String>,
    #[serde(default)]
    repeat_every: Option<String>,
    #[serde(default)]
    repeat_limit: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouting {
    fallback: String,
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    team: String,
    #[serde(default)]
    category: Vec<String>,
    #[serde(default)]
    warehouse_type: Vec<String>,
    #[serde(default)]
    table: Vec<String>,
    #[serde(default)]
    severity: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSla {
    first_response: String,
    resolution: String,
    #[serde(default)]
    calendar: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSeverity {
    #[serde(default)]
    critical_tables: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFreshness {
    default: String,
    #[serde(default)]
    tables: Vec<RawFreshnessTable>,
}

impl Default for RawFreshness {
    fn default() -> Self {
        RawFreshness {
            default: "24h".into(),
            tables: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFreshnessTable {
    pattern: String,
    target: String,
}

impl SupportModel {
    /// Parse and validate the TOML text of a support model.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let raw: RawModel = toml::from_str(text).map_err(|e| e.to_string())?;
        let team_keys = check_teams(&raw.teams)?;
        let router = build_router(raw.routing, &team_keys)?;
        let sla = build_sla(raw.sla, &raw.calendars)?;
        let critical_tables = raw
            .severity
            .critical_tables
            .iter()
            .map(|p| Ok((p.clone(), table_glob(p, "severity.critical_tables")?)))
            .collect::<Result<_, String>>()?;
        let (default_freshness, freshness) = build_freshness(&raw.freshness)?;
        let calendars = build_calendars(&raw.calendars, &raw.teams)?;
        let escalation = build_steps(&raw.escalation, &raw.teams)?;
        let incident_commander = raw.escalation.incident_commander.clone();
        let signals = match raw.incidents {
            Some(rules) => rules.build(duration)?,
            None => SignalRules::default(),
        };
        let drill_recipients = raw
            .drills
            .recipients
            .iter()
            .map(|r| {
                super::email::EmailAddress::parse(r)
                    .map(|a| a.as_str().to_string())
                    .map_err(|e| format!("drills.recipients: {e}"))
            })
            .collect::<Result<Vec<String>, String>>()?;
        let time_zone = match raw.time_zone.as_deref() {
            None => chrono_tz::Tz::UTC,
            Some(name) => name.parse().map_err(|_| {
                format!(
                    "time_zone: unknown time zone '{name}' (an IANA name such as Europe/Berlin)"
                )
            })?,
        };
        Ok(SupportModel {
            time_zone,
            teams: raw.teams,
            calendars,
            escalation,
            incident_commander,
            router,
            sla,
            critical_tables,
            default_freshness,
            freshness,
            signals,
            drill_recipients,
        })
    }

    /// Keys of the teams an agent (by email) works in.
    pub fn teams_of(&self, email: &str) -> Vec<String> {
        self.teams
            .iter()
            .filter(|t| {
                t.members
                    .iter()
                    .chain(std::iter::once(&t.lead))
                    .any(|m| m.eq_ignore_ascii_case(email))
            })
            .map(|t| t.key.clone())
            .collect()
    }

    /// Keys of the teams a person is on in any part: lead, manager, on-call or member.
    /// Their escalations are theirs to see and acknowledge.
    pub fn teams_involving(&self, email: &str) -> Vec<String> {
        self.teams
            .iter()
            .filter(|t| {
                std::iter::once(&t.lead)
                    .chain(t.manager.iter())
                    .chain(t.oncall.iter())
                    .chain(t.members.iter())
                    .any(|m| m.eq_ignore_ascii_case(email))
            })
            .map(|t| t.key.clone())
            .collect()
    }

    pub fn team(&self, key: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.key == key)
    }

    /// A team as people read it: its display name, else (a team no longer in the model)
    /// its key.
    pub fn team_name<'a>(&'a self, key: &'a str) -> &'a str {
        self.team(key).map_or(key, |t| t.name.as_str())
    }

    pub fn sla_policy(&self, severity: Severity) -> SlaPolicy {
        // from_toml guarantees a policy for every severity.
        self.sla[&severity].clone()
    }

    /// The calendar a ticket's clocks run on: the severity's policy says (sev1 is usually
    /// round the clock), else the team's, else round the clock.
    pub fn calendar_for(&self, team: &str, severity: Severity) -> &Calendar {
        let name = self.sla[&severity]
            .calendar
            .clone()
            .or_else(|| self.team(team).and_then(|t| t.calendar.clone()))
            .unwrap_or_else(|| ALWAYS.to_string());
        self.calendars.get(&name).unwrap_or(&self.calendars[ALWAYS])
    }

    /// The critical-table pattern a table matches, if any.
    pub fn critical_pattern(&self, table: &str) -> Option<&str> {
        self.critical_tables
            .iter()
            .find(|(_, g)| g.is_match(table))
            .map(|(p, _)| p.as_str())
    }

    /// How old a table's last successful profile may be before it counts as stale.
    pub fn freshness_target(&self, table: &str) -> Duration {
        self.freshness
            .iter()
            .find(|(g, _)| g.is_match(table))
            .map(|(_, d)| *d)
            .unwrap_or(self.default_freshness)
    }
}

fn check_teams(teams: &[Team]) -> Result<HashSet<&str>, String> {
    let mut keys = HashSet::new();
    for team in teams {
        if !keys.insert(team.key.as_str()) {
            return Err(format!("team '{}' is defined twice", team.key));
        }
        let contacts = team
            .manager
            .iter()
            .map(|m| ("manager", m))
            .chain(team.oncall.iter().map(|o| ("oncall", o)));
        let members = team.members.iter().map(|m| ("members", m)).chain(contacts);
        for (field, address) in [("queue", &team.queue), ("lead", &team.lead)]
            .into_iter()
            .chain(members)
        {
            super::email::EmailAddress::parse(address)
                .map_err(|e| format!("team '{}' {field}: {e}", team.key))?;
        }
    }
    if keys.is_empty() {
        return Err("no teams are defined".into());
    }
    Ok(keys)
}

/// The routing rules in order and the fallback, every team they name known.
fn build_router(raw: RawRouting, team_keys: &HashSet<&str>) -> Result<Router, String> {
    let mut rules = Vec::with_capacity(raw.rules.len());
    for rule in raw.rules {
        rules.push(build_rule(rule, team_keys)?);
    }
    if !team_keys.contains(raw.fallback.as_str()) {
        return Err(format!(
            "routing.fallback names unknown team '{}'",
            raw.fallback
        ));
    }
    Ok(Router::new(rules, raw.fallback))
}

/// One policy per severity, none missing, each first response due before resolution.
fn build_sla(
    raw: BTreeMap<String, RawSla>,
    calendars: &BTreeMap<String, RawCalendar>,
) -> Result<BTreeMap<Severity, SlaPolicy>, String> {
    let mut sla = BTreeMap::new();
    for (name, policy) in raw {
        let severity = Severity::parse(&name).map_err(|e| format!("sla.{name}: {e}"))?;
        if let Some(c) = &policy.calendar
            && c != ALWAYS
            && !calendars.contains_key(c)
        {
            return Err(format!("sla.{name} names unknown calendar '{c}'"));
        }
        let policy = SlaPolicy {
            calendar: policy.calendar.clone(),
            first_response: duration(
                &policy.first_response,
                &format!("sla.{name}.first_response"),
            )?,
            resolution: duration(&policy.resolution, &format!("sla.{name}.resolution"))?,
        };
        if policy.first_response > policy.resolution {
            return Err(format!(
                "sla.{name}: first_response is longer than resolution"
            ));
        }
        sla.insert(severity, policy);
    }
    if let Some(missing) = Severity::ALL.into_iter().find(|s| !sla.contains_key(s)) {
        return Err(format!(
            "sla.{missing} is missing: every severity needs a policy"
        ));
    }
    Ok(sla)
}

/// The default freshness target and the per-table ones, first match wins.
fn build_freshness(raw: &RawFreshness) -> Result<(Duration, Vec<(GlobMatcher, Duration)>), String> {
    let default = duration(&raw.default, "freshness.default")?;
    let tables = raw
        .tables
        .iter()
        .map(|t| {
            let ctx = format!("freshness.tables '{}'", t.pattern);
            Ok((table_glob(&t.pattern, &ctx)?, duration(&t.target, &ctx)?))
        })
        .collect::<Result<_, String>>()?;
    Ok((default, tables))
}

/// The named calendars plus the built-in round-the-clock one; every team's calendar known.
fn build_calendars(
    raw: &BTreeMap<String, RawCalendar>,
    teams: &[Team],
) -> Result<BTreeMap<String, Calendar>, String> {
    let mut calendars = BTreeMap::new();
    calendars.insert(ALWAYS.to_string(), Calendar::always(ALWAYS));
    for (name, c) in raw {
        let hours: Vec<(String, String)> = c
            .hours
            .iter()
            .map(|(d, h)| (d.clone(), h.clone()))
            .collect();
        calendars.insert(
            name.clone(),
            Calendar::new(name, &c.timezone, &hours, &c.holidays)?,
        );
    }
    for team in teams {
        if let Some(c) = team
            .calendar
            .as_ref()
            .filter(|c| !calendars.contains_key(*c))
        {
            return Err(format!("team '{}' names unknown calendar '{c}'", team.key));
        }
    }
    Ok(calendars)
}

/// Parse the chain and check that every step reaches someone on every team it covers.
fn build_steps(raw: &RawEscalation, teams: &[Team]) -> Result<Vec<Step>, String> {
    if let Some(ic) = &raw.incident_commander {
        super::email::EmailAddress::parse(ic)
            .map_err(|e| format!("escalation.incident_commander: {e}"))?;
    }
    let mut names = HashSet::new();
    let mut steps = Vec::new();
    for r in &raw.steps {
        let ctx = format!("escalation step '{}'", r.name);
        if !names.insert(r.name.as_str()) || r.name.contains('#') {
            return Err(format!("{ctx}: names must be unique and without '#'"));
        }
        let trigger = Trigger::parse(&r.at).map_err(|e| format!("{ctx}: {e}"))?;
        let notify = r
            .notify
            .iter()
            .map(|n| Recipient::parse(n).map_err(|e| format!("{ctx}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        if notify.is_empty() {
            return Err(format!("{ctx} notifies nobody"));
        }
        let severities = r
            .severity
            .iter()
            .map(|s| Severity::parse(s).map_err(|e| format!("{ctx}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        for team in &r.teams {
            if !teams.iter().any(|t| &t.key == team) {
                return Err(format!("{ctx} names unknown team '{team}'"));
            }
        }
        let repeat_every = r
            .repeat_every
            .as_deref()
            .map(|d| duration(d, &format!("{ctx} repeat_every")))
            .transpose()?;
        for team in teams
            .iter()
            .filter(|t| r.teams.is_empty() || r.teams.contains(&t.key))
        {
            for recipient in &notify {
                let reachable = match recipient {
                    Recipient::Manager => team.manager.is_some(),
                    Recipient::OnCall => team.oncall.is_some(),
                    Recipient::IncidentCommander => raw.incident_commander.is_some(),
                    _ => true,
                };
                if !reachable {
                    return Err(format!(
                        "{ctx} notifies {recipient:?}, but team '{}' has no such contact",
                        team.key
                    ));
                }
            }
        }
        steps.push(Step {
            name: r.name.clone(),
            trigger,
            notify,
            severities,
            teams: r.teams.clone(),
            repeat_every,
            repeat_limit: r.repeat_limit,
        });
    }
    Ok(steps)
}

fn build_rule(raw: RawRule, team_keys: &HashSet<&str>) -> Result<RoutingRule, String> {
    let ctx = format!("routing rule '{}'", raw.name);
    if !team_keys.contains(raw.team.as_str()) {
        return Err(format!("{ctx} routes to unknown team '{}'", raw.team));
    }
    let categories = raw
        .category
        .iter()
        .map(|c| Category::parse(c).map_err(|e| format!("{ctx}: {e}")))
        .collect::<Result<_, _>>()?;
    let warehouse_types = raw
        .warehouse_type
        .iter()
        .map(|w| WarehouseType::parse(w).map_err(|e| format!("{ctx}: {e}")))
        .collect::<Result<_, _>>()?;
    let severities = raw
        .severity
        .iter()
        .map(|s| Severity::parse(s).map_err(|e| format!("{ctx}: {e}")))
        .collect::<Result<_, _>>()?;
    let tables = raw
        .table
        .iter()
        .map(|p| Ok((p.clone(), table_glob(p, &ctx)?)))
        .collect::<Result<_, String>>()?;
    Ok(RoutingRule {
        name: raw.name,
        team: raw.team,
        categories,
        warehouse_types,
        tables,
        severities,
    })
}

/// Table globs are case-insensitive: Snowflake upper-cases names, analysts do not.
fn table_glob(pattern: &str, ctx: &str) -> Result<GlobMatcher, String> {
    globset::GlobBuilder::new(pattern)
        .case_insensitive(true)
        .literal_separator(false)
        .build()
        .map(|g: Glob| g.compile_matcher())
        .map_err(|e| format!("{ctx}: bad table pattern '{pattern}': {e}"))
}

fn duration(text: &str, ctx: &str) -> Result<Duration, String> {
    let std = humantime::parse_duration(text).map_err(|e| format!("{ctx}: '{text}': {e}"))?;
    Duration::from_std(std).map_err(|e| format!("{ctx}: '{text}': {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../config/support-model.toml");

    #[test]
    fn shipped_model_is_valid() {
        let model = SupportModel::from_toml(SHIPPED).expect("shipped support model");
        assert!(model.team(model.router.fallback()).is_some());
    }

    #[test]
    fn unknown_team_in_rule_is_named() {
        let broken = SHIPPED.replacen("team = \"reports\"", "team = \"nobody\"", 1);
        let err = SupportModel::from_toml(&broken).unwrap_err();
        assert!(err.contains("unknown team 'nobody'"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let broken = format!("{SHIPPED}\n[surprise]\nx = 1\n");
        assert!(
            SupportModel::from_toml(&broken)
                .unwrap_err()
                .contains("surprise")
        );
    }
}
