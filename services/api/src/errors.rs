//! Turning actix's own extractor failures into catalogue errors, so bad input is always a
//! clear 4xx with a JSON body — never a 500, never an HTML page.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest, HttpResponse};
use rc_errors::{AppError, ErrorCode};

pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |err, _req| {
            let app = match &err {
                JsonPayloadError::ContentType => AppError::new(
                    ErrorCode::UnsupportedMediaType,
                    "unsupported content type; send application/json",
                ),
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => AppError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("the request body exceeds {limit} bytes"),
                ),
                JsonPayloadError::Deserialize(e) if e.is_data() => {
                    let msg = e.to_string();
                    let field = field_from_serde(&msg);
                    let mut app = AppError::new(
                        ErrorCode::ValidationFailed,
                        format!("invalid request body: {msg}"),
                    );
                    app.field = field;
                    app
                }
                JsonPayloadError::Deserialize(e) => AppError::new(
                    ErrorCode::MalformedBody,
                    format!("the request body is not valid JSON: {e}"),
                ),
                other => AppError::new(
                    ErrorCode::MalformedBody,
                    format!("cannot read the request body: {other}"),
                ),
            };
            app.into()
        })
}

/// serde names the field in its messages (`missing field \`name\``, `unknown field \`x\``).
fn field_from_serde(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let end = start + msg[start..].find('`')?;
    let name = &msg[start..end];
    (msg.starts_with("missing field") || msg.starts_with("unknown field")).then(|| name.to_owned())
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let msg = match &err {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        AppError::new(
            ErrorCode::InvalidQuery,
            format!("invalid query string: {msg}"),
        )
        .into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        let msg = match &err {
            PathError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        AppError::new(
            ErrorCode::InvalidPath,
            format!("invalid path parameter: {msg}"),
        )
        .into()
    })
}

/// Unknown API routes answer JSON 404.
pub async fn route_not_found(req: HttpRequest) -> actix_web::Result<HttpResponse> {
    Err(AppError::new(
        ErrorCode::RouteNotFound,
        format!("no route for {} {}", req.method(), req.path()),
    )
    .into())
}

/// A known route called with a method it does not support.
pub async fn method_not_allowed(req: HttpRequest) -> actix_web::Result<HttpResponse> {
    Err(AppError::new(
        ErrorCode::MethodNotAllowed,
        format!("{} is not supported on {}", req.method(), req.path()),
    )
    .into())
}
