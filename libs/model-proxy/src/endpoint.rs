//! The only API calls a sandbox may make. Everything else the CLI can reach (`/v1/files`,
//! `/v1/models`, …) is refused: each extra endpoint is another way to spend the organisation's
//! credential or move data, and the CLI's chat loop needs only these two.

use http::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST /v1/messages`: metered and limited.
    Messages,
    /// `POST /v1/messages/count_tokens`: free upstream, so neither metered nor limited.
    CountTokens,
}

impl Endpoint {
    /// The path forwarded upstream. A constant rather than the client's path, so nothing the
    /// sandbox writes into the path (dot segments, encodings) reaches the upstream.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Endpoint::Messages => "/v1/messages",
            Endpoint::CountTokens => "/v1/messages/count_tokens",
        }
    }

    /// Low-cardinality name for spans and logs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Endpoint::Messages => "messages",
            Endpoint::CountTokens => "count_tokens",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    NotFound,
    MethodNotAllowed,
}

pub(crate) fn classify(method: &Method, path: &str) -> Result<Endpoint, Rejection> {
    let endpoint = match path {
        "/v1/messages" => Endpoint::Messages,
        "/v1/messages/count_tokens" => Endpoint::CountTokens,
        _ => return Err(Rejection::NotFound),
    };
    if method == Method::POST {
        Ok(endpoint)
    } else {
        Err(Rejection::MethodNotAllowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_two_message_endpoints_are_allowed_and_only_for_post() {
        let cases = [
            (Method::POST, "/v1/messages", Ok(Endpoint::Messages)),
            (
                Method::POST,
                "/v1/messages/count_tokens",
                Ok(Endpoint::CountTokens),
            ),
            (
                Method::GET,
                "/v1/messages",
                Err(Rejection::MethodNotAllowed),
            ),
            (
                Method::PUT,
                "/v1/messages/count_tokens",
                Err(Rejection::MethodNotAllowed),
            ),
            (Method::POST, "/v1/messages/", Err(Rejection::NotFound)),
            (Method::POST, "/v1/files", Err(Rejection::NotFound)),
            (Method::GET, "/v1/models", Err(Rejection::NotFound)),
            (Method::HEAD, "/api/hello", Err(Rejection::NotFound)),
            (
                Method::POST,
                "/v1/messages/../files",
                Err(Rejection::NotFound),
            ),
            (Method::POST, "/", Err(Rejection::NotFound)),
        ];
        for (method, path, expected) in cases {
            assert_eq!(classify(&method, path), expected, "{method} {path}");
        }
    }
}
