//! Responses the proxy answers itself, shaped like the Anthropic API's errors
//! (`{"type":"error","error":{"type":…,"message":…}}`), because the CLI parses that shape and
//! shows `message` to the user; anything else would surface as an opaque failure.

use crate::body::{self, ProxyBody};
use http::{header, HeaderValue, Response, StatusCode};

/// Anthropic's error `type` values the proxy uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    InvalidRequest,
    PermissionDenied,
    NotFound,
    RequestTooLarge,
    RateLimit,
    Api,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::InvalidRequest => "invalid_request_error",
            Kind::PermissionDenied => "permission_error",
            Kind::NotFound => "not_found_error",
            Kind::RequestTooLarge => "request_too_large",
            Kind::RateLimit => "rate_limit_error",
            Kind::Api => "api_error",
        }
    }
}

/// The JSON body for an error of `kind`.
pub(crate) fn body_json(kind: Kind, message: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "error",
        "error": { "type": kind.as_str(), "message": message },
    })
}

pub(crate) fn response(status: StatusCode, kind: Kind, message: &str) -> Response<ProxyBody> {
    let mut response = Response::new(body::full(body_json(kind, message).to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A 429 with `retry-after`, which the CLI's client library reads to pace its retries.
pub(crate) fn too_many_requests(message: &str, retry_after_secs: u64) -> Response<ProxyBody> {
    let mut response = response(StatusCode::TOO_MANY_REQUESTS, Kind::RateLimit, message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_anthropic_error_shape() {
        assert_eq!(
            body_json(Kind::NotFound, "no such endpoint"),
            serde_json::json!({
                "type": "error",
                "error": { "type": "not_found_error", "message": "no such endpoint" },
            })
        );
    }

    #[test]
    fn too_many_requests_carries_retry_after() {
        let response = too_many_requests("slow down", 42);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }
}
