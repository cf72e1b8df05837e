//! Every enum people read has a label for every value: words, not slugs. One test walks
//! them all, so a new value cannot reach a page as `wrong_column_type`.

use crate::domain::category::Category;
use crate::domain::run::RunStatus;
use crate::domain::severity::Severity;
use crate::domain::status::Status;

/// A line the desk wrote into its own records ("status new → in_progress", "rerouted
/// semantic-types → …") as people read it: every slug in it (statuses, categories,
/// severities, and the keys `name_of` knows, such as team keys) becomes its label. Plain
/// words are left alone, so only slugs that cannot be words (`in_progress`, `sev1`,
/// `semantic-types`) are replaced.
pub fn in_words(text: &str, name_of: impl Fn(&str) -> Option<String>) -> String {
    let label = |word: &str| -> Option<String> {
        if let Ok(s) = Status::parse(word) {
            return word.contains('_').then(|| s.label().to_string());
        }
        if let Ok(c) = Category::parse(word) {
            return word.contains('_').then(|| c.label().to_string());
        }
        if let Ok(s) = Severity::parse(word) {
            return Some(s.label().to_string());
        }
        if let Ok(s) = RunStatus::parse(word) {
            return word.contains('_').then(|| s.label().to_string());
        }
        name_of(word).filter(|_| word.contains(['_', '-']))
    };
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    // A word inside an email address ("semantic-types@…") is part of the address.
    let flush = |word: &mut String, out: &mut String, next: Option<char>| {
        if !word.is_empty() {
            let in_address = next == Some('@') || out.ends_with('@');
            match label(word).filter(|_| !in_address) {
                Some(label) => out.push_str(&label),
                None => out.push_str(word),
            }
            word.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            word.push(c);
        } else {
            flush(&mut word, &mut out, Some(c));
            out.push(c);
        }
    }
    flush(&mut word, &mut out, None);
    out
}

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

    #[test]
    fn records_read_in_words() {
        let teams = |key: &str| (key == "semantic-types").then(|| "Semantic Types".to_string());
        assert_eq!(
            super::in_words("status new → in_progress by dana", teams),
            "status new → In progress by dana"
        );
        assert_eq!(
            super::in_words(
                "reclassified stale_profile → wrong_column_type; sev2",
                teams
            ),
            "reclassified Stale profile → Wrong column type; Sev 2"
        );
        assert_eq!(
            super::in_words("latest run timed_out", teams),
            "latest run Timed out"
        );
        assert_eq!(
            super::in_words("fallback team 'semantic-types'", teams),
            "fallback team 'Semantic Types'"
        );
        assert_eq!(super::in_words("a new report", teams), "a new report");
        assert_eq!(
            super::in_words("sent to semantic-types@inspect.example", teams),
            "sent to semantic-types@inspect.example"
        );
    }
}
