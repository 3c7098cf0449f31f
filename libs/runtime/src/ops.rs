//! `/healthz`, `/readyz` and `/metrics`, identical on every service.
//!
//! - `/healthz`: the process is alive and serving — never touches dependencies, so a database
//!   outage does not make the orchestrator restart healthy processes;
//! - `/readyz`: every dependency answers; 503 with the failing ones named otherwise;
//! - `/metrics`: Prometheus text exposition of the process-wide recorder.

use actix_web::{web, HttpResponse};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

type CheckFn = dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync;

/// Named dependency checks run by `/readyz`, concurrently, each bounded by a timeout.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, Arc<CheckFn>)>,
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn check<F, Fut>(mut self, name: &'static str, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks.push((name, Arc::new(move || Box::pin(f()))));
        self
    }

    /// Runs every check; returns per-dependency results.
    pub async fn run(&self) -> Vec<(&'static str, Result<(), String>)> {
        let futures = self.checks.iter().map(|(name, check)| {
            let check = check.clone();
            async move {
                let result = match tokio::time::timeout(Duration::from_secs(2), check()).await {
                    Ok(result) => result,
                    Err(_) => Err("timed out after 2s".to_owned()),
                };
                (*name, result)
            }
        });
        futures::future::join_all(futures).await
    }
}

/// Registers the three ops routes. Requires `web::Data<Readiness>` and
/// `web::Data<rc_telemetry::PrometheusHandle>` in the app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let results = readiness.run().await;
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    for (name, result) in results {
        let value = match result {
            Ok(()) => serde_json::json!({ "status": "ok" }),
            Err(err) => {
                ready = false;
                tracing::warn!(dependency = name, %err, "readiness check failed");
                serde_json::json!({ "status": "failing", "error": err })
            }
        };
        checks.insert(name.to_owned(), value);
    }
    let body = serde_json::json!({ "status": if ready { "ready" } else { "not_ready" }, "checks": checks });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics(handle: web::Data<rc_telemetry::PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}

/// A running ops-only HTTP server (the services whose only HTTP surface is health, readiness
/// and metrics). Built with the listener already bound, so tests pass port 0 and read the real
/// port before anything runs.
pub struct OpsServer {
    port: u16,
    server: actix_web::dev::Server,
}

impl OpsServer {
    pub fn bind(
        service: &'static str,
        host: &str,
        port: u16,
        readiness: Readiness,
    ) -> std::io::Result<Self> {
        Self::bind_with(service, host, port, readiness, |_| {})
    }

    /// [`OpsServer::bind`] plus the service's own (internal) routes on the same listener.
    pub fn bind_with<F>(
        service: &'static str,
        host: &str,
        port: u16,
        readiness: Readiness,
        routes: F,
    ) -> std::io::Result<Self>
    where
        F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    {
        let listener = std::net::TcpListener::bind((host, port))?;
        let port = listener.local_addr()?.port();
        let readiness = web::Data::new(readiness);
        let metrics = web::Data::new(rc_telemetry::prometheus_handle());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .wrap(actix_web::middleware::from_fn(move |req, next| {
                    crate::http_metrics::record(service, req, next)
                }))
                .app_data(readiness.clone())
                .app_data(metrics.clone())
                .configure(configure)
                .configure(routes.clone())
        })
        .workers(1)
        // Signals are handled by the service, which drains its own work first.
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `stop` resolves, then stops gracefully.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        let handle = self.server.handle();
        let server = self.server;
        tokio::pin!(server);
        tokio::select! {
            res = &mut server => res,
            () = stop => {
                // The server future must keep being polled while it processes the stop.
                let ((), res) = tokio::join!(handle.stop(true), &mut server);
                res
            }
        }
    }
}
