//! A report's submission key (the API's `Idempotency-Key`, the form's hidden key) and what
//! it is bound to: who sent it and what they sent. A repeat with the same requester and
//! the same report is the same submission and gets its ticket back; anything else that
//! reuses the key is refused and learns nothing about the ticket, so knowing a key is not
//! enough to read someone's report.

use std::net::IpAddr;

use super::report::RawReport;

/// Who sends a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requester {
    /// A program with a bearer token: the token, wherever it calls from.
    Token(i64),
    /// A signed-in person on the form.
    Account(i64),
    /// Anyone else: the address they report from, and the address they call from.
    Anonymous {
        reporter_email: String,
        client: Option<IpAddr>,
    },
}

/// A submission key with the fingerprint of the request that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub key: String,
    pub fingerprint: String,
}

impl Submission {
    /// `key` as sent by `requester` with `report` (its fields as received).
    pub fn new(key: String, requester: &Requester, report: &RawReport) -> Self {
        Submission {
            key,
            fingerprint: fingerprint(requester, report),
        }
    }

    /// Is a ticket made with `stored` (its fingerprint; `None` for tickets written before
    /// fingerprints were) this same submission? An unknown fingerprint is nobody's.
    pub fn matches(&self, stored: Option<&str>) -> bool {
        stored == Some(self.fingerprint.as_str())
    }
}

/// SHA-256 (hex) over the requester and the report's fields: the same for a retry of the
/// same request, different for another requester or another report.
fn fingerprint(requester: &Requester, report: &RawReport) -> String {
    let who = match requester {
        Requester::Token(id) => format!("token {id}"),
        Requester::Account(id) => format!("account {id}"),
        Requester::Anonymous {
            reporter_email,
            client,
        } => {
            let client = client.map_or_else(|| "-".to_string(), |ip| ip.to_string());
            format!("anonymous {} {client}", reporter_email.to_lowercase())
        }
    };
    // Fields in declaration order, whatever order the client sent them in; a RawReport
    // of strings always serialises.
    let what = serde_json::to_string(report).unwrap_or_default();
    super::secret::sha256_hex(&format!("{who}\n{what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(description: &str) -> RawReport {
        RawReport {
            reporter_email: Some("ana@example.com".into()),
            kind: Some("other".into()),
            description: Some(description.into()),
            ..RawReport::default()
        }
    }

    fn anonymous(client: &str) -> Requester {
        Requester::Anonymous {
            reporter_email: "ana@example.com".into(),
            client: client.parse().ok(),
        }
    }

    #[test]
    fn the_same_requester_with_the_same_report_is_the_same_submission() {
        let first = Submission::new("k".into(), &anonymous("203.0.113.1"), &report("broken"));
        let retry = Submission::new("k".into(), &anonymous("203.0.113.1"), &report("broken"));
        assert!(retry.matches(Some(&first.fingerprint)));
        assert_eq!(first.fingerprint.len(), 64);
    }

    #[test]
    fn another_requester_or_report_is_another_submission() {
        let first = Submission::new("k".into(), &anonymous("203.0.113.1"), &report("broken"));
        let others = [
            Submission::new("k".into(), &anonymous("203.0.113.2"), &report("broken")),
            Submission::new("k".into(), &anonymous("203.0.113.1"), &report("fixed")),
            Submission::new("k".into(), &Requester::Token(1), &report("broken")),
            Submission::new("k".into(), &Requester::Account(1), &report("broken")),
        ];
        for other in others {
            assert!(!other.matches(Some(&first.fingerprint)), "{other:?}");
        }
        assert_ne!(
            Submission::new("k".into(), &Requester::Token(1), &report("x")).fingerprint,
            Submission::new("k".into(), &Requester::Token(2), &report("x")).fingerprint
        );
        // A ticket keyed before fingerprints were kept matches no one.
        assert!(!first.matches(None));
    }
}
