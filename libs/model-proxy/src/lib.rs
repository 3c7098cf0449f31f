//! The model proxy: the only way a sandbox reaches a model.
//!
//! Sandboxes run with no network. The CLI inside talks HTTP to a local port whose connections
//! session-manager tunnels out and hands to [`ModelProxy::serve`], which speaks HTTP/1.1 on
//! them and, per request:
//! - allows only `POST /v1/messages` and `POST /v1/messages/count_tokens` (404/405 otherwise);
//! - for messages, checks the organisation's request rate (Redis, shared by every
//!   session-manager instance) and monthly budget (Postgres) and answers 429 when exceeded;
//! - drops whatever credential the sandbox sent and adds the configured one, so the real key
//!   never enters a sandbox;
//! - relays the upstream response chunk by chunk while reading its usage on the side, and
//!   writes one `usage_records` row per metered response, also when the client disconnects
//!   mid-stream.
//!
//! Its own answers use the Anthropic error shape, so the CLI shows them to the user.

mod api_error;
mod body;
mod endpoint;
mod error;
mod handler;
mod headers;
mod instruments;
mod limits;
mod metered_body;
mod pricing;
mod recorder;
mod sse;
mod usage;

pub use error::ProxyError;

use handler::{Connection, Upstream};
use hyper_util::rt::TokioIo;
use pricing::PriceList;
use rc_config::ModelProxySettings;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument as _;
use uuid::Uuid;

/// Connecting is quick or not happening; failing fast turns an unreachable upstream into a
/// prompt 502 instead of a long wait inside the request timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Cheap to clone; clones share the upstream connection pool.
#[derive(Clone)]
pub struct ModelProxy {
    upstream: Arc<Upstream>,
    prices: Arc<PriceList>,
    db: sqlx::PgPool,
}

/// Who the requests on one tunnelled connection are made for.
#[derive(Clone, Debug)]
pub struct ProxyContext {
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub session_id: Uuid,
    /// Task running now, for attributing usage.
    pub task_id: tokio::sync::watch::Receiver<Option<Uuid>>,
}

impl ModelProxy {
    /// Validates the settings and builds the upstream client; no I/O happens here.
    pub fn new(
        settings: &ModelProxySettings,
        db: sqlx::PgPool,
        redis: deadpool_redis::Pool,
        redis_key_prefix: &str,
    ) -> Result<Self, ProxyError> {
        instruments::describe();
        let base_url = upstream_base_url(&settings.upstream_url)?;
        let timeout = Duration::from_secs(settings.request_timeout_secs.max(1));
        let client = reqwest::Client::builder()
            // Covers the whole exchange, body included: a streamed turn that stalls is cut.
            .timeout(timeout)
            .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
            // Usage is read from the bytes as relayed; they must be what the upstream sent,
            // even if another crate in the build enables reqwest's decompression.
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .no_zstd()
            .build()
            .map_err(ProxyError::Client)?;
        let upstream = Upstream {
            client,
            base_url,
            credentials: headers::credentials(settings)?,
            limits: limits::Limits::new(
                redis,
                redis_key_prefix,
                settings.requests_per_minute,
                db.clone(),
            ),
        };
        Ok(Self {
            upstream: Arc::new(upstream),
            prices: Arc::new(PriceList::new(&settings.prices)?),
            db,
        })
    }

    /// Serves one tunnelled connection (HTTP/1.1 with keep-alive) until the client closes it,
    /// then returns once the usage of every response on it has been written. A client that
    /// disconnects mid-response is normal (the user interrupted the turn), not an error.
    pub async fn serve<IO>(&self, io: IO, ctx: ProxyContext) -> Result<(), ProxyError>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let span = tracing::info_span!(
            "model_proxy.connection",
            org_id = %ctx.org_id,
            session_id = %ctx.session_id,
        );
        let (usage_sink, usage_rx) = tokio::sync::mpsc::unbounded_channel();
        // Spawned, not joined: if the caller drops this future, usage already seen is still
        // written (the task ends when the last response body holding a sender is dropped).
        let recorder = tokio::spawn(
            recorder::run(self.db.clone(), self.prices.clone(), usage_rx).instrument(span.clone()),
        );
        let connection = Arc::new(Connection { ctx, usage_sink });
        let upstream = self.upstream.clone();
        let service = hyper::service::service_fn(move |request| {
            let (upstream, connection) = (upstream.clone(), connection.clone());
            async move {
                let response = handler::handle(&upstream, &connection, request).await;
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let result = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(io), service)
            .instrument(span.clone())
            .await;
        // The connection future, the service and every response body are dropped by now, and
        // with them the senders: the recorder drains what is left and stops.
        if let Err(err) = recorder.await {
            tracing::error!(parent: &span, error = %err, "usage recorder failed");
        }
        match result {
            Ok(()) => Ok(()),
            Err(err) if client_went_away(&err) => {
                tracing::debug!(parent: &span, error = %err, "client closed the connection mid-response");
                Ok(())
            }
            Err(err) => Err(ProxyError::Connection(err)),
        }
    }
}

/// The configured base URL, checked, without a trailing slash (a path prefix is kept).
fn upstream_base_url(raw: &str) -> Result<String, ProxyError> {
    let url = url::Url::parse(raw).map_err(|e| ProxyError::InvalidUpstreamUrl(format!("{e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ProxyError::InvalidUpstreamUrl(format!(
            "scheme must be http or https, not {}",
            url.scheme()
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ProxyError::InvalidUpstreamUrl(
            "must not have a query or fragment".into(),
        ));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// Errors that only mean the sandbox side hung up.
fn client_went_away(err: &hyper::Error) -> bool {
    if err.is_incomplete_message() || err.is_canceled() {
        return true;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
            );
        }
        source = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_url_keeps_a_path_prefix_and_rejects_unusable_urls() {
        assert_eq!(
            upstream_base_url("https://api.anthropic.com/").expect("valid"),
            "https://api.anthropic.com"
        );
        assert_eq!(
            upstream_base_url("http://gateway:8080/anthropic").expect("valid"),
            "http://gateway:8080/anthropic"
        );
        for bad in ["not a url", "ftp://x", "https://x/?a=1", "https://x/#f"] {
            assert!(upstream_base_url(bad).is_err(), "{bad}");
        }
        let err = upstream_base_url("ftp://user:secret@host").expect_err("bad scheme");
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
