//! Per-route Prometheus metrics: `rc_http_requests_total`, `rc_http_request_duration_seconds`
//! and `rc_http_errors_total`. Labels use the route *template* (`/api/v1/sessions/{id}`), never
//! the raw path, so cardinality stays bounded.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use rc_errors::ErrorCode;
use std::time::Instant;

/// `actix_web::middleware::from_fn(move |req, next| http_metrics::record("api", req, next))`.
pub async fn record(
    service: &'static str,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let res = next.call(req).await;
    let elapsed = started.elapsed().as_secs_f64();
    let (route, status, code) = match &res {
        Ok(res) => (
            res.request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned()),
            res.status().as_u16(),
            res.response()
                .extensions()
                .get::<ErrorCode>()
                .map(|c| c.as_str()),
        ),
        Err(err) => (
            "unmatched".to_owned(),
            err.as_response_error().status_code().as_u16(),
            None,
        ),
    };
    let status_label = status.to_string();
    metrics::counter!("rc_http_requests_total", "service" => service, "method" => method.clone(), "route" => route.clone(), "status" => status_label).increment(1);
    metrics::histogram!("rc_http_request_duration_seconds", "service" => service, "method" => method.clone(), "route" => route.clone()).record(elapsed);
    if status >= 400 {
        let code = code.unwrap_or(if status >= 500 { "internal" } else { "other" });
        metrics::counter!("rc_http_errors_total", "service" => service, "method" => method, "route" => route, "code" => code).increment(1);
    }
    res
}
