//! Reporter email addresses.

use std::fmt;

/// An email address we are willing to send mail to. Parsing is delegated to lettre,
/// which implements the RFC 5321 address grammar we deliver with anyway, and the address
/// must also read back as the mailer reads a stored recipient (`email::transport::build`
/// parses it as a `Mailbox`): an address the mailer cannot use would be taken and its
/// confirmation dead-lettered.
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
        let invalid = || format!("'{value}' is not a valid email address");
        let address: lettre::Address = value.parse().map_err(|_| invalid())?;
        // lettre accepts bare hosts ("a@localhost"); a reporter needs a real domain.
        if !address.domain().contains('.') {
            return Err(invalid());
        }
        // Stored lowercased so a reporter and their account match however they typed it.
        let stored = value.to_lowercase();
        if !deliverable(&stored) {
            return Err(format!(
                "'{value}' is not an address the desk can send mail to: use a plain \
                 name@domain address (no quotes, no [IP address] domain)"
            ));
        }
        Ok(EmailAddress(stored))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Does the mailer's parser (a `Mailbox`, as `email::transport::build` reads a stored
/// recipient) read `stored` as this very address, with no display name? Quoted local parts
/// (`"<script>…"@example.com`) and IP-literal domains (`ann@[127.0.0.1]`) do not.
fn deliverable(stored: &str) -> bool {
    stored
        .parse::<lettre::message::Mailbox>()
        .is_ok_and(|mailbox| mailbox.name.is_none() && mailbox.email.to_string() == stored)
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
            "\"<script>alert(1)</script>\"@example.com",
            "\"ann lyst\"@example.com",
            "\"ann\"@example.com",
            "ann@[127.0.0.1]",
            "ann@[IPv6:::1]",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    /// Whatever intake takes, the mailer can address: the recipient it stores parses as
    /// the mailer parses it, to the same address.
    #[test]
    fn accepted_addresses_are_ones_the_mailer_can_use() {
        for good in [
            "ana.lyst@example.com",
            "A+B@Sub.Example.org",
            "o'brien@example.ie",
            "ånn@exämple.com",
        ] {
            let stored = EmailAddress::parse(good).unwrap();
            let mailbox: lettre::message::Mailbox = stored.as_str().parse().unwrap();
            assert_eq!(mailbox.email.to_string(), stored.as_str());
        }
    }
}
