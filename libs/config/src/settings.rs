//! The configuration tree. Defaults describe a developer laptop running the backing services
//! locally, so `cargo run -p api` works with no configuration at all.

use crate::Secret;
use serde::{Deserialize, Serialize};

/// Which safety rails are on. `Dev` allows the one-click dev login and plain-http cookies;
/// `Prod` refuses both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    #[default]
    Dev,
    Prod,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub profile: Profile,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub amqp: AmqpSettings,
    pub s3: S3Settings,
    pub telemetry: TelemetrySettings,
    pub api: ApiSettings,
    pub auth: AuthSettings,
    pub session_manager: SessionManagerSettings,
    pub model_proxy: ModelProxySettings,
    pub worker: WorkerSettings,
    pub file_service: FileServiceSettings,
    pub approvals: ApprovalSettings,
    pub push: PushSettings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// Full connection URL; a secret because it usually carries the password.
    pub url: Secret,
    pub max_connections: u32,
    pub min_connections: u32,
    pub acquire_timeout_secs: u64,
    /// Run pending migrations at start-up (the api does; other services only check).
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::new("postgres://postgres@127.0.0.1:5432/remote_claude"),
            max_connections: 20,
            min_connections: 0,
            acquire_timeout_secs: 5,
            migrate_on_start: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    pub url: Secret,
    pub pool_size: usize,
    /// Prefix for every key, so several installations (or tests) can share one Redis.
    pub key_prefix: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: Secret::new("redis://127.0.0.1:6379/0"),
            pool_size: 16,
            key_prefix: "rc".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AmqpSettings {
    pub url: Secret,
    /// Name of the topic exchange every command and event goes through.
    pub exchange: String,
    /// Messages a consumer may hold unacknowledged.
    pub prefetch: u16,
    /// Deliveries after which a failing message moves to the dead-letter queue.
    pub max_deliveries: u32,
}

impl Default for AmqpSettings {
    fn default() -> Self {
        Self {
            url: Secret::new("amqp://guest:guest@127.0.0.1:5672/%2f"),
            exchange: "rc".into(),
            prefetch: 16,
            max_deliveries: 5,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Settings {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: Secret,
    pub secret_key: Secret,
}

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            endpoint: "http://127.0.0.1:9000".into(),
            region: "us-east-1".into(),
            bucket: "remote-claude".into(),
            access_key: Secret::new("rcdev"),
            secret_key: Secret::new("rcdevsecret"),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySettings {
    pub log_format: LogFormat,
    /// `tracing_subscriber::EnvFilter` directives; `RUST_LOG` overrides it when set.
    pub log_filter: String,
    /// OTLP/HTTP endpoint (e.g. `http://otel-collector:4318`). Empty disables trace export.
    pub otlp_endpoint: String,
    /// Fraction of root traces sampled when export is on.
    pub otlp_sample_ratio: f64,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Json,
            log_filter: "info,sqlx=warn,lapin=warn".into(),
            otlp_endpoint: String::new(),
            otlp_sample_ratio: 1.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    pub host: String,
    pub port: u16,
    /// The URL browsers use; drives the OIDC redirect URL, cookie `Secure` and allowed origins.
    pub public_url: String,
    /// Largest accepted JSON body.
    pub max_body_bytes: usize,
    /// Directory holding the built frontend; empty serves no frontend.
    pub frontend_dir: String,
    /// Extra origins accepted for WebSocket upgrades and cookie mutations besides `public_url`.
    pub extra_origins: Vec<String>,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed (e.g. the TLS
    /// terminator). Empty: the peer address is the client, and the header is ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub rate_limit: RateLimitSettings,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            public_url: "http://localhost:8080".into(),
            max_body_bytes: 1024 * 1024,
            frontend_dir: "frontend/dist".into(),
            extra_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            rate_limit: RateLimitSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Sustained requests per second per caller (user, token or client IP).
    pub per_second: u32,
    /// Requests a caller may burst above the sustained rate.
    pub burst: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            per_second: 50,
            burst: 200,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// OpenID Connect login; absent means "no SSO configured".
    pub oidc: Option<OidcSettings>,
    /// One-click local login. Only honoured in the `dev` profile, whatever this says.
    pub dev_login: bool,
    /// Lifetime of a browser login session.
    pub session_ttl_secs: u64,
    /// When non-empty, only these e-mail addresses may log in (case-insensitive).
    pub allowed_emails: Vec<String>,
    /// When non-empty, only addresses in these domains may log in.
    pub allowed_domains: Vec<String>,
    /// Name of the organisation created for the very first user.
    pub default_org_name: String,
    /// Lifetime of an invitation.
    pub invitation_ttl_secs: u64,
    /// How often an open WebSocket (events, terminal, GraphQL) checks again that its caller
    /// still has access. Changes made through the same api instance apply at once.
    pub live_recheck_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            oidc: None,
            dev_login: true,
            session_ttl_secs: 7 * 24 * 3600,
            allowed_emails: Vec::new(),
            allowed_domains: Vec::new(),
            default_org_name: "Default".into(),
            invitation_ttl_secs: 7 * 24 * 3600,
            live_recheck_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// Issuer URL, compared byte for byte with the provider's discovery document.
    pub issuer_url: String,
    pub client_id: String,
    /// Absent for public clients (PKCE only).
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into(), "profile".into()]
}

/// Listener of a service that only serves operational endpoints (health, readiness, metrics)
/// or its own internal API. Each service has its own type only for its default port; 0 picks a
/// free port (tests).
macro_rules! service_settings {
    ($($name:ident = $port:literal),* $(,)?) => {$(
        #[derive(Debug, Clone, Deserialize, Serialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            pub host: String,
            pub port: u16,
        }

        impl Default for $name {
            fn default() -> Self {
                Self { host: "127.0.0.1".into(), port: $port }
            }
        }
    )*};
}

service_settings!(WorkerSettings = 8082);

/// file-service: workspace files (through the sandbox agent), snapshots and artifacts in S3.
/// Its listener serves the ops endpoints and the internal file API the api forwards to.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileServiceSettings {
    pub host: String,
    pub port: u16,
    /// Where the api reaches this service's internal file API.
    pub internal_url: String,
    /// Bearer token the api presents on the internal file API. The default is a fixed dev
    /// value; file-service refuses to start with it in the `prod` profile.
    pub internal_token: Secret,
    /// Docker Engine endpoint (`unix:///var/run/docker.sock`, `tcp://…`) of the node whose
    /// sandboxes this instance serves. Empty: `DOCKER_HOST` or the local socket.
    pub docker_host: String,
    /// Largest file accepted by an upload or a write (413 beyond).
    pub max_upload_bytes: u64,
    /// Largest workspace a snapshot may hold, and a restore may unpack (uncompressed bytes).
    pub max_snapshot_bytes: u64,
    /// Longest validity of a presigned artifact URL.
    pub max_presign_secs: u64,
}

/// The dev default of `file_service.internal_token`; never accepted in the `prod` profile.
pub const DEV_FILE_SERVICE_TOKEN: &str = "rc-dev-file-service-token";

impl Default for FileServiceSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8083,
            internal_url: "http://127.0.0.1:8083".into(),
            internal_token: Secret::new(DEV_FILE_SERVICE_TOKEN),
            docker_host: String::new(),
            max_upload_bytes: 512 * 1024 * 1024,
            max_snapshot_bytes: 4 * 1024 * 1024 * 1024,
            max_presign_secs: 7 * 24 * 3600,
        }
    }
}

/// session-manager: the sandboxes on one Docker host.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionManagerSettings {
    pub host: String,
    pub port: u16,
    /// This instance's name, unique among the session-managers sharing one database; it owns
    /// the sessions it creates (commands for them are routed to `node.<id>.…`). Empty: the
    /// host name.
    pub node_id: String,
    /// Docker Engine endpoint (`unix:///var/run/docker.sock`, `tcp://…`). Empty: `DOCKER_HOST`
    /// or the local socket.
    pub docker_host: String,
    /// Image used when a session names none (built by scripts/build-sandbox-image.sh).
    pub sandbox_image: String,
    /// Pre-started sandboxes kept ready for new sessions (0 disables the pool).
    pub warm_pool_size: u32,
    /// Size of the sandbox's `/tmp` tmpfs.
    pub tmp_size_mb: u32,
    /// How long a sandbox may take from create to the agent's hello before the session fails.
    pub start_timeout_secs: u64,
    /// SIGTERM → SIGKILL grace when stopping a sandbox.
    pub stop_grace_secs: u64,
    /// How often idle and over-age sessions are looked for.
    pub reap_interval_secs: u64,
    /// How often container CPU, memory and network figures are sampled (0 disables).
    pub stats_interval_secs: u64,
    /// Where the api reaches this node's internal endpoints (terminals); published in
    /// `sandbox_nodes` with the heartbeat, so each session's node is found. Empty:
    /// `http://<host>:<bound port>` (right for one machine; containers set it).
    pub advertise_url: String,
    /// Bearer token the api presents on those endpoints. The default is a dev value that
    /// session-manager refuses in the `prod` profile.
    pub internal_token: Secret,
}

/// The dev default of `session_manager.internal_token`; refused in the `prod` profile.
pub const DEV_SESSION_MANAGER_TOKEN: &str = "rc-dev-session-manager-token";

impl Default for SessionManagerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8081,
            node_id: String::new(),
            docker_host: String::new(),
            sandbox_image: "local/claude-sandbox:latest".into(),
            warm_pool_size: 0,
            tmp_size_mb: 256,
            start_timeout_secs: 60,
            stop_grace_secs: 10,
            reap_interval_secs: 30,
            stats_interval_secs: 15,
            advertise_url: String::new(),
            internal_token: Secret::new(DEV_SESSION_MANAGER_TOKEN),
        }
    }
}

/// The model proxy: the only way a sandbox reaches a model. It swaps the sandbox's dummy key
/// for the organisation's real credential, meters usage and enforces limits before forwarding.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelProxySettings {
    /// Anthropic Messages API base URL (Anthropic, a gateway, or the scripted fake model).
    pub upstream_url: String,
    /// Sent as `x-api-key`. One of `api_key` / `auth_token` is needed to reach Anthropic.
    pub api_key: Option<Secret>,
    /// Sent as `Authorization: Bearer` (OAuth token or gateway token).
    pub auth_token: Option<Secret>,
    /// The upstream is the project's scripted fake model (development, demos): the web app
    /// and the logs say so, so nobody mistakes its canned replies for Claude.
    pub scripted_model: bool,
    /// Give up on an upstream call after this long (a long turn streams for minutes).
    pub request_timeout_secs: u64,
    /// Model requests per minute per organisation (0 = unlimited).
    pub requests_per_minute: u32,
    /// Prices in USD per million tokens; the first entry whose `model_prefix` starts the model
    /// name applies, the entry with an empty prefix is the fallback.
    pub prices: Vec<ModelPrice>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub model_prefix: String,
    pub input: f64,
    pub output: f64,
    pub cache_write: f64,
    pub cache_read: f64,
}

impl Default for ModelProxySettings {
    fn default() -> Self {
        let price = |model_prefix: &str, input: f64, output: f64| ModelPrice {
            model_prefix: model_prefix.into(),
            input,
            output,
            cache_write: input * 1.25,
            cache_read: input / 10.0,
        };
        Self {
            upstream_url: "https://api.anthropic.com".into(),
            api_key: None,
            auth_token: None,
            scripted_model: false,
            request_timeout_secs: 600,
            requests_per_minute: 600,
            prices: vec![
                price("claude-opus", 5.0, 25.0),
                price("claude-sonnet", 3.0, 15.0),
                price("claude-haiku", 1.0, 5.0),
                price("", 3.0, 15.0),
            ],
        }
    }
}

impl Settings {
    /// Whether cookies get the `Secure` attribute: always, unless the public URL is plain http
    /// in the dev profile.
    pub fn cookie_secure(&self) -> bool {
        !(self.profile == Profile::Dev && self.api.public_url.starts_with("http://"))
    }

    /// The dev login is available only when asked for, in the dev profile, with no SSO.
    pub fn dev_login_enabled(&self) -> bool {
        self.profile == Profile::Dev && self.auth.dev_login && self.auth.oidc.is_none()
    }
}

/// Claude's permission requests waiting for a person.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalSettings {
    /// An undecided request is denied automatically after this long.
    pub timeout_secs: u64,
    /// How long a signed approval link (notifications, phones) stays valid.
    pub link_ttl_secs: u64,
    /// HMAC keys for signed approval links. The first signs; every listed key verifies, so a
    /// key is rotated by putting the new one first and removing the old one once
    /// `link_ttl_secs` have passed. Empty: links are signed with a random per-process key
    /// (fine for one dev process; links die with it).
    pub link_keys: Vec<LinkKey>,
}

impl Default for ApprovalSettings {
    fn default() -> Self {
        Self {
            timeout_secs: 600,
            link_ttl_secs: 300,
            link_keys: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkKey {
    /// Short name carried in each link, so verification picks the right key.
    pub id: String,
    pub secret: Secret,
}

/// Web Push notifications (VAPID, RFC 8292) sent by the worker.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushSettings {
    /// The VAPID private key: the raw 32-byte P-256 scalar, base64url without padding (what
    /// `npx web-push generate-vapid-keys` prints as the private key). Empty: push is off.
    pub vapid_private_key: Secret,
    /// Contact for push services, `mailto:` or `https:` (required with a key).
    pub subject: String,
}

impl PushSettings {
    pub fn enabled(&self) -> bool {
        !self.vapid_private_key.is_empty()
    }
}
