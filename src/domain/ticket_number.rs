//! Ticket numbers as people write them: `INS-1042`. One type, one parser.

use std::fmt;

/// What every ticket number starts with.
pub const PREFIX: &str = "INS-";

/// The human number of a ticket (its id behind the prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketNumber(i64);

impl TicketNumber {
    /// The number of the ticket with this id.
    pub fn of(id: i64) -> Self {
        TicketNumber(id)
    }

    /// `INS-1042` (any case, spaces around it ignored), or the bare `1042`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let digits = match text.get(..PREFIX.len()) {
            Some(prefix) if prefix.eq_ignore_ascii_case(PREFIX) => &text[PREFIX.len()..],
            _ => text,
        };
        match digits.parse::<i64>() {
            Ok(id) if id > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(TicketNumber(id)),
            _ => Err(format!(
                "'{text}' is not a ticket number; they look like {PREFIX}1042"
            )),
        }
    }

    /// The ticket's id.
    pub fn id(self) -> i64 {
        self.0
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", self.0)
    }
}

impl PartialEq<str> for TicketNumber {
    fn eq(&self, other: &str) -> bool {
        TicketNumber::parse(other).is_ok_and(|n| n == *self)
    }
}

impl PartialEq<String> for TicketNumber {
    fn eq(&self, other: &String) -> bool {
        *self == *other.as_str()
    }
}

impl serde::Serialize for TicketNumber {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(TicketNumber::parse("INS-1042"), Ok(TicketNumber::of(1042)));
        assert_eq!(TicketNumber::parse(" ins-7 "), Ok(TicketNumber::of(7)));
        assert_eq!(TicketNumber::parse("1042"), Ok(TicketNumber::of(1042)));
        assert_eq!(TicketNumber::of(1042).to_string(), "INS-1042");
        assert_eq!(TicketNumber::of(5).id(), 5);
    }

    #[test]
    fn anything_else_is_refused_with_an_example() {
        for bad in [
            "",
            "INS-",
            "INS-0",
            "INS--3",
            "INS-+3",
            "INS-1.5",
            "ABC-3",
            "12a",
            "INS-99999999999999999999",
        ] {
            let err = TicketNumber::parse(bad).unwrap_err();
            assert!(err.contains("INS-1042"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_number_equals_its_text() {
        assert!(TicketNumber::of(12) == *"INS-12");
        assert!(TicketNumber::of(12) == *"12");
        assert!(TicketNumber::of(12) != *"INS-13");
    }
}
