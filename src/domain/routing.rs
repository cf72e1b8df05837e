//! Ordered routing rules: the first rule that matches a report picks its team.

use globset::GlobMatcher;

use super::category::Category;
use super::severity::Severity;
use super::warehouse::WarehouseType;

/// One rule. An empty list matches anything for that field.
#[derive(Debug, Clone)]
pub struct RoutingRule {
    pub name: String,
    pub team: String,
    pub categories: Vec<Category>,
    pub warehouse_types: Vec<WarehouseType>,
    pub tables: Vec<(String, GlobMatcher)>,
    pub severities: Vec<Severity>,
}

/// What routing looks at.
#[derive(Debug, Clone, Copy)]
pub struct RouteQuery<'a> {
    pub category: Category,
    pub warehouse_type: Option<WarehouseType>,
    pub table: Option<&'a str>,
    pub severity: Option<Severity>,
}

/// The team picked, the rule that picked it (or `fallback`) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteDecision {
    pub team: String,
    pub rule: String,
    pub reason: String,
}

/// Rule name stored when no rule matched.
pub const FALLBACK_RULE: &str = "fallback";

#[derive(Debug, Clone)]
pub struct Router {
    rules: Vec<RoutingRule>,
    fallback: String,
}

impl Router {
    pub fn new(rules: Vec<RoutingRule>, fallback: String) -> Self {
        Router { rules, fallback }
    }

    pub fn rules(&self) -> &[RoutingRule] {
        &self.rules
    }

    pub fn fallback(&self) -> &str {
        &self.fallback
    }

    pub fn route(&self, query: &RouteQuery<'_>) -> RouteDecision {
        for rule in &self.rules {
            if let Some(matched) = rule.explain_match(query) {
                return RouteDecision {
                    team: rule.team.clone(),
                    rule: rule.name.clone(),
                    reason: format!("rule '{}' matched: {}", rule.name, matched.join(", ")),
                };
            }
        }
        RouteDecision {
            team: self.fallback.clone(),
            rule: FALLBACK_RULE.into(),
            reason: format!("no routing rule matched; fallback team '{}'", self.fallback),
        }
    }
}

impl RoutingRule {
    /// The conditions that matched, or `None` when any condition fails.
    fn explain_match(&self, q: &RouteQuery<'_>) -> Option<Vec<String>> {
        let mut why = Vec::new();
        if !self.categories.is_empty() {
            self.categories.contains(&q.category).then_some(())?;
            why.push(format!("category {}", q.category));
        }
        if !self.warehouse_types.is_empty() {
            let w = q
                .warehouse_type
                .filter(|w| self.warehouse_types.contains(w))?;
            why.push(format!("warehouse type {w}"));
        }
        if !self.tables.is_empty() {
            let table = q.table?;
            let (pattern, _) = self.tables.iter().find(|(_, g)| g.is_match(table))?;
            why.push(format!("table {table} ~ {pattern}"));
        }
        if !self.severities.is_empty() {
            let s = q.severity.filter(|s| self.severities.contains(s))?;
            why.push(format!("severity {s}"));
        }
        if why.is_empty() {
            why.push("matches every report".into());
        }
        Some(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, team: &str, categories: Vec<Category>, tables: &[&str]) -> RoutingRule {
        RoutingRule {
            name: name.into(),
            team: team.into(),
            categories,
            warehouse_types: vec![],
            tables: tables
                .iter()
                .map(|p| {
                    (
                        p.to_string(),
                        globset::Glob::new(p).unwrap().compile_matcher(),
                    )
                })
                .collect(),
            severities: vec![],
        }
    }

    fn query(category: Category, table: Option<&str>) -> RouteQuery<'_> {
        RouteQuery {
            category,
            warehouse_type: None,
            table,
            severity: None,
        }
    }

    #[test]
    fn first_match_wins_and_explains_itself() {
        let router = Router::new(
            vec![
                rule(
                    "finance",
                    "fin",
                    vec![Category::StaleProfile],
                    &["*.finance.*"],
                ),
                rule("stale", "core", vec![Category::StaleProfile], &[]),
            ],
            "support".into(),
        );
        let d = router.route(&query(Category::StaleProfile, Some("dw.finance.invoices")));
        assert_eq!((d.team.as_str(), d.rule.as_str()), ("fin", "finance"));
        assert!(
            d.reason.contains("dw.finance.invoices ~ *.finance.*"),
            "{}",
            d.reason
        );
        let d = router.route(&query(Category::StaleProfile, Some("dw.hr.people")));
        assert_eq!(d.rule, "stale");
    }

    #[test]
    fn a_table_rule_does_not_match_a_report_without_a_table() {
        let router = Router::new(vec![rule("t", "x", vec![], &["*.*.*"])], "support".into());
        let d = router.route(&query(Category::Other, None));
        assert_eq!(
            (d.team.as_str(), d.rule.as_str()),
            ("support", FALLBACK_RULE)
        );
    }
}
