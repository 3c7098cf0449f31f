//! Per-client rate limiting (GCRA via `governor`), before authentication so that floods of
//! bad credentials are limited too. The key is the client address (see `client_ip`).
//!
//! Limits are per api instance; with N replicas the effective limit is N times higher, which
//! is acceptable for abuse protection (budgets and quotas are enforced in the database).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::ResponseError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rc_config::RateLimitSettings;
use rc_errors::AppError;
use sha2::Digest;
use std::num::NonZeroU32;
use std::sync::Arc;

#[derive(Clone)]
pub struct Limiter {
    inner: Arc<DefaultKeyedRateLimiter<[u8; 16]>>,
}

impl Limiter {
    pub fn new(settings: &RateLimitSettings) -> Self {
        let per_second = NonZeroU32::new(settings.per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(settings.burst.max(settings.per_second)).unwrap_or(per_second);
        Self {
            inner: Arc::new(RateLimiter::keyed(
                Quota::per_second(per_second).allow_burst(burst),
            )),
        }
    }

    /// The client address. Keying on the presented credential would let anyone mint a fresh
    /// bucket per request with a made-up token; behind a trusted proxy the forwarded client
    /// address is used (`api.trusted_proxies`).
    fn key(req: &ServiceRequest) -> [u8; 16] {
        let source = crate::auth::extract::request_client_ip(req.request())
            .map(|ip| ip.to_string())
            .unwrap_or_default();
        let digest = sha2::Sha256::digest(source.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        key
    }

    /// Keys idle long enough to be full again are dropped so memory stays bounded.
    pub fn housekeeping(&self) {
        self.inner.retain_recent();
    }
}

pub async fn limit(
    limiter: Limiter,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Health checks and scrapes are never limited: orchestrators must always see the truth.
    if matches!(req.path(), "/healthz" | "/readyz" | "/metrics") {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    match limiter.inner.check_key(&Limiter::key(&req)) {
        Ok(()) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body),
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let err = AppError::rate_limited(
                wait.as_secs_f64().ceil() as u64,
                "too many requests; slow down and retry after the time in Retry-After",
            );
            let response = err.error_response();
            Ok(req.into_response(response))
        }
    }
}
