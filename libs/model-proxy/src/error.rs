//! Errors the proxy returns to its caller (session-manager). Problems with one model request
//! never surface here: they become Anthropic-shaped HTTP responses to the sandbox (see
//! `api_error`), because the CLI is the one that has to show them.

/// Why the proxy could not be built, or why a tunnelled connection ended abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The message gives the reason only: the URL may carry gateway credentials.
    #[error("model_proxy.upstream_url is not usable: {0}")]
    InvalidUpstreamUrl(String),
    /// The message names the setting, never the value.
    #[error("model_proxy.{0} is not a valid HTTP header value")]
    InvalidCredential(&'static str),
    #[error("model_proxy.prices: price for prefix {0:?} must be finite and not negative")]
    InvalidPrice(String),
    #[error("could not build the upstream HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("tunnelled model connection failed: {0}")]
    Connection(#[source] hyper::Error),
}
