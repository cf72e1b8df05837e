//! Who may do what: account roles and API token scopes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Account roles, each including the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees their own reports.
    Analyst,
    /// Works the queue and tickets.
    Agent,
    /// An agent who also sees the escalation view for their teams.
    Owner,
    /// Everything, plus the admin pages.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Analyst, Role::Agent, Role::Owner, Role::Admin];

    pub fn label(self) -> &'static str {
        match self {
            Role::Analyst => "Analyst",
            Role::Agent => "Agent",
            Role::Owner => "Owner",
            Role::Admin => "Admin",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Agent => "agent",
            Role::Owner => "owner",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == value)
            .ok_or_else(|| {
                format!("unknown role '{value}'; expected analyst, agent, owner or admin")
            })
    }

    /// Does this role include everything `needed` may do?
    pub fn includes(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Post run records and lineage events.
    Ingest,
    /// Read tickets, runs and incidents.
    Read,
    /// Change tickets.
    Write,
    /// Scrape `/metrics`, and nothing else (a Prometheus server needs no ticket data).
    Metrics,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Ingest, Scope::Read, Scope::Write, Scope::Metrics];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Metrics => "metrics",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        Scope::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| {
                format!("unknown scope '{value}'; expected ingest, read, write or metrics")
            })
    }

    /// `ingest,read` → scopes, sorted and without repeats; at least one.
    pub fn parse_list(value: &str) -> Result<Vec<Scope>, String> {
        let mut scopes = value
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(Scope::parse)
            .collect::<Result<Vec<_>, _>>()?;
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err("give at least one scope: ingest, read, write or metrics".into());
        }
        Ok(scopes)
    }

    pub fn join(scopes: &[Scope]) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_the_ones_below() {
        assert!(Role::Admin.includes(Role::Agent));
        assert!(Role::Owner.includes(Role::Agent));
        assert!(!Role::Agent.includes(Role::Owner));
        assert!(!Role::Analyst.includes(Role::Agent));
    }

    #[test]
    fn scope_lists_parse_and_reject() {
        assert_eq!(
            Scope::parse_list("read, ingest,read").unwrap(),
            vec![Scope::Ingest, Scope::Read]
        );
        assert!(Scope::parse_list("").is_err());
        assert!(
            Scope::parse_list("ingest,admin")
                .unwrap_err()
                .contains("admin")
        );
    }
}
