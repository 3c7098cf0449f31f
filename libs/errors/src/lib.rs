//! The error catalogue.
//!
//! Which type goes where:
//! - domain and handler code returns [`AppError`]; constructors name the [`ErrorCode`];
//! - infrastructure errors (`sqlx`, Redis, the bus) convert here, in one place, so "pool timed
//!   out" is always 503 and "row not found" is always 404 — handlers never decide that;
//! - anything unexpected becomes `internal`: logged with its cause chain, answered without it.
//!
//! REST bodies and GraphQL error extensions both carry `code` (stable, documented in
//! `docs/errors.md`), the HTTP `status`, a human `message` and, for validation, the `field`.

mod code;
#[cfg(feature = "actix")]
mod http;

pub use code::ErrorCode;

use serde::Serialize;
use std::fmt;

pub type AppResult<T> = Result<T, AppError>;

/// An error on its way to a client.
#[derive(thiserror::Error)]
pub struct AppError {
    pub code: ErrorCode,
    /// Safe to show to the caller.
    pub message: String,
    /// For validation errors: the input field at fault (`limits.memory_mb`).
    pub field: Option<String>,
    /// For rate limits and quotas: seconds until a retry may succeed.
    pub retry_after: Option<u64>,
    /// The cause, logged but never sent.
    #[source]
    pub source: Option<anyhow::Error>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            retry_after: None,
            source: None,
        }
    }

    /// Bad input in one field; the message says what is wrong with it.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = format!("{field}: {}", message.into());
        Self {
            field: Some(field),
            ..Self::new(ErrorCode::ValidationFailed, message)
        }
    }

    /// The resource does not exist *for this caller*; other organisations' resources answer
    /// the same, so existence is never leaked.
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    pub fn unavailable(what: &str, source: impl Into<anyhow::Error>) -> Self {
        Self::new(
            ErrorCode::ServiceUnavailable,
            format!("{what} is temporarily unavailable, retry shortly"),
        )
        .with_source(source)
    }

    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        Self::new(ErrorCode::Internal, ErrorCode::Internal.default_message()).with_source(source)
    }

    pub fn rate_limited(retry_after: u64, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(ErrorCode::RateLimited, message)
        }
    }

    pub fn with_source(mut self, source: impl Into<anyhow::Error>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str().to_owned(),
                message: self.message.clone(),
                field: self.field.clone(),
            },
        }
    }

    /// Logs server-side failures with their cause chain; client errors at debug.
    pub fn log(&self) {
        if self.status() >= 500 {
            match &self.source {
                Some(source) => {
                    tracing::error!(code = self.code.as_str(), error = ?source, "{}", self.message)
                }
                None => tracing::error!(code = self.code.as_str(), "{}", self.message),
            }
        } else {
            tracing::debug!(code = self.code.as_str(), "{}", self.message);
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.code.as_str(),
            self.status(),
            self.message
        )?;
        if let Some(source) = &self.source {
            write!(f, "\ncaused by: {source:?}")?;
        }
        Ok(())
    }
}

/// JSON shape of every REST error: `{"error": {"code", "message", "field"?}}`. The request id
/// travels in the `x-request-id` response header.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code from the catalogue.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => Self::not_found("resource"),
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::unavailable("the database", err)
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::conflict("a resource with these values already exists").with_source(err)
            }
            _ => Self::internal(err),
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        Self::internal(err)
    }
}
