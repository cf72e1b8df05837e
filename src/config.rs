//! Typed settings: defaults, then an optional TOML file (`DESK_CONFIG`), then `DESK_*`
//! environment variables, then command-line flags. Unknown keys and bad values stop the
//! desk at start with a message that names them.

use serde::Deserialize;
use std::path::{Path, PathBuf};

use crate::db::DatabaseUrl;
use crate::domain::support_model::SupportModel;

/// Every setting, with its default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address the server listens on (`DESK_BIND`). Default `127.0.0.1:8080`.
    pub bind: String,
    /// `sqlite://PATH` or `postgres://…` (`DESK_DATABASE_URL`). Default `sqlite://data/desk.db`.
    pub database_url: String,
    /// Folder for the desk's own files, e.g. outgoing mail (`DESK_DATA_DIR`). Default `data`.
    pub data_dir: PathBuf,
    /// The support model file (`DESK_SUPPORT_MODEL`). Default `config/support-model.toml`.
    pub support_model: PathBuf,
    /// Public URL used in emails and tracking links (`DESK_BASE_URL`).
    /// Default `http://` + bind address.
    pub base_url: Option<String>,
    /// `pretty` or `json` (`DESK_LOG_FORMAT`). Default `pretty`.
    pub log_format: LogFormat,
    /// Database connections kept open (`DESK_POOL_SIZE`). Default 16.
    pub pool_size: u32,
    /// Sender of every email (`DESK_MAIL_FROM`).
    pub mail_from: String,
    /// Largest request body accepted, in bytes (`DESK_MAX_BODY_BYTES`). Default 64 KiB.
    pub max_body_bytes: usize,
    /// Key signing session cookies, 128 hex characters (`DESK_SECRET_KEY`). Secret.
    /// Unset: generated once and kept in `<data_dir>/session.key`. Several instances
    /// sharing a database must share this key.
    pub secret_key: Option<Secret>,
    /// How long a sign-in lasts (`DESK_SESSION_TTL`). Default `12h`.
    pub session_ttl: String,
    /// Header an auth proxy sets to the signed-in email (`DESK_AUTH_PROXY_HEADER`).
    /// Unset: no single sign-on.
    pub auth_proxy_header: Option<String>,
    /// Addresses the auth proxy header is honoured from (`DESK_AUTH_PROXY_ADDRS`,
    /// comma-separated IPs or CIDR ranges). Default none.
    pub auth_proxy_addresses: Vec<String>,
    /// Reverse proxies or load balancers in front of the desk (`DESK_TRUSTED_PROXIES`,
    /// comma-separated IPs or CIDR ranges): from these, the client's address is read from
    /// `X-Forwarded-For` (see `web::auth::client`). Default none.
    pub trusted_proxies: Vec<String>,
    /// Anonymous report submissions a minute per address; 0 switches the limit off
    /// (`DESK_REPORT_RATE_PER_MINUTE`). Default 30. Requests with a bearer token of scope
    /// `write` are not held to it.
    pub report_rate_per_minute: u32,
    /// Replies on the tracking page a minute per tracking link, and as many per address;
    /// 0 switches the limit off (`DESK_REPLY_RATE_PER_MINUTE`). Default 10.
    pub reply_rate_per_minute: u32,
    /// `smtp://user:pass@host:port` or `smtps://…` (`DESK_SMTP_URL`). Secret. Unset: mail
    /// is written as `.eml` files under `<data_dir>/mail`.
    pub smtp_url: Option<Secret>,
    /// Deliver mail and sweep escalations in the background (`DESK_BACKGROUND_JOBS`).
    /// Default true; tests and one-off CLI runs turn it off.
    pub background_jobs: bool,
    /// Sign-in attempts a minute per address; 0 switches the limit off
    /// (`DESK_SIGN_IN_RATE_PER_MINUTE`). Default 10.
    pub sign_in_rate_per_minute: u32,
    /// Threshold rules run after an ingest at most this often per warehouse type, in
    /// milliseconds (`DESK_MONITOR_DEBOUNCE_MS`); the background job runs them every 15 s
    /// anyway. Default 2000; 0 evaluates after every ingest.
    pub monitor_debounce_ms: u32,
    /// Run records older than this are deleted hourly, with their lineage events, except
    /// runs linked to a ticket and each table's latest run and latest success
    /// (`DESK_RUN_RETENTION`, e.g. `90d`; at least 8 days). Default: kept for ever.
    pub run_retention: Option<String>,
    /// The address analysts write to (`DESK_SUPPORT_ADDRESS`): mail to it that matches no
    /// ticket opens a report, and its plus addresses (`desk+<token>@…`) are tickets' reply
    /// addresses. Default: the address of `mail_from`.
    pub support_address: Option<String>,
    /// A mailbox the desk reads new mail from (`DESK_IMAP_URL`,
    /// `imaps://user:pass@host/INBOX` or `imap://…` on a trusted network). Secret.
    /// Unset: mail arrives only by `inspect-desk mail receive` and the inbound-mail API.
    pub imap_url: Option<Secret>,
    /// Where taken messages are moved in that mailbox (`DESK_IMAP_DONE_FOLDER`).
    /// Default `Processed`; created when missing.
    pub imap_done_folder: String,
    /// How often the mailbox is read, in seconds (`DESK_IMAP_POLL_SECONDS`). Default 30.
    pub imap_poll_seconds: u32,
    /// New messages a minute taken from one sender; more are kept but not acted on
    /// (`DESK_MAIL_PER_SENDER_PER_MINUTE`; 0 switches the limit off). Default 10.
    pub mail_per_sender_per_minute: u32,
    /// Largest attached file, in bytes (`DESK_ATTACHMENT_MAX_FILE_BYTES`). Default 10 MB.
    pub attachment_max_file_bytes: u64,
    /// Largest total of the files on one report, reply, comment or email, in bytes
    /// (`DESK_ATTACHMENT_MAX_TOTAL_BYTES`). Default 25 MB.
    pub attachment_max_total_bytes: u64,
    /// Most files on one report, reply, comment or email (`DESK_ATTACHMENT_MAX_FILES`).
    /// Default 10.
    pub attachment_max_files: u32,
}

/// A setting that must never be printed or logged.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/desk.db".into(),
            data_dir: PathBuf::from("data"),
            support_model: PathBuf::from("config/support-model.toml"),
            base_url: None,
            log_format: LogFormat::Pretty,
            pool_size: 16,
            mail_from: "inspect-desk <desk@inspect.example>".into(),
            max_body_bytes: 64 * 1024,
            secret_key: None,
            session_ttl: "12h".into(),
            auth_proxy_header: None,
            auth_proxy_addresses: Vec::new(),
            trusted_proxies: Vec::new(),
            report_rate_per_minute: 30,
            reply_rate_per_minute: 10,
            smtp_url: None,
            background_jobs: true,
            sign_in_rate_per_minute: 10,
            monitor_debounce_ms: 2000,
            run_retention: None,
            support_address: None,
            imap_url: None,
            imap_done_folder: "Processed".into(),
            imap_poll_seconds: 30,
            mail_per_sender_per_minute: 10,
            attachment_max_file_bytes: 10 * 1000 * 1000,
            attachment_max_total_bytes: 25 * 1000 * 1000,
            attachment_max_files: 10,
        }
    }
}

impl Settings {
    /// Defaults → `DESK_CONFIG` file → `DESK_*` environment.
    pub fn load() -> Result<Self, String> {
        let mut settings = match std::env::var_os("DESK_CONFIG") {
            Some(path) => Self::from_file(Path::new(&path))?,
            None => Settings::default(),
        };
        settings.apply_env(|name| std::env::var(name).ok())?;
        Ok(settings)
    }

    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read settings file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("settings file {}: {e}", path.display()))
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        if let Some(v) = var("DESK_BIND") {
            self.bind = v;
        }
        if let Some(v) = var("DESK_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = var("DESK_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = var("DESK_SUPPORT_MODEL") {
            self.support_model = v.into();
        }
        if let Some(v) = var("DESK_BASE_URL") {
            self.base_url = Some(v);
        }
        if let Some(v) = var("DESK_LOG_FORMAT") {
            self.log_format = match v.as_str() {
                "pretty" => LogFormat::Pretty,
                "json" => LogFormat::Json,
                _ => return Err(format!("DESK_LOG_FORMAT must be pretty or json, not '{v}'")),
            };
        }
        if let Some(v) = var("DESK_POOL_SIZE") {
            self.pool_size =
                v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("DESK_POOL_SIZE must be a positive number, not '{v}'")
                })?;
        }
        if let Some(v) = var("DESK_MAIL_FROM") {
            self.mail_from = v;
        }
        if let Some(v) = var("DESK_MAX_BODY_BYTES") {
            self.max_body_bytes = v
                .parse()
                .map_err(|_| format!("DESK_MAX_BODY_BYTES must be a number of bytes, not '{v}'"))?;
        }
        if let Some(v) = var("DESK_SECRET_KEY") {
            self.secret_key = Some(Secret(v));
        }
        if let Some(v) = var("DESK_SMTP_URL") {
            self.smtp_url = Some(Secret(v)).filter(|s| !s.0.is_empty());
        }
        if let Some(v) = var("DESK_BACKGROUND_JOBS") {
            self.background_jobs = match v.as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => {
                    return Err(format!(
                        "DESK_BACKGROUND_JOBS must be true or false, not '{v}'"
                    ));
                }
            };
        }
        if let Some(v) = var("DESK_SESSION_TTL") {
            self.session_ttl = v;
        }
        if let Some(v) = var("DESK_AUTH_PROXY_HEADER") {
            self.auth_proxy_header = Some(v).filter(|h| !h.is_empty());
        }
        if let Some(v) = var("DESK_AUTH_PROXY_ADDRS") {
            self.auth_proxy_addresses = list(&v);
        }
        if let Some(v) = var("DESK_TRUSTED_PROXIES") {
            self.trusted_proxies = list(&v);
        }
        if let Some(v) = var("DESK_RUN_RETENTION") {
            self.run_retention = Some(v.trim().to_string()).filter(|v| !v.is_empty());
        }
        if let Some(v) = var("DESK_SUPPORT_ADDRESS") {
            self.support_address = Some(v.trim().to_string()).filter(|v| !v.is_empty());
        }
        if let Some(v) = var("DESK_IMAP_URL") {
            self.imap_url = Some(Secret(v)).filter(|s| !s.0.is_empty());
        }
        if let Some(v) = var("DESK_IMAP_DONE_FOLDER") {
            self.imap_done_folder = v;
        }
        for (name, target) in [
            (
                "DESK_ATTACHMENT_MAX_FILE_BYTES",
                &mut self.attachment_max_file_bytes,
            ),
            (
                "DESK_ATTACHMENT_MAX_TOTAL_BYTES",
                &mut self.attachment_max_total_bytes,
            ),
        ] {
            if let Some(v) = var(name) {
                *target = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("{name} must be a positive number of bytes, not '{v}'")
                })?;
            }
        }
        for (name, target) in [
            ("DESK_IMAP_POLL_SECONDS", &mut self.imap_poll_seconds),
            ("DESK_ATTACHMENT_MAX_FILES", &mut self.attachment_max_files),
        ] {
            if let Some(v) = var(name) {
                *target =
                    v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("{name} must be a positive whole number, not '{v}'")
                    })?;
            }
        }
        for (name, target) in [
            (
                "DESK_MAIL_PER_SENDER_PER_MINUTE",
                &mut self.mail_per_sender_per_minute,
            ),
            (
                "DESK_REPORT_RATE_PER_MINUTE",
                &mut self.report_rate_per_minute,
            ),
            (
                "DESK_REPLY_RATE_PER_MINUTE",
                &mut self.reply_rate_per_minute,
            ),
            (
                "DESK_SIGN_IN_RATE_PER_MINUTE",
                &mut self.sign_in_rate_per_minute,
            ),
            ("DESK_MONITOR_DEBOUNCE_MS", &mut self.monitor_debounce_ms),
        ] {
            if let Some(v) = var(name) {
                *target = v
                    .parse()
                    .map_err(|_| format!("{name} must be a whole number, not '{v}'"))?;
            }
        }
        Ok(())
    }

    /// How long a sign-in lasts.
    pub fn session_ttl(&self) -> Result<std::time::Duration, String> {
        humantime::parse_duration(&self.session_ttl)
            .map_err(|e| format!("DESK_SESSION_TTL '{}': {e}", self.session_ttl))
    }

    /// How long run records are kept (`None`: for ever); at least
    /// `services::retention::SHORTEST`.
    pub fn run_retention(&self) -> Result<Option<chrono::TimeDelta>, String> {
        self.run_retention
            .as_deref()
            .map(|text| retention(text).map_err(|e| format!("DESK_RUN_RETENTION: {e}")))
            .transpose()
    }

    /// Addresses (or ranges) the auth proxy header is trusted from.
    pub fn proxy_addresses(&self) -> Result<Vec<ipnet::IpNet>, String> {
        networks("DESK_AUTH_PROXY_ADDRS", &self.auth_proxy_addresses)
    }

    /// Proxies whose `X-Forwarded-For` names the client: the trusted proxies (addresses or
    /// CIDR ranges) and the auth proxies (which the desk trusts with more than that).
    pub fn forwarding_proxies(&self) -> Result<Vec<ipnet::IpNet>, String> {
        let mut all = networks("DESK_TRUSTED_PROXIES", &self.trusted_proxies)?;
        all.extend(self.proxy_addresses()?);
        Ok(all)
    }

    /// The session signing key: from settings, or generated once into the data folder.
    pub fn session_key(&self) -> Result<Vec<u8>, String> {
        let hex = match &self.secret_key {
            Some(secret) => secret.expose().trim().to_string(),
            None => {
                let path = self.data_dir.join("session.key");
                match std::fs::read_to_string(&path) {
                    Ok(text) => text.trim().to_string(),
                    Err(_) => {
                        std::fs::create_dir_all(&self.data_dir).map_err(|e| {
                            format!("cannot create {}: {e}", self.data_dir.display())
                        })?;
                        let key = crate::domain::secret::random_hex(64);
                        std::fs::write(&path, &key)
                            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                        key
                    }
                }
            }
        };
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
            })
            .collect();
        match bytes {
            Some(bytes) if bytes.len() >= 64 => Ok(bytes),
            _ => Err("the session key (DESK_SECRET_KEY or data/session.key) must be at least 128 hex characters".into()),
        }
    }

    pub fn database(&self) -> Result<DatabaseUrl, String> {
        DatabaseUrl::parse(&self.database_url).map_err(|e| format!("DESK_DATABASE_URL: {e}"))
    }

    pub fn load_support_model(&self) -> Result<SupportModel, String> {
        let path = &self.support_model;
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read support model {}: {e}", path.display()))?;
        SupportModel::from_toml(&text).map_err(|e| format!("support model {}: {e}", path.display()))
    }

    /// The public base URL, without a trailing slash.
    pub fn public_url(&self, bound: &str) -> String {
        self.base_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
            .trim_end_matches('/')
            .to_string()
    }
}

/// A comma-separated setting's items.
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

/// IP addresses of a setting named `name`, or which one is not.
/// A retention period such as `90d` or `12weeks`, no shorter than the shortest allowed.
pub fn retention(text: &str) -> Result<chrono::TimeDelta, String> {
    let period = humantime::parse_duration(text)
        .ok()
        .and_then(|d| chrono::TimeDelta::from_std(d).ok())
        .ok_or_else(|| format!("'{text}' is not a duration (90d, 12weeks)"))?;
    if period < crate::services::retention::SHORTEST {
        return Err(format!(
            "'{text}' is too short: runs are kept at least 8 days (/telemetry shows 7)"
        ));
    }
    Ok(period)
}

/// A setting's comma-separated IP addresses or CIDR ranges; a bare address is a one-address
/// range (`10.0.0.2` is `10.0.0.2/32`).
fn networks(name: &str, items: &[String]) -> Result<Vec<ipnet::IpNet>, String> {
    items
        .iter()
        .map(|a| {
            a.parse::<ipnet::IpNet>()
                .or_else(|_| a.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    format!("{name}: '{a}' is neither an IP address nor a CIDR range (10.0.0.0/8)")
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_defaults() {
        let mut s = Settings::default();
        s.apply_env(|n| (n == "DESK_POOL_SIZE").then(|| "4".to_string()))
            .unwrap();
        assert_eq!(s.pool_size, 4);
        assert!(
            s.apply_env(|n| (n == "DESK_POOL_SIZE").then(|| "x".to_string()))
                .is_err()
        );
    }

    #[test]
    fn forwarding_proxies_are_the_trusted_and_the_auth_ones() {
        let mut s = Settings::default();
        s.apply_env(|n| match n {
            "DESK_TRUSTED_PROXIES" => Some(" 10.0.0.2, ::1 , 10.1.0.0/16".to_string()),
            "DESK_AUTH_PROXY_ADDRS" => Some("10.0.0.9, 192.168.7.0/24".to_string()),
            _ => None,
        })
        .unwrap();
        let all: Vec<String> = s
            .forwarding_proxies()
            .unwrap()
            .iter()
            .map(|ip| ip.to_string())
            .collect();
        assert_eq!(
            all,
            [
                "10.0.0.2/32",
                "::1/128",
                "10.1.0.0/16",
                "10.0.0.9/32",
                "192.168.7.0/24"
            ]
        );
        s.trusted_proxies = vec!["lb.internal".into()];
        let err = s.forwarding_proxies().unwrap_err();
        assert!(
            err.contains("DESK_TRUSTED_PROXIES") && err.contains("'lb.internal'"),
            "{err}"
        );
        s.trusted_proxies.clear();
        s.auth_proxy_addresses = vec!["10.0.0.0/33".into()];
        let err = s.forwarding_proxies().unwrap_err();
        assert!(
            err.contains("DESK_AUTH_PROXY_ADDRS") && err.contains("'10.0.0.0/33'"),
            "{err}"
        );
    }

    #[test]
    fn run_retention_is_a_duration_of_at_least_eight_days() {
        let mut s = Settings::default();
        assert_eq!(s.run_retention(), Ok(None));
        s.apply_env(|n| (n == "DESK_RUN_RETENTION").then(|| " 90d ".to_string()))
            .unwrap();
        assert_eq!(s.run_retention(), Ok(Some(chrono::TimeDelta::days(90))));
        s.apply_env(|n| (n == "DESK_RUN_RETENTION").then(String::new))
            .unwrap();
        assert_eq!(s.run_retention(), Ok(None), "empty: kept for ever");
        s.run_retention = Some("7d".into());
        let err = s.run_retention().unwrap_err();
        assert!(
            err.contains("DESK_RUN_RETENTION") && err.contains("too short"),
            "{err}"
        );
        s.run_retention = Some("a while".into());
        let err = s.run_retention().unwrap_err();
        assert!(err.contains("'a while' is not a duration"), "{err}");
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let err = toml::from_str::<Settings>("colour = 'blue'")
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");
    }
}
