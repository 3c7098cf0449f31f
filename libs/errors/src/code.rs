/// Every error a client can receive. Codes are part of the API: never rename one; add new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Input failed validation; `field` names the culprit.
    ValidationFailed,
    /// The body is not valid JSON or does not match the expected shape.
    MalformedBody,
    /// A query string parameter is missing or unparsable.
    InvalidQuery,
    /// A path parameter is malformed (e.g. not a UUID).
    InvalidPath,
    UnsupportedMediaType,
    PayloadTooLarge,
    /// No credentials, or expired/revoked ones.
    Unauthenticated,
    /// Cookie-authenticated mutation without a valid CSRF token, or from a foreign origin.
    CsrfRejected,
    /// Authenticated, but the role or token scope does not allow this.
    Forbidden,
    NotFound,
    RouteNotFound,
    MethodNotAllowed,
    /// The request conflicts with the current state (duplicate, already decided, wrong state).
    Conflict,
    /// A conditional request's precondition (`If-Match`) does not hold: the resource changed
    /// since the caller read it.
    PreconditionFailed,
    /// Too many requests from this caller; see `Retry-After`.
    RateLimited,
    /// A configured limit (sessions per user, budget) is reached.
    QuotaExceeded,
    /// Login via OIDC failed (state mismatch, unverified e-mail, address not allowed…).
    LoginFailed,
    /// A feature that is not enabled in this installation (dev login in production, no OIDC).
    FeatureDisabled,
    /// A dependency (database, Redis, bus, identity provider) is down.
    ServiceUnavailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: &'static [ErrorCode] = &[
        Self::ValidationFailed,
        Self::MalformedBody,
        Self::InvalidQuery,
        Self::InvalidPath,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::Unauthenticated,
        Self::CsrfRejected,
        Self::Forbidden,
        Self::NotFound,
        Self::RouteNotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::PreconditionFailed,
        Self::RateLimited,
        Self::QuotaExceeded,
        Self::LoginFailed,
        Self::FeatureDisabled,
        Self::ServiceUnavailable,
        Self::Internal,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ValidationFailed => "validation_failed",
            Self::MalformedBody => "malformed_body",
            Self::InvalidQuery => "invalid_query",
            Self::InvalidPath => "invalid_path",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Unauthenticated => "unauthenticated",
            Self::CsrfRejected => "csrf_rejected",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::RouteNotFound => "route_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::PreconditionFailed => "precondition_failed",
            Self::RateLimited => "rate_limited",
            Self::QuotaExceeded => "quota_exceeded",
            Self::LoginFailed => "login_failed",
            Self::FeatureDisabled => "feature_disabled",
            Self::ServiceUnavailable => "service_unavailable",
            Self::Internal => "internal",
        }
    }

    pub const fn status(self) -> u16 {
        match self {
            Self::ValidationFailed
            | Self::MalformedBody
            | Self::InvalidQuery
            | Self::InvalidPath => 400,
            Self::LoginFailed => 400,
            Self::Unauthenticated => 401,
            Self::CsrfRejected | Self::Forbidden | Self::FeatureDisabled => 403,
            Self::NotFound | Self::RouteNotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict => 409,
            Self::PreconditionFailed => 412,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::RateLimited | Self::QuotaExceeded => 429,
            Self::Internal => 500,
            Self::ServiceUnavailable => 503,
        }
    }

    pub const fn default_message(self) -> &'static str {
        match self {
            Self::ValidationFailed => "the input is invalid",
            Self::MalformedBody => "the request body could not be parsed",
            Self::InvalidQuery => "the query string is invalid",
            Self::InvalidPath => "the path is invalid",
            Self::UnsupportedMediaType => "unsupported content type; send application/json",
            Self::PayloadTooLarge => "the request body is too large",
            Self::Unauthenticated => "authentication required",
            Self::CsrfRejected => "missing or invalid CSRF token",
            Self::Forbidden => "you are not allowed to do this",
            Self::NotFound => "not found",
            Self::RouteNotFound => "no such route",
            Self::MethodNotAllowed => "method not allowed on this route",
            Self::Conflict => "conflict with the current state",
            Self::PreconditionFailed => "the resource changed since you read it",
            Self::RateLimited => "too many requests",
            Self::QuotaExceeded => "a limit of your organisation is reached",
            Self::LoginFailed => "login failed",
            Self::FeatureDisabled => "this feature is disabled",
            Self::ServiceUnavailable => "a dependency is temporarily unavailable",
            Self::Internal => "internal error; the request id identifies it in the logs",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            assert!(
                seen.insert(code.as_str()),
                "duplicate code {}",
                code.as_str()
            );
            assert!((400..600).contains(&code.status()));
            assert!(!code.default_message().is_empty());
        }
    }
}
