//! Building and running the api: `build` binds the listener and wires every dependency (tests
//! pass port 0 and read [`Application::port`]); `run_until_stopped` serves until the given
//! future resolves, then drains in-flight requests.

use crate::auth::live::Change;
use crate::auth::oidc::Oidc;
use crate::auth::store::LoginStore;
use crate::rate_limit::{self, Limiter};
use crate::state::AppState;
use crate::{errors, graphql, openapi, routes, trace, SERVICE};
use actix_web::{middleware, web, App, HttpResponse, HttpServer};
use rc_bus::{Bus, ReadinessExt};
use rc_config::Settings;
use rc_domain::Domain;
use rc_runtime::ops::Readiness;
use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tracing_actix_web::TracingLogger;

pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    bus: Arc<Bus>,
    limiter: Limiter,
    live: rc_domain::live::LiveHub,
    state: AppState,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let db = rc_db::pool(&settings.database)?;
        if settings.database.migrate_on_start {
            rc_db::migrate(&db).await?;
        }
        let redis =
            rc_runtime::checks::redis_pool(settings.redis.url.expose(), settings.redis.pool_size)?;
        let bus = Arc::new(Bus::new(&settings.amqp));
        // Declare the topology now so commands published before any consumer starts are
        // queued, not dropped. A broker that is down only delays this to the first publish.
        if let Err(err) = bus.ping().await {
            tracing::warn!(%err, "message broker not reachable at start-up; will retry on first use");
        }
        let oidc = settings
            .auth
            .oidc
            .clone()
            .map(|o| Oidc::new(o, &settings.api.public_url).map(Arc::new))
            .transpose()?;
        let state = AppState {
            domain: Domain::new(db.clone(), bus.clone(), settings.clone())?,
            logins: LoginStore::new(
                redis.clone(),
                &settings.redis.key_prefix,
                settings.auth.session_ttl_secs,
            ),
            oidc,
            tokens: Default::default(),
            rights: Default::default(),
        };
        let live = state.domain.live.clone();
        let readiness = Readiness::new()
            .postgres(db.clone())
            .redis(redis)
            .rabbitmq(bus.clone());

        let listener = TcpListener::bind((settings.api.host.as_str(), settings.api.port))?;
        let port = listener.local_addr()?.port();
        let limiter = Limiter::new(&settings.api.rate_limit);
        let server = serve(listener, state.clone(), readiness, limiter.clone())?;
        Ok(Self {
            port,
            server,
            bus,
            limiter,
            live,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        tracing::info!(port = self.port, "{SERVICE} listening");
        let handle = self.server.handle();
        let limiter = self.limiter.clone();
        let housekeeping = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                limiter.housekeeping();
            }
        });
        // Session lists' and rights changes: one LISTEN connection, on this (the main) runtime,
        // until the live feeds close. Rights changes made anywhere (another api process, a
        // trigger) reach this process's open WebSockets.
        let forward_rights = tokio::spawn(forward_rights(self.state.clone()));
        let live = self.live.clone();
        let session_changes = self
            .state
            .domain
            .session_changes
            .start(&self.state.domain.db, async move { live.closed().await });
        let server = self.server;
        tokio::pin!(server);
        tokio::select! {
            res = &mut server => res?,
            () = stop => {
                // Live event feeds end first (clients reconnect elsewhere with after_seq), so
                // open WebSockets do not hold the graceful stop until its timeout.
                self.live.close();
                // Graceful: stop accepting, let in-flight requests finish (bounded by
                // actix's shutdown timeout), then close the bus after the last publish.
                // The server future must keep being polled while it processes the stop.
                let ((), res) = tokio::join!(handle.stop(true), &mut server);
                res?;
            }
        }
        housekeeping.abort();
        session_changes.abort();
        forward_rights.abort();
        self.bus.close().await;
        tracing::info!("{SERVICE} stopped");
        Ok(())
    }
}

fn serve(
    listener: TcpListener,
    state: AppState,
    readiness: Readiness,
    limiter: Limiter,
) -> anyhow::Result<actix_web::dev::Server> {
    let max_body = state.settings().api.max_body_bytes;
    let frontend_dir = state.settings().api.frontend_dir.clone();
    let state = web::Data::new(state);
    let readiness = web::Data::new(readiness);
    let metrics = web::Data::new(rc_telemetry::prometheus_handle());
    let schema = web::Data::new(graphql::build_schema());
    let graphiql = std::path::Path::new(&frontend_dir).join("graphiql.html");
    let graphiql = web::Data::new(graphql::GraphiqlPage(
        (!frontend_dir.is_empty() && graphiql.is_file()).then_some(graphiql),
    ));
    let server = HttpServer::new(move || {
        let limiter = limiter.clone();
        let mut app = App::new()
            .wrap(middleware::from_fn(move |req, next| {
                rate_limit::limit(limiter.clone(), req, next)
            }))
            .wrap(middleware::from_fn(|req, next| {
                rc_runtime::http_metrics::record(SERVICE, req, next)
            }))
            .wrap(middleware::from_fn(request_id_header))
            .wrap(TracingLogger::<trace::RootSpan>::new())
            .wrap(security_headers())
            .app_data(state.clone())
            .app_data(readiness.clone())
            .app_data(metrics.clone())
            .app_data(schema.clone())
            .app_data(graphiql.clone())
            .app_data(errors::json_config(max_body))
            .app_data(errors::query_config())
            .app_data(errors::path_config())
            .app_data(web::PayloadConfig::new(max_body))
            .configure(rc_runtime::ops::configure)
            .configure(routes::configure)
            .configure(routes::approval_links::configure_pages)
            .service(utoipa_swagger_ui::SwaggerUi::new("/api/docs/{_:.*}").url(
                "/api/v1/openapi-ui.json",
                <openapi::ApiDoc as utoipa::OpenApi>::openapi(),
            ))
            .route("/graphql", web::post().to(graphql::handler))
            .route("/graphql", web::get().to(graphql::console))
            .route("/graphql/schema.graphql", web::get().to(graphql_sdl))
            .route("/graphql/ws", web::get().to(graphql::websocket));
        app = app.configure(|cfg| crate::routes::frontend::configure(cfg, &frontend_dir));
        app
    })
    .shutdown_timeout(30)
    // Signals are handled by `run_until_stopped`'s caller.
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

async fn graphql_sdl(schema: web::Data<graphql::ApiSchema>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(schema.sdl())
}

fn security_headers() -> middleware::DefaultHeaders {
    middleware::DefaultHeaders::new()
        .add(("x-content-type-options", "nosniff"))
        .add(("referrer-policy", "same-origin"))
        .add(("x-frame-options", "DENY"))
}

/// Echo the request id so clients can quote it when reporting a problem.
async fn request_id_header(
    req: actix_web::dev::ServiceRequest,
    next: middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let id = actix_web::HttpMessage::extensions(&req)
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string());
    let mut res = next.call(req).await?;
    if let Some(id) = id.and_then(|i| actix_web::http::header::HeaderValue::from_str(&i).ok()) {
        res.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-request-id"),
            id,
        );
    }
    Ok(res)
}

/// Hands rights changes heard from the database to this process's open connections.
async fn forward_rights(state: AppState) {
    use rc_domain::session_changes::RightsNotice;
    use tokio::sync::broadcast::error::RecvError;
    let mut notices = state.domain.session_changes.rights();
    loop {
        match notices.recv().await {
            Ok(RightsNotice::User(user)) => state.rights_changed(Change::User(user)),
            Ok(RightsNotice::SessionDeleted(session)) => {
                state.rights_changed(Change::Session(session))
            }
            // Some were missed: whose, nobody knows.
            Err(RecvError::Lagged(_)) => state.rights_changed(Change::Everyone),
            Err(RecvError::Closed) => return,
        }
    }
}
