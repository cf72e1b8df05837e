//! `check-config` and `route`: the support model, read without a database.

use crate::config::Settings;
use crate::domain::category::Category;
use crate::domain::routing::RouteQuery;
use crate::domain::severity::Severity;
use crate::domain::table::TableName;
use crate::domain::warehouse::WarehouseType;

use super::say;

/// `check-config`: print the support model, or fail naming every problem in it.
pub(super) fn check_config(settings: &Settings) -> Result<(), String> {
    let model = settings.load_support_model()?;
    let path = settings.support_model.display();
    let problems = crate::domain::model_check::problems(&model);
    if !problems.is_empty() {
        return Err(format!(
            "support model {path}: {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        ));
    }
    say!(@write, "{}", crate::domain::model_check::describe(&model));
    say!("\nsupport model {path}: OK");
    Ok(())
}

/// `route --category … [--warehouse-type …] [--table …] [--severity …]`: the team a
/// report would go to, the rule that chose it and why.
pub(super) fn route(
    settings: &Settings,
    category: &str,
    warehouse_type: Option<&str>,
    table: Option<&str>,
    severity: Option<&str>,
) -> Result<(), String> {
    let desk_model = settings.load_support_model()?;
    let category = Category::parse(category)?;
    let warehouse_type = warehouse_type.map(WarehouseType::parse).transpose()?;
    let table = table
        .map(|t| TableName::parse(t, warehouse_type))
        .transpose()?;
    let severity = severity.map(Severity::parse).transpose()?;
    let decision = desk_model.router.route(&RouteQuery {
        category,
        warehouse_type,
        table: table.as_ref().map(|t| t.as_str()),
        severity,
    });
    let team = desk_model.team_name(&decision.team);
    say!("team: {} ({team})", decision.team);
    say!("rule: {}", decision.rule);
    say!("why:  {}", decision.reason);
    Ok(())
}
