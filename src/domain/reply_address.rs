//! Plus addresses the desk hands out and reads back: a ticket's reply address
//! (`desk+1042.3f9a0c1e2b7d@inspect.example`) in `Reply-To`, and a message's return path
//! (`desk+bounce.77.9c04e1d2a8b3@inspect.example`) in the envelope, so a delivery report
//! names the message it is about. Each carries an HMAC of what it names under the desk's
//! key: an address cannot be guessed from a ticket number, nor forged for another.

use super::secret;

/// Hex characters of the signature kept: 48 bits, enough that guessing is hopeless over
/// email and short enough for an address's 64-character local part.
const SIGNATURE_CHARS: usize = 12;

/// What a plus address names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// Replies to this ticket (by id).
    Ticket(i64),
    /// Delivery reports for this outbox message (by id).
    Bounce(i64),
}

impl Tag {
    fn data(self) -> String {
        match self {
            Tag::Ticket(id) => format!("reply.{id}"),
            Tag::Bounce(id) => format!("bounce.{id}"),
        }
    }

    /// The plus address of `support` (`desk@inspect.example`) naming this.
    pub fn address(self, key: &[u8], support: &str) -> String {
        let (local, domain) = split(support).unwrap_or((support, ""));
        let signature = &secret::sign(key, &self.data())[..SIGNATURE_CHARS];
        let detail = match self {
            Tag::Ticket(id) => format!("{id}.{signature}"),
            Tag::Bounce(id) => format!("bounce.{id}.{signature}"),
        };
        format!("{local}+{detail}@{domain}")
    }

    /// What `address` names, when it is one of `support`'s plus addresses with a good
    /// signature. Case is ignored, as mail systems may fold it.
    pub fn read(address: &str, key: &[u8], support: &str) -> Option<Tag> {
        let address = address.trim().to_ascii_lowercase();
        let support = support.to_ascii_lowercase();
        let (local, domain) = split(&address)?;
        let (support_local, support_domain) = split(&support)?;
        if domain != support_domain {
            return None;
        }
        let detail = local.strip_prefix(support_local)?.strip_prefix('+')?;
        let (named, signature) = detail.rsplit_once('.')?;
        let tag = match named.strip_prefix("bounce.") {
            Some(id) => Tag::Bounce(id.parse().ok()?),
            None => Tag::Ticket(named.parse().ok()?),
        };
        let expected = &secret::sign(key, &tag.data())[..SIGNATURE_CHARS];
        secret::constant_time_eq(expected.as_bytes(), signature.as_bytes()).then_some(tag)
    }
}

/// Whether `address` is `support` itself or any plus address of it (signed or not): mail
/// to the desk.
pub fn is_support(address: &str, support: &str) -> bool {
    let address = address.trim().to_ascii_lowercase();
    let support = support.to_ascii_lowercase();
    match (split(&address), split(&support)) {
        (Some((local, domain)), Some((support_local, support_domain))) => {
            domain == support_domain
                && (local == support_local
                    || local
                        .strip_prefix(support_local)
                        .is_some_and(|rest| rest.starts_with('+')))
        }
        _ => false,
    }
}

fn split(address: &str) -> Option<(&str, &str)> {
    address.rsplit_once('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a key of the desk, long enough for the tests";
    const SUPPORT: &str = "desk@inspect.example";

    #[test]
    fn a_ticket_address_reads_back_and_cannot_be_forged() {
        let address = Tag::Ticket(1042).address(KEY, SUPPORT);
        assert!(address.starts_with("desk+1042."), "{address}");
        assert!(address.ends_with("@inspect.example"));
        assert_eq!(Tag::read(&address, KEY, SUPPORT), Some(Tag::Ticket(1042)));
        assert_eq!(
            Tag::read(&address.to_uppercase(), KEY, SUPPORT),
            Some(Tag::Ticket(1042))
        );
        // Another ticket's number with this signature, another key, another domain.
        let forged = address.replace("1042", "1043");
        assert_eq!(Tag::read(&forged, KEY, SUPPORT), None);
        assert_eq!(Tag::read(&address, b"another key", SUPPORT), None);
        assert_eq!(
            Tag::read(
                &address.replace("inspect.example", "evil.example"),
                KEY,
                SUPPORT
            ),
            None
        );
        assert_eq!(Tag::read("desk+1042@inspect.example", KEY, SUPPORT), None);
    }

    #[test]
    fn a_return_path_names_its_message() {
        let address = Tag::Bounce(77).address(KEY, SUPPORT);
        assert!(address.starts_with("desk+bounce.77."), "{address}");
        assert_eq!(Tag::read(&address, KEY, SUPPORT), Some(Tag::Bounce(77)));
        assert!(address.split('@').next().unwrap().len() <= 64);
    }

    #[test]
    fn mail_to_the_desk_is_the_support_address_or_its_plus_addresses() {
        assert!(is_support("Desk@Inspect.example", SUPPORT));
        assert!(is_support("desk+anything@inspect.example", SUPPORT));
        assert!(!is_support("desktop@inspect.example", SUPPORT));
        assert!(!is_support("desk@other.example", SUPPORT));
    }
}
