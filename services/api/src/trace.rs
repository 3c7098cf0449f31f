//! The root span of every request: tracing-actix-web's (method, route template, status,
//! request id, OpenTelemetry fields) plus the caller's user and organisation, recorded by the
//! auth extractor once known. Health and metrics scrapes log at debug to keep logs readable.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::HttpMessage as _;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

pub struct RootSpan;

impl RootSpanBuilder for RootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        if request.path().starts_with("/approve/") {
            // The path is a signed approval link's token, a credential: `root_span!` would
            // record it (`http.target`), so this route's span names only the template.
            let request_id = request
                .extensions()
                .get::<tracing_actix_web::RequestId>()
                .map(|id| id.to_string())
                .unwrap_or_default();
            return tracing::info_span!(
                "HTTP request",
                http.method = %request.method(),
                http.route = "/approve/{token}",
                http.target = "/approve/{token}",
                http.client_ip = %request.connection_info().realip_remote_addr().unwrap_or(""),
                http.status_code = tracing::field::Empty,
                otel.name = %format!("{} /approve/{{token}}", request.method()),
                otel.kind = "server",
                otel.status_code = tracing::field::Empty,
                trace_id = tracing::field::Empty,
                request_id = %request_id,
                exception.message = tracing::field::Empty,
                exception.details = tracing::field::Empty,
                user_id = tracing::field::Empty,
                org_id = tracing::field::Empty
            );
        }
        tracing_actix_web::root_span!(
            request,
            user_id = tracing::field::Empty,
            org_id = tracing::field::Empty
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span.clone(), outcome);
        let _enter = span.enter();
        if let Ok(res) = outcome {
            let path = res.request().path();
            let status = res.status().as_u16();
            if matches!(path, "/healthz" | "/readyz" | "/metrics") {
                tracing::debug!(status, "request completed");
            } else {
                tracing::info!(status, "request completed");
            }
        }
    }
}
