//! The root span of every request: tracing-actix-web's (method, route template, status,
//! request id, OpenTelemetry fields) plus the caller's user and organisation, recorded by the
//! auth extractor once known. Health and metrics scrapes log at debug to keep logs readable.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

pub struct RootSpan;

impl RootSpanBuilder for RootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
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
