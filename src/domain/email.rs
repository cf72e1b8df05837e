//! Reporter email addresses.

use std::fmt;

/// An email address we are willing to send mail to. Parsing is delegated to lettre,
/// which implements the RFC 5321 address grammar we deliver with anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

const MAX_LEN: usize = 254;

impl EmailAddress {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.is_empty() {
            return Err("an email address is required".into());
        }
        if value.len() > MAX_LEN {
            return Err(format!("email addresses are at most {MAX_LEN} characters"));
        }
        let address: lettre::Address = value
            .parse()
            .map_err(|_| format!("'{value}' is not a valid email address"))?;
        // lettre accepts bare hosts ("a@localhost"); a reporter needs a real domain.
        if !address.domain().contains('.') {
            return Err(format!("'{value}' is not a valid email address"));
        }
        // Stored lowercased so a reporter and their account match however they typed it.
        Ok(EmailAddress(value.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        assert!(EmailAddress::parse("ana.lyst@example.com").is_ok());
        assert!(EmailAddress::parse(" a+b@sub.example.org ").is_ok());
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "not-an-email",
            "a@",
            "@b.com",
            "a@b",
            "a b@c.com",
            "<a@b.com>",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }
}
