//! One model request, from the sandbox's bytes to the relayed response: route check, limits,
//! credential swap, forwarding, metering.

use crate::api_error::{self, Kind};
use crate::body::{BoxError, ProxyBody};
use crate::endpoint::{self, Endpoint, Rejection};
use crate::headers;
use crate::instruments;
use crate::limits::{LimitError, Limits};
use crate::metered_body::{Meter, MeteredBody, UsageReader};
use crate::recorder::{self, Attribution};
use crate::ProxyContext;
use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Limited};
use std::time::Instant;
use tracing::Instrument as _;

/// The Messages API refuses bodies over 32 MB; refusing them here saves the upload.
const MAX_REQUEST_BYTES: usize = 32 << 20;

/// Shared by every connection of one [`crate::ModelProxy`].
pub(crate) struct Upstream {
    pub client: reqwest::Client,
    /// Base URL without a trailing slash; a path prefix (a gateway) is kept.
    pub base_url: String,
    /// Pre-built, marked sensitive.
    pub credentials: http::HeaderMap,
    pub limits: Limits,
}

/// Per tunnelled connection.
pub(crate) struct Connection {
    pub ctx: ProxyContext,
    pub usage_sink: recorder::Sender,
}

pub(crate) async fn handle<B>(
    upstream: &Upstream,
    conn: &Connection,
    request: Request<B>,
) -> Response<ProxyBody>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let endpoint = endpoint::classify(request.method(), request.uri().path());
    let span = tracing::info_span!(
        "model_proxy.request",
        org_id = %conn.ctx.org_id,
        session_id = %conn.ctx.session_id,
        endpoint = endpoint.map(Endpoint::name).unwrap_or("other"),
        status = tracing::field::Empty,
    );
    let response = async {
        let response = match endpoint {
            Ok(endpoint) => forward(upstream, conn, endpoint, request).await,
            Err(rejection) => reject(&rejection, &request),
        };
        tracing::Span::current().record("status", response.status().as_u16());
        tracing::debug!("answered");
        response
    }
    .instrument(span)
    .await;
    instruments::request(response.status());
    response
}

fn reject<B>(rejection: &Rejection, request: &Request<B>) -> Response<ProxyBody> {
    let (method, path) = (request.method(), request.uri().path());
    match rejection {
        Rejection::NotFound => api_error::response(
            StatusCode::NOT_FOUND,
            Kind::NotFound,
            &format!(
                "{method} {path} is not available in this sandbox; only POST /v1/messages and \
                 POST /v1/messages/count_tokens are"
            ),
        ),
        Rejection::MethodNotAllowed => {
            let mut response = api_error::response(
                StatusCode::METHOD_NOT_ALLOWED,
                Kind::InvalidRequest,
                &format!("{path} accepts only POST, not {method}"),
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            response
        }
    }
}

async fn forward<B>(
    upstream: &Upstream,
    conn: &Connection,
    endpoint: Endpoint,
    request: Request<B>,
) -> Response<ProxyBody>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let ctx = &conn.ctx;
    // Read now: the task running when the request was made is the one that caused it.
    let task_id = *ctx.task_id.borrow();
    let (parts, body) = request.into_parts();

    // Buffered: requests are bounded (see MAX_REQUEST_BYTES), and a complete body lets an
    // oversized one be refused with a proper error instead of a cut upload.
    let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            return api_error::response(
                StatusCode::PAYLOAD_TOO_LARGE,
                Kind::RequestTooLarge,
                &format!("Request body exceeds {} MB", MAX_REQUEST_BYTES >> 20),
            );
        }
        Err(err) => {
            tracing::debug!(error = %err, "could not read the request body");
            return api_error::response(
                StatusCode::BAD_REQUEST,
                Kind::InvalidRequest,
                "Could not read the request body",
            );
        }
    };

    if let Some(refusal) = egress_through_the_api(&body) {
        tracing::info!(%refusal, "model request refused: server-side egress");
        return api_error::response(StatusCode::FORBIDDEN, Kind::PermissionDenied, refusal);
    }

    if endpoint == Endpoint::Messages {
        match upstream.limits.check(ctx.org_id, chrono::Utc::now()).await {
            Ok(None) => {}
            Ok(Some(denial)) => {
                tracing::info!(limit = denial.limit, "model request refused by a limit");
                return api_error::too_many_requests(&denial.message, denial.retry_after_secs);
            }
            Err(LimitError::UnknownOrg) => {
                return api_error::response(
                    StatusCode::FORBIDDEN,
                    Kind::PermissionDenied,
                    "The session's organisation no longer exists",
                );
            }
            // Without the budget there is no metering either: refuse rather than serve
            // unbilled. 503 is retryable for the CLI.
            Err(err @ LimitError::Database(_)) => {
                tracing::error!(error = %err, "model request refused: budget unavailable");
                return api_error::response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Kind::Api,
                    "Usage accounting is temporarily unavailable; try again shortly",
                );
            }
        }
    }

    let mut url = format!("{}{}", upstream.base_url, endpoint.path());
    if let Some(query) = parts.uri.query() {
        url.push('?');
        url.push_str(query);
    }
    if upstream.credentials.is_empty() {
        tracing::debug!("no model credential configured; forwarding without one");
    }
    let started = Instant::now();
    let sent = upstream
        .client
        .post(url)
        .headers(headers::upstream_request(
            &parts.headers,
            &upstream.credentials,
        ))
        .body(body)
        .send()
        .await;
    metrics::histogram!(instruments::UPSTREAM_SECONDS).record(started.elapsed().as_secs_f64());
    let response = match sent {
        Ok(response) => response,
        Err(err) => return upstream_failed(err),
    };

    let status = response.status();
    let meter = match endpoint {
        Endpoint::Messages => response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(UsageReader::for_content_type)
            .map(|reader| Meter {
                reader,
                attribution: Attribution {
                    org_id: ctx.org_id,
                    user_id: ctx.user_id,
                    session_id: ctx.session_id,
                    task_id,
                },
                sink: conn.usage_sink.clone(),
            }),
        Endpoint::CountTokens => None,
    };
    let headers = headers::client_response(response.headers());
    let mut relayed = Response::new(
        MeteredBody::new(response, meter)
            .map_err(BoxError::from)
            .boxed_unsync(),
    );
    *relayed.status_mut() = status;
    *relayed.headers_mut() = headers;
    relayed
}

/// 502 (504 on timeout) without the error's text: it may name the upstream URL, which may
/// carry gateway credentials, and it means nothing to the user anyway.
/// Features that make the model API itself reach the network on the sandbox's behalf, which
/// would turn a `--network none` sandbox into one with egress: remote MCP servers and the
/// server-side web fetch tool (a URL of the sandbox's choosing, query string and all). Web
/// search stays: its queries go to the search provider, not to hosts the sandbox names.
fn egress_through_the_api(body: &[u8]) -> Option<&'static str> {
    let request: serde_json::Value = serde_json::from_slice(body).ok()?;
    if request
        .get("mcp_servers")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|servers| !servers.is_empty())
    {
        return Some("Remote MCP servers are not available from a Remote Claude sandbox");
    }
    let fetches = request
        .get("tools")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|tools| {
            tools.iter().any(|tool| {
                tool.get("type")
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|t| t.starts_with("web_fetch"))
            })
        });
    fetches
        .then_some("The server-side web fetch tool is not available from a Remote Claude sandbox")
}

fn upstream_failed(err: reqwest::Error) -> Response<ProxyBody> {
    // Debug, for the underlying cause (connection refused, DNS, TLS).
    let err = err.without_url();
    tracing::warn!(error = ?err, "upstream model API unreachable");
    if err.is_timeout() {
        api_error::response(
            StatusCode::GATEWAY_TIMEOUT,
            Kind::Api,
            "The model API did not answer in time",
        )
    } else {
        api_error::response(
            StatusCode::BAD_GATEWAY,
            Kind::Api,
            "The model API is unreachable from the session's host",
        )
    }
}

#[cfg(test)]
mod egress_tests {
    use super::egress_through_the_api;

    #[test]
    fn remote_mcp_and_web_fetch_are_refused_web_search_and_client_tools_pass() {
        let refused = |body: serde_json::Value| egress_through_the_api(body.to_string().as_bytes());
        assert!(
            refused(serde_json::json!({"mcp_servers": [{"type": "url", "url": "https://x"}]}))
                .is_some()
        );
        assert!(refused(
            serde_json::json!({"tools": [{"type": "web_fetch_20250910", "name": "web_fetch"}]})
        )
        .is_some());
        assert!(refused(serde_json::json!({"mcp_servers": [], "tools": [{"type": "web_search_20250305", "name": "web_search"}, {"name": "Bash", "input_schema": {}}]})).is_none());
        assert!(egress_through_the_api(b"not json").is_none());
    }
}
