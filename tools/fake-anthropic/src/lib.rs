//! fake-anthropic: a scripted stand-in for the Anthropic Messages API.
//!
//! The real Claude Code CLI (and our API proxy) talk to it exactly as to
//! `https://api.anthropic.com`; directives in the last user message (see [`scenario`]) choose
//! the reply, so end-to-end tests, benchmarks and the key-less local run get deterministic
//! model behaviour: text, slow or long streams, thinking, tool calls that complete a full agent
//! loop, and API errors. Every request is logged in memory for tests to inspect
//! (`GET /_fake/requests`).
//!
//! Routes are matched on the path *suffix*, because clients keep a path prefix of their base
//! URL (`ANTHROPIC_BASE_URL=http://proxy/sess/abc` → `POST /sess/abc/v1/messages?beta=true`).

pub mod encode;
pub mod reply;
pub mod requests;
pub mod scenario;

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt as _;
use reply::Plan;
use requests::{LoggedRequest, RequestLog};
use serde_json::{json, Value};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

pub const SERVICE: &str = "fake-anthropic";
/// The CLI's first request is ~50 KB and grows with the conversation; long sessions with big
/// tool outputs reach megabytes. Far above anything real, far below memory trouble.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    /// 0 picks a free port (tests); read it back with [`FakeAnthropic::port`].
    pub port: u16,
    /// Request-log entries kept; the oldest are dropped beyond this.
    pub max_logged_requests: usize,
    pub workers: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8090,
            max_logged_requests: 1_000,
            workers: 2,
        }
    }
}

struct State {
    log: RequestLog,
}

/// A bound, not yet running server: the port is known before anything is served, so callers
/// can hand out the base URL first and tests can use port 0.
pub struct FakeAnthropic {
    addr: SocketAddr,
    server: actix_web::dev::Server,
}

impl FakeAnthropic {
    pub fn bind(config: &Config) -> std::io::Result<Self> {
        let listener = TcpListener::bind((config.host.as_str(), config.port))?;
        let addr = listener.local_addr()?;
        let state = web::Data::from(Arc::new(State {
            log: RequestLog::new(config.max_logged_requests),
        }));
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .route("/healthz", web::get().to(healthz))
                .route("/_fake/requests", web::get().to(list_requests))
                .route("/_fake/requests", web::delete().to(clear_requests))
                .default_service(web::to(api))
        })
        .workers(config.workers.max(1))
        // main() owns signal handling; streams are scripted, so there is nothing worth a
        // long drain on shutdown.
        .disable_signals()
        .shutdown_timeout(2)
        .listen(listener)?
        .run();
        Ok(Self { addr, server })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The URL to put in `ANTHROPIC_BASE_URL`; a wildcard bind address is reached via loopback.
    pub fn base_url(&self) -> String {
        let ip = if self.addr.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            self.addr.ip()
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    pub async fn run_until_stopped(self, stop: impl Future<Output = ()>) -> std::io::Result<()> {
        tracing::info!(base_url = %self.base_url(), "{SERVICE} listening");
        let handle = self.server.handle();
        let server = self.server;
        tokio::pin!(server);
        tokio::select! {
            res = &mut server => res,
            () = stop => {
                // The server future must keep being polled while it processes the stop.
                let ((), res) = tokio::join!(handle.stop(true), &mut server);
                tracing::info!("{SERVICE} stopped");
                res
            }
        }
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn list_requests(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok().json(state.log.snapshot())
}

async fn clear_requests(state: web::Data<State>) -> HttpResponse {
    state.log.clear();
    HttpResponse::NoContent().finish()
}

/// Every API-looking request: answered, traced and logged.
async fn api(req: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let (response, scenario) = route(&req, &body);
    let status = response.status().as_u16();
    tracing::info!(method = %req.method(), path = req.path(), %scenario, status, "request");
    state.log.push(LoggedRequest {
        seq: 0,
        method: req.method().to_string(),
        path: req.path().to_owned(),
        query: req.query_string().to_owned(),
        headers: requests::headers(
            req.headers()
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_bytes())),
        ),
        body: requests::body(&body),
        body_bytes: body.len(),
        scenario,
        status,
    });
    response
}

fn route(req: &HttpRequest, body: &[u8]) -> (HttpResponse, String) {
    let path = req.path().trim_end_matches('/');
    let method = req.method();
    if *method == Method::POST && path.ends_with("/v1/messages") {
        messages(body)
    } else if *method == Method::POST && path.ends_with("/v1/messages/count_tokens") {
        count_tokens(body)
    } else if (*method == Method::HEAD || *method == Method::GET) && path.ends_with("/api/hello") {
        // The CLI's connectivity pre-check (only without
        // CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC); any 200 will do.
        (HttpResponse::Ok().finish(), "hello".to_owned())
    } else if *method == Method::GET && path.ends_with("/v1/models") {
        let data: Vec<Value> = MODELS.iter().map(|id| model(id)).collect();
        let body = json!({
            "data": data,
            "has_more": false,
            "first_id": MODELS.first(),
            "last_id": MODELS.last(),
        });
        (HttpResponse::Ok().json(body), "models".to_owned())
    } else if let (true, Some((_, id))) = (*method == Method::GET, path.split_once("/v1/models/")) {
        // Any model id exists here, as the fake answers for any model name.
        (HttpResponse::Ok().json(model(id)), "models".to_owned())
    } else {
        let error = reply::ApiError {
            status: 404,
            message: format!("fake-anthropic does not implement {method} {path}"),
            retry_after: None,
        };
        (error_response(&error), "not-found".to_owned())
    }
}

const MODELS: [&str; 3] = ["claude-opus-5-5", "claude-sonnet-4-5", "claude-haiku-4-5"];

fn model(id: &str) -> Value {
    json!({
        "type": "model",
        "id": id,
        "display_name": format!("{id} (fake)"),
        "created_at": "2025-01-01T00:00:00Z",
    })
}

fn parse_json(body: &[u8]) -> Result<Value, reply::ApiError> {
    serde_json::from_slice(body).map_err(|e| reply::ApiError {
        status: 400,
        message: format!("request body is not valid JSON: {e}"),
        retry_after: None,
    })
}

fn messages(body: &[u8]) -> (HttpResponse, String) {
    let request = match parse_json(body) {
        Ok(request) => request,
        Err(err) => return (error_response(&err), "invalid-request".to_owned()),
    };
    let (plan, label) = reply::plan(&request, body.len());
    let reply = match plan {
        Plan::Message(reply) => reply,
        Plan::Error(err) => return (error_response(&err), label),
    };
    let id = format!("msg_fake_{}", uuid::Uuid::new_v4().simple());
    let stream = request.get("stream").and_then(Value::as_bool) == Some(true);
    if !stream {
        let response = ok_builder().json(encode::message(&reply, &id));
        return (response, label);
    }
    let events = encode::events(&reply, &id);
    let body = futures::stream::iter(events).then(|event| async move {
        if event.delay > Duration::ZERO {
            tokio::time::sleep(event.delay).await;
        }
        Ok::<_, std::convert::Infallible>(web::Bytes::from(event.to_sse()))
    });
    let response = ok_builder()
        .content_type("text/event-stream; charset=utf-8")
        .insert_header(("cache-control", "no-cache"))
        .streaming(body);
    (response, label)
}

fn count_tokens(body: &[u8]) -> (HttpResponse, String) {
    let label = "count_tokens".to_owned();
    if let Err(err) = parse_json(body) {
        return (error_response(&err), label);
    }
    let tokens = reply::input_tokens(body.len());
    (ok_builder().json(json!({ "input_tokens": tokens })), label)
}

/// 200 with a `request-id`, which the real API sends on every response and the CLI reports.
fn ok_builder() -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::Ok();
    builder.insert_header(("request-id", request_id()));
    builder
}

fn request_id() -> String {
    format!("req_fake_{}", uuid::Uuid::new_v4().simple())
}

fn error_response(error: &reply::ApiError) -> HttpResponse {
    // 529 is not a registered status but is in the valid 100..=999 range.
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    builder.insert_header(("request-id", request_id()));
    if let Some(seconds) = error.retry_after {
        builder.insert_header(("retry-after", seconds.to_string()));
    }
    builder.json(error.body())
}
