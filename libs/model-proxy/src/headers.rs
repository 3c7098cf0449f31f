//! Which headers cross the proxy, and the credential swap: the sandbox only ever holds a
//! dummy key, the real one is added here, on the far side of the sandbox boundary.

use crate::error::ProxyError;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use rc_config::ModelProxySettings;

/// Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy ones proxies still see): they describe
/// one connection and must not be forwarded.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// Removed from requests besides the hop-by-hop ones:
/// - the sandbox's credentials (both: the CLI sends both when both variables are set);
/// - `host` and `content-length`, which the upstream client sets for the upstream request, and
///   `expect`, answered here (the body is read before forwarding);
/// - `accept-encoding`, so the upstream answers uncompressed and the usage in the response can
///   be read as it passes (the tunnel is local, compression would save nothing).
const REQUEST_ONLY: [HeaderName; 7] = [
    HeaderName::from_static("x-api-key"),
    header::AUTHORIZATION,
    header::HOST,
    header::CONTENT_LENGTH,
    header::EXPECT,
    header::ACCEPT_ENCODING,
    header::UPGRADE,
];

/// The configured credential as headers, marked sensitive so they never appear in `Debug`
/// output. Empty when none is configured (the scripted fake model accepts that). Both are
/// sent when both are configured, as the CLI itself does.
pub(crate) fn credentials(settings: &ModelProxySettings) -> Result<HeaderMap, ProxyError> {
    let mut headers = HeaderMap::new();
    if let Some(key) = settings.api_key.as_ref().filter(|s| !s.is_empty()) {
        let mut value = HeaderValue::from_str(key.expose())
            .map_err(|_| ProxyError::InvalidCredential("api_key"))?;
        value.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-api-key"), value);
    }
    if let Some(token) = settings.auth_token.as_ref().filter(|s| !s.is_empty()) {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| ProxyError::InvalidCredential("auth_token"))?;
        value.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, value);
    }
    Ok(headers)
}

/// The sandbox request's headers as sent upstream: everything the CLI sent
/// (`anthropic-version`, `anthropic-beta`, `user-agent`, `content-type`, custom headers…)
/// except credentials and per-connection headers, plus the configured credential.
pub(crate) fn upstream_request(incoming: &HeaderMap, credentials: &HeaderMap) -> HeaderMap {
    let mut headers = end_to_end(incoming);
    for name in &REQUEST_ONLY {
        headers.remove(name);
    }
    for (name, value) in credentials {
        headers.insert(name.clone(), value.clone());
    }
    headers
}

/// The upstream response's headers as sent to the sandbox (`request-id`, rate-limit headers,
/// `retry-after` and the rest pass). `content-length` is left to the body's size hint, so a
/// relayed stream and its framing cannot disagree.
pub(crate) fn client_response(upstream: &HeaderMap) -> HeaderMap {
    let mut headers = end_to_end(upstream);
    headers.remove(header::CONTENT_LENGTH);
    headers
}

/// `headers` without hop-by-hop headers, including those the `Connection` header names.
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let named_by_connection: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    let mut out = headers.clone();
    for name in HOP_BY_HOP.iter().chain(&named_by_connection) {
        out.remove(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rc_config::Secret;

    fn cli_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in [
            ("x-api-key", "sk-ant-dummy"),
            ("authorization", "Bearer tok-dummy-123"),
            ("anthropic-version", "2023-06-01"),
            ("anthropic-beta", "claude-code-20250219"),
            ("content-type", "application/json"),
            ("user-agent", "claude-cli/2.1.328 (external, sdk-cli)"),
            ("x-claude-code-session-id", "abc"),
            ("accept-encoding", "gzip, deflate, br, zstd"),
            ("connection", "keep-alive, x-per-hop"),
            ("x-per-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("host", "127.0.0.1:8787"),
            ("content-length", "123"),
            ("proxy-authorization", "Basic eA=="),
            ("expect", "100-continue"),
        ] {
            h.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        h
    }

    fn settings(api_key: Option<&str>, auth_token: Option<&str>) -> ModelProxySettings {
        ModelProxySettings {
            api_key: api_key.map(Secret::new),
            auth_token: auth_token.map(Secret::new),
            ..ModelProxySettings::default()
        }
    }

    #[test]
    fn sandbox_credentials_are_replaced_and_the_rest_kept() {
        let creds = credentials(&settings(Some("sk-ant-real"), None)).expect("valid");
        let out = upstream_request(&cli_headers(), &creds);
        assert_eq!(out["x-api-key"], "sk-ant-real");
        assert!(out["x-api-key"].is_sensitive());
        assert!(out.get(header::AUTHORIZATION).is_none());
        for kept in [
            "anthropic-version",
            "anthropic-beta",
            "content-type",
            "user-agent",
            "x-claude-code-session-id",
        ] {
            assert_eq!(out[kept], cli_headers()[kept], "{kept}");
        }
        for dropped in [
            "accept-encoding",
            "connection",
            "x-per-hop",
            "keep-alive",
            "host",
            "content-length",
            "proxy-authorization",
            "expect",
        ] {
            assert!(out.get(dropped).is_none(), "{dropped} forwarded");
        }
    }

    #[test]
    fn auth_token_becomes_a_bearer_header_and_none_configured_sends_none() {
        let creds = credentials(&settings(None, Some("oauth-tok"))).expect("valid");
        let out = upstream_request(&cli_headers(), &creds);
        assert_eq!(out[header::AUTHORIZATION], "Bearer oauth-tok");
        assert!(out.get("x-api-key").is_none());

        let none = credentials(&settings(Some(""), None)).expect("valid");
        assert!(none.is_empty(), "an empty secret counts as not configured");
        let out = upstream_request(&cli_headers(), &none);
        assert!(out.get("x-api-key").is_none());
        assert!(out.get(header::AUTHORIZATION).is_none());
    }

    #[test]
    fn credential_errors_name_the_setting_not_the_value() {
        let err = credentials(&settings(Some("bad\nkey"), None)).expect_err("invalid");
        let text = err.to_string();
        assert!(text.contains("api_key"), "{text}");
        assert!(!text.contains("bad"), "{text}");
    }

    #[test]
    fn response_headers_lose_hop_by_hop_and_length_only() {
        let mut upstream = HeaderMap::new();
        upstream.insert("request-id", HeaderValue::from_static("req_1"));
        upstream.insert("retry-after", HeaderValue::from_static("3"));
        upstream.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        upstream.insert("content-length", HeaderValue::from_static("10"));
        let out = client_response(&upstream);
        assert_eq!(out["request-id"], "req_1");
        assert_eq!(out["retry-after"], "3");
        assert!(out.get("transfer-encoding").is_none());
        assert!(out.get("content-length").is_none());
    }
}
