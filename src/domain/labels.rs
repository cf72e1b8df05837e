//! Every enum people read has a label for every value: words, not slugs. One test walks
//! them all, so a new value cannot reach a page as `wrong_column_type`.

#[cfg(test)]
mod tests {
    use crate::domain::category::{Category, ProblemKind, TypeVerdict};
    use crate::domain::drill::DrillStatus;
    use crate::domain::event::EventKind;
    use crate::domain::outbox::OutboxStatus;
    use crate::domain::role::Role;
    use crate::domain::run::RunStatus;
    use crate::domain::severity::{Impact, Severity};
    use crate::domain::status::{SlaState, Status};
    use crate::domain::warehouse::WarehouseType;
    use crate::domain::window::Window;

    fn check(slug: &str, label: &str) {
        assert!(!label.is_empty(), "{slug} has no label");
        assert!(!label.contains('_'), "{slug}: '{label}' reads like a slug");
        assert!(
            label.chars().next().is_some_and(char::is_uppercase),
            "{slug}: '{label}' starts a sentence"
        );
    }

    #[test]
    fn every_value_has_a_label_in_words() {
        Category::ALL
            .into_iter()
            .for_each(|v| check(v.as_str(), v.label()));
        Category::ALL
            .into_iter()
            .for_each(|c| check(c.as_str(), ProblemKind::Known(c).label()));
        check("unsure", ProblemKind::Unsure.label());
        [TypeVerdict::Confirmed, TypeVerdict::Rejected]
            .into_iter()
            .for_each(|v| check(v.as_str(), v.label()));
        DrillStatus::ALL
            .into_iter()
            .for_each(|v| check(v.as_str(), v.label()));
        EventKind::ALL
            .iter()
            .for_each(|v| check(v.as_str(), v.label()));
        OutboxStatus::ALL
            .into_iter()
            .for_each(|v| check(v.as_str(), v.label()));
        Role::ALL
            .into_iter()
            .for_each(|v| check(v.as_str(), v.label()));
        RunStatus::ALL
            .into_iter()
            .for_each(|v| check(v.as_str(), v.label()));
        Severity::ALL
            .into_iter()
            .for_each(|v| check(v.as_str(), v.label()));
        Impact::ALL
            .into_iter()
            .for_each(|v| check(v.as_str(), v.label()));
        Status::ALL.into_iter().for_each(|v| {
            check(v.as_str(), v.label());
            check(v.as_str(), v.reporter_label());
        });
        SlaState::FILTERABLE
            .into_iter()
            .for_each(|v| check(v.as_str(), v.label()));
        check("stopped", SlaState::Stopped.label());
        WarehouseType::ALL
            .into_iter()
            .for_each(|v| check(v.as_str(), v.label()));
        // Windows are read inside a sentence ("runs in the last hour").
        Window::ALL
            .into_iter()
            .for_each(|v| assert!(!v.label().contains('_') && !v.label().is_empty()));
    }
}
