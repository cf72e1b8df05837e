//! Drills: scripted rehearsals on a live desk. What a drill creates carries its id; real
//! work carries `LIVE`.

/// The `drill` of real tickets, runs and mail.
pub const LIVE: i64 = 0;

/// What a drill's mail subject starts with.
pub const SUBJECT_TAG: &str = "[DRILL]";

/// A drill's subject: tagged once, however often it is re-queued.
pub fn tag_subject(subject: &str) -> String {
    if subject.starts_with(SUBJECT_TAG) {
        subject.to_string()
    } else {
        format!("{SUBJECT_TAG} {subject}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_tagged_once() {
        assert_eq!(tag_subject("INS-4 escalation"), "[DRILL] INS-4 escalation");
        assert_eq!(tag_subject("[DRILL] INS-4"), "[DRILL] INS-4");
    }
}
