use crate::Settings;
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use std::path::{Path, PathBuf};

const PREFIX: &str = "RC_";
const FILE_SUFFIX: &str = "_FILE";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A key is unknown, a value has the wrong type, or the file does not parse. figment's
    /// message names the key and where the value came from (file or variable).
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    #[error("configuration file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{var}: cannot read secret file {path}: {source}")]
    SecretFile {
        var: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Semantic(String),
}

impl Settings {
    /// Loads defaults, then the file named by `RC_CONFIG_FILE` (if set), then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var_os("RC_CONFIG_FILE").map(PathBuf::from);
        Self::load_from(file.as_deref())
    }

    /// Loads defaults, then `file`, then the process environment.
    pub fn load_from(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::File {
                    path: path.to_owned(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found"),
                });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // `RC_…_FILE` variables (and `RC_CONFIG_FILE`) are not keys themselves.
        figment = figment.merge(
            Env::prefixed(PREFIX)
                .filter(|key| !key.as_str().to_ascii_uppercase().ends_with(FILE_SUFFIX))
                .split("__"),
        );
        for (var, value) in std::env::vars() {
            let Some(key) = secret_file_key(&var) else {
                continue;
            };
            let path = PathBuf::from(value);
            let content =
                std::fs::read_to_string(&path).map_err(|source| ConfigError::SecretFile {
                    var: var.clone(),
                    path: path.clone(),
                    source,
                })?;
            figment = figment.merge((key, content.trim_end_matches(['\r', '\n']).to_owned()));
        }
        let settings: Settings = figment.extract().map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let public = url::Url::parse(&self.api.public_url).map_err(|e| {
            ConfigError::Semantic(format!("api.public_url: {e}: {:?}", self.api.public_url))
        })?;
        if !matches!(public.scheme(), "http" | "https") {
            return Err(ConfigError::Semantic(
                "api.public_url: scheme must be http or https".into(),
            ));
        }
        if self.api.rate_limit.per_second == 0 {
            return Err(ConfigError::Semantic(
                "api.rate_limit.per_second: must be at least 1".into(),
            ));
        }
        if let Some(oidc) = &self.auth.oidc {
            url::Url::parse(&oidc.issuer_url)
                .map_err(|e| ConfigError::Semantic(format!("auth.oidc.issuer_url: {e}")))?;
            if oidc.client_id.is_empty() {
                return Err(ConfigError::Semantic(
                    "auth.oidc.client_id: must not be empty".into(),
                ));
            }
        }
        url::Url::parse(&self.model_proxy.upstream_url)
            .map_err(|e| ConfigError::Semantic(format!("model_proxy.upstream_url: {e}")))?;
        if self.session_manager.start_timeout_secs == 0 {
            return Err(ConfigError::Semantic(
                "session_manager.start_timeout_secs: must be at least 1".into(),
            ));
        }
        if self.push.enabled()
            && !(self.push.subject.starts_with("mailto:")
                || self.push.subject.starts_with("https://"))
        {
            return Err(ConfigError::Semantic(
                "push.subject: must be a mailto: or https:// URL when push.vapid_private_key is set".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.telemetry.otlp_sample_ratio) {
            return Err(ConfigError::Semantic(
                "telemetry.otlp_sample_ratio: must be between 0 and 1".into(),
            ));
        }
        Ok(())
    }
}

/// `RC_DATABASE__URL_FILE` → `database.url`; `RC_CONFIG_FILE` is not a secret file.
fn secret_file_key(var: &str) -> Option<String> {
    let rest = var.strip_prefix(PREFIX)?.strip_suffix(FILE_SUFFIX)?;
    if rest == "CONFIG" || rest.is_empty() {
        return None;
    }
    Some(rest.to_lowercase().replace("__", "."))
}
