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
        Ok(())
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
    fn unknown_file_keys_are_rejected() {
        let err = toml::from_str::<Settings>("colour = 'blue'")
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");
    }
}
