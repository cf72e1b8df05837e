//! `inspect-desk check-config`: what loading cannot see on its own. Loading already
//! refuses unknown teams, bad addresses, bad patterns and durations, missing SLA policies
//! and escalation steps that reach nobody; this adds the whole-model checks (every category
//! routed by a rule, no rule shadowed by an earlier one, every team's work covered by a
//! runbook) and prints the model for people.

use std::fmt::Write as _;

use super::category::Category;
use super::routing::{FALLBACK_RULE, RouteQuery, RoutingRule};
use super::severity::Severity;
use super::support_model::SupportModel;
use super::warehouse::WarehouseType;
use crate::runbooks;

/// Every problem found, one line each; empty when the model is sound.
pub fn problems(model: &SupportModel) -> Vec<String> {
    let mut out = Vec::new();
    let rules = model.router.rules();
    // A report names at least its category; warehouse type, table and severity may be
    // missing. Every category must reach a rule whatever else the report says.
    for category in Category::ALL {
        let warehouses = std::iter::once(None).chain(WarehouseType::ALL.map(Some));
        let unrouted: Vec<String> = warehouses
            .filter(|w| {
                std::iter::once(None)
                    .chain(Severity::ALL.map(Some))
                    .any(|severity| {
                        model
                            .router
                            .route(&RouteQuery {
                                category,
                                warehouse_type: *w,
                                table: None,
                                severity,
                            })
                            .rule
                            == FALLBACK_RULE
                    })
            })
            .map(|w| w.map_or("no warehouse type".to_string(), |w| w.to_string()))
            .collect();
        if !unrouted.is_empty() {
            out.push(format!(
                "category {category} is routed by no rule for {}: those tickets would only reach the fallback team '{}'",
                unrouted.join(", "),
                model.router.fallback()
            ));
        }
    }
    for (i, later) in rules.iter().enumerate() {
        if let Some(earlier) = rules[..i].iter().find(|e| covers(e, later)) {
            out.push(format!(
                "routing rule '{}' is shadowed by the earlier rule '{}': everything it matches, '{}' matches first",
                later.name, earlier.name, earlier.name
            ));
        }
    }
    for team in &model.teams {
        let categories = categories_of(model, &team.key);
        if categories.is_empty() {
            out.push(format!(
                "team '{}' is the target of no routing rule and not the fallback: no ticket reaches it, so no runbook covers its work",
                team.key
            ));
        }
        for category in categories {
            let url = runbooks::for_category(category);
            if !runbook_resolves(url) {
                out.push(format!(
                    "team '{}' works category {category}, whose runbook {url} does not exist",
                    team.key
                ));
            }
        }
    }
    for rule in &model.signals.rules {
        let signal = rule.condition.signal();
        match runbooks::for_signal(signal) {
            Some(url) if runbook_resolves(url) => {}
            _ => out.push(format!(
                "incident rule '{}': signal {signal} has no runbook section",
                rule.name
            )),
        }
    }
    out
}

/// Does `earlier` match every ticket `later` matches?
fn covers(earlier: &RoutingRule, later: &RoutingRule) -> bool {
    fn superset<T: PartialEq>(wide: &[T], narrow: &[T]) -> bool {
        wide.is_empty() || (!narrow.is_empty() && narrow.iter().all(|n| wide.contains(n)))
    }
    let tables = earlier.tables.is_empty()
        || (!later.tables.is_empty()
            && later.tables.iter().all(|(p, _)| {
                earlier
                    .tables
                    .iter()
                    .any(|(q, g)| q.eq_ignore_ascii_case(p) || (q.ends_with('*') && g.is_match(p)))
            }));
    superset(&earlier.categories, &later.categories)
        && superset(&earlier.warehouse_types, &later.warehouse_types)
        && superset(&earlier.severities, &later.severities)
        && tables
}

/// The categories whose tickets some rule (or the fallback) sends to `team`.
fn categories_of(model: &SupportModel, team: &str) -> Vec<Category> {
    Category::ALL
        .into_iter()
        .filter(|c| {
            model
                .router
                .rules()
                .iter()
                .any(|r| r.team == team && (r.categories.is_empty() || r.categories.contains(c)))
                || (model.router.fallback() == team && *c == Category::Other)
        })
        .collect()
}

fn runbook_resolves(url: &str) -> bool {
    let Some(path) = url.strip_prefix("/runbooks/") else {
        return false;
    };
    let (name, fragment) = path.split_once('#').unwrap_or((path, ""));
    runbooks::Runbook::find(name)
        .is_some_and(|r| fragment.is_empty() || r.anchors().iter().any(|a| a == fragment))
}

/// The model, readably: teams and contacts, routing in order, SLA, escalation, incidents.
pub fn describe(model: &SupportModel) -> String {
    let mut out = String::new();
    describe_teams(&mut out, model);
    describe_routing(&mut out, model);
    describe_sla(&mut out, model);
    describe_escalation(&mut out, model);
    describe_incident_rules(&mut out, model);
    out
}

/// A rule's or team's list of values; an empty one matches anything.
fn list_or_any(items: Vec<String>) -> String {
    if items.is_empty() {
        "any".to_string()
    } else {
        items.join(", ")
    }
}

fn describe_teams(out: &mut String, model: &SupportModel) {
    let _ = writeln!(out, "Teams");
    for t in &model.teams {
        let _ = writeln!(out, "  {} ({})", t.key, t.name);
        let _ = writeln!(out, "    queue    {}", t.queue);
        let _ = writeln!(out, "    lead     {}", t.lead);
        if let Some(m) = &t.manager {
            let _ = writeln!(out, "    manager  {m}");
        }
        if let Some(o) = &t.oncall {
            let _ = writeln!(out, "    on call  {o}");
        }
        if !t.members.is_empty() {
            let _ = writeln!(out, "    members  {}", t.members.join(", "));
        }
        let _ = writeln!(
            out,
            "    calendar {}",
            t.calendar
                .as_deref()
                .unwrap_or(super::support_model::ALWAYS)
        );
        let runbooks: Vec<String> = categories_of(model, &t.key)
            .into_iter()
            .map(|c| format!("{c} → {}", runbooks::for_category(c)))
            .collect();
        let _ = writeln!(out, "    runbooks {}", list_or_any(runbooks));
    }
}

fn describe_routing(out: &mut String, model: &SupportModel) {
    let _ = writeln!(out, "\nRouting (first match wins)");
    for (i, r) in model.router.rules().iter().enumerate() {
        let _ = writeln!(
            out,
            "  {}. {} → {}: category {}; warehouse {}; table {}; severity {}",
            i + 1,
            r.name,
            r.team,
            list_or_any(r.categories.iter().map(|c| c.to_string()).collect()),
            list_or_any(r.warehouse_types.iter().map(|w| w.to_string()).collect()),
            list_or_any(r.tables.iter().map(|(p, _)| p.clone()).collect()),
            list_or_any(r.severities.iter().map(|s| s.to_string()).collect()),
        );
    }
    let _ = writeln!(out, "  fallback → {}", model.router.fallback());
}

fn describe_sla(out: &mut String, model: &SupportModel) {
    let _ = writeln!(out, "\nSLA (first response / resolution, calendar)");
    for severity in Severity::ALL {
        let p = model.sla_policy(severity);
        let _ = writeln!(
            out,
            "  {severity}: {} / {}, {}",
            super::signals::describe(p.first_response),
            super::signals::describe(p.resolution),
            p.calendar.as_deref().unwrap_or("the team's calendar")
        );
    }
}

fn describe_escalation(out: &mut String, model: &SupportModel) {
    let _ = writeln!(out, "\nEscalation chain");
    if let Some(ic) = &model.incident_commander {
        let _ = writeln!(out, "  incident commander {ic}");
    }
    if model.drill_recipients.is_empty() {
        let _ = writeln!(
            out,
            "  drill mail: nobody ([drills] recipients); name --recipient"
        );
    } else {
        let _ = writeln!(out, "  drill mail: {}", model.drill_recipients.join(", "));
    }
    for s in &model.escalation {
        let _ = writeln!(
            out,
            "  {}: {:?} → {:?}{}",
            s.name,
            s.trigger,
            s.notify,
            if s.severities.is_empty() {
                String::new()
            } else {
                format!(
                    " (only {})",
                    s.severities
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
    }
}

fn describe_incident_rules(out: &mut String, model: &SupportModel) {
    let _ = writeln!(
        out,
        "\nIncident rules (cool-down {})",
        super::signals::describe(model.signals.cool_down)
    );
    for r in &model.signals.rules {
        let _ = writeln!(
            out,
            "  {} ({}, {}): {:?} → runbook {}",
            r.name,
            r.condition.signal(),
            r.severity,
            r.condition,
            runbooks::for_signal(r.condition.signal()).unwrap_or("-")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/support-model.toml"),
        )
        .unwrap()
    }

    fn problems_of(text: &str) -> Vec<String> {
        problems(&SupportModel::from_toml(text).unwrap())
    }

    #[test]
    fn the_shipped_model_is_sound_and_describes_itself() {
        let model = SupportModel::from_toml(&shipped()).unwrap();
        assert_eq!(problems(&model), Vec::<String>::new());
        let text = describe(&model);
        assert!(
            text.contains("warehouse-connectors (Warehouse Connectors)"),
            "{text}"
        );
        assert!(text.contains("fallback → support"), "{text}");
        assert!(
            text.contains("critical-timeout (critical_timeout, sev1)"),
            "{text}"
        );
    }

    #[test]
    fn a_shadowed_rule_is_named() {
        // A catch-all for failed reports placed before the snowflake raw-zone rule's twin.
        let text = shipped().replacen(
            "[[routing.rules]]",
            "[[routing.rules]]\nname = \"all-failures-first\"\nteam = \"profiler-core\"\ncategory = [\"profiling_failure\", \"stale_profile\"]\n\n[[routing.rules]]",
            1,
        );
        let found = problems_of(&text);
        assert!(
            found.iter().any(|p| p.contains(
                "'snowflake-raw-zone' is shadowed by the earlier rule 'all-failures-first'"
            )),
            "{found:?}"
        );
    }

    #[test]
    fn narrow_rules_do_not_count_as_shadowing() {
        let a = SupportModel::from_toml(&shipped()).unwrap();
        let rules = a.router.rules();
        // snowflake-raw-zone (tables RAW.*) does not cover the catch-all after it.
        assert!(!covers(&rules[0], &rules[1]));
    }

    /// Rows of the first table under `## {section}` in a markdown text, cells trimmed and
    /// stripped of backticks; the header and separator rows skipped.
    fn table(markdown: &str, section: &str) -> Vec<Vec<String>> {
        let start = markdown
            .find(&format!("\n## {section}\n"))
            .unwrap_or_else(|| panic!("support-model.md has no section '{section}'"));
        markdown[start + 1..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("## "))
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .skip(2)
            .map(|l| {
                l.trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().replace('`', ""))
                    .collect()
            })
            .collect()
    }

    fn listed(cell: &str) -> Vec<String> {
        if cell == "any" {
            Vec::new()
        } else {
            cell.split(',').map(|c| c.trim().to_string()).collect()
        }
    }

    /// runbooks/support-model.md mirrors the config: teams, routing rules in order, the
    /// fallback and the SLA targets. Change both together.
    #[test]
    fn support_model_md_matches_the_config() {
        let model = SupportModel::from_toml(&shipped()).unwrap();
        let md = runbooks::Runbook::find("support-model").unwrap().markdown;

        let teams: Vec<Vec<String>> = model
            .teams
            .iter()
            .map(|t| {
                vec![
                    t.key.clone(),
                    t.name.clone(),
                    t.queue.clone(),
                    t.lead.clone(),
                ]
            })
            .collect();
        assert_eq!(table(md, "Teams"), teams, "support-model.md § Teams");

        let rules: Vec<Vec<String>> = model
            .router
            .rules()
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.categories
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    r.warehouse_types
                        .iter()
                        .map(|w| w.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    r.tables
                        .iter()
                        .map(|(p, _)| p.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                    r.team.clone(),
                ]
            })
            .collect();
        let documented: Vec<Vec<String>> = table(md, "Routing rules")
            .into_iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .map(|(i, cell)| {
                        if (1..=3).contains(&i) {
                            listed(cell).join(", ")
                        } else {
                            cell.clone()
                        }
                    })
                    .collect()
            })
            .collect();
        assert_eq!(documented, rules, "support-model.md § Routing rules");
        assert!(
            md.contains(&format!("Fallback team: `{}`", model.router.fallback())),
            "support-model.md names another fallback team"
        );

        let sla: Vec<Vec<String>> = table(md, "SLA policies");
        assert_eq!(
            sla.len(),
            Severity::ALL.len(),
            "support-model.md § SLA policies"
        );
        for row in sla {
            let severity = Severity::parse(&row[0]).unwrap();
            let policy = model.sla_policy(severity);
            let parse = |text: &str| {
                chrono::Duration::from_std(humantime::parse_duration(text).unwrap()).unwrap()
            };
            assert_eq!(
                parse(&row[1]),
                policy.first_response,
                "{severity} first response"
            );
            assert_eq!(parse(&row[2]), policy.resolution, "{severity} resolution");
        }
    }
}
