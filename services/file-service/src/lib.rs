//! file-service: workspace files, snapshots and artifacts. One listener serves the ops
//! endpoints (`/healthz`, `/readyz`, `/metrics`) and the internal file API that the api
//! forwards to (docs/files.md). Files are reached through each sandbox's agent, never through
//! host paths (`sandboxes`).

pub mod artifacts;
pub mod caller;
pub mod changes;
pub mod files;
pub mod routes;
pub mod sandboxes;
pub mod sessions;
pub mod snapshots;
mod store;
mod upload;
mod zip;

use actix_web::{web, App, HttpServer};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use changes::{BusChanges, ChangeSink};
use rc_config::{FileServiceSettings, Profile, S3Settings, Settings, DEV_FILE_SERVICE_TOKEN};
use rc_errors::AppError;
use rc_runtime::ops::Readiness;
use sandboxes::Sandboxes;
use sqlx::PgPool;
use std::future::Future;
use std::sync::Arc;

pub const SERVICE: &str = "file-service";

/// What every handler needs.
pub struct AppState {
    pub settings: FileServiceSettings,
    pub db: PgPool,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub sandboxes: Sandboxes,
    pub changes: Arc<dyn ChangeSink>,
}

pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    /// Closed after the server stopped, so the last change events are sent.
    bus: Option<Arc<rc_bus::Bus>>,
}

/// An S3 client for any S3-compatible server (MinIO, s3s-fs, AWS) from static credentials;
/// path-style addressing because self-hosted servers rarely have wildcard DNS.
pub fn s3_client(settings: &S3Settings) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&settings.endpoint)
        .region(Region::new(settings.region.clone()))
        .credentials_provider(Credentials::new(
            settings.access_key.expose(),
            settings.secret_key.expose(),
            None,
            None,
            "rc-config",
        ))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The bucket exists afterwards (created if missing).
pub async fn ensure_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<(), String> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => {
            s3.create_bucket()
                .bucket(bucket)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| describe(&e))?;
            tracing::info!(%bucket, "created S3 bucket");
            Ok(())
        }
        Err(err) => Err(describe(&err)),
    }
}

fn describe(err: &dyn std::error::Error) -> String {
    format!("{}", aws_sdk_s3::error::DisplayErrorContext(err))
}

/// The production profile must not run with the well-known dev token: anyone who read the
/// source could then act on every workspace.
pub fn check_settings(settings: &Settings) -> anyhow::Result<()> {
    let token = &settings.file_service.internal_token;
    if settings.profile == Profile::Prod
        && (token.expose() == DEV_FILE_SERVICE_TOKEN || token.expose().len() < 32)
    {
        anyhow::bail!(
            "file_service.internal_token: set a random token of at least 32 characters \
             (RC_FILE_SERVICE__INTERNAL_TOKEN or _FILE) for the prod profile"
        );
    }
    if token.is_empty() {
        anyhow::bail!("file_service.internal_token: must not be empty");
    }
    Ok(())
}

impl Application {
    /// File changes go to session-manager over the bus (they become `file_changed` events).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let bus = Arc::new(rc_bus::Bus::new(&settings.amqp));
        let db = rc_db::pool(&settings.database)?;
        let changes = Arc::new(BusChanges::new(bus.clone(), db));
        let mut app = Self::build_with(settings, changes).await?;
        app.bus = Some(bus);
        Ok(app)
    }

    /// [`Application::build`] with the sink that hears of every file change.
    pub async fn build_with(
        settings: Settings,
        changes: Arc<dyn ChangeSink>,
    ) -> anyhow::Result<Self> {
        check_settings(&settings)?;
        let db = rc_db::pool(&settings.database)?;
        let s3 = s3_client(&settings.s3);
        let bucket = settings.s3.bucket.clone();
        // Best effort at start-up; readiness retries, so an S3 outage only delays it.
        if let Err(err) = ensure_bucket(&s3, &bucket).await {
            tracing::warn!(%bucket, %err, "S3 bucket not available yet");
        }
        let sandboxes = Sandboxes::new(&settings.file_service.docker_host);
        let readiness = {
            let (s3, bucket) = (s3.clone(), bucket.clone());
            Readiness::new().postgres(db.clone()).check("s3", move || {
                let (s3, bucket) = (s3.clone(), bucket.clone());
                async move { ensure_bucket(&s3, &bucket).await }
            })
        };
        let state = web::Data::new(AppState {
            settings: settings.file_service.clone(),
            db,
            s3,
            bucket,
            sandboxes,
            changes,
        });
        let readiness = web::Data::new(readiness);
        let metrics = web::Data::new(rc_telemetry::prometheus_handle());
        let listener = std::net::TcpListener::bind((
            settings.file_service.host.as_str(),
            settings.file_service.port,
        ))?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(|req, next| {
                    rc_runtime::http_metrics::record(SERVICE, req, next)
                }))
                .app_data(state.clone())
                .app_data(readiness.clone())
                .app_data(metrics.clone())
                // Bad JSON and query strings answer in the error catalogue's shape too.
                .app_data(web::JsonConfig::default().error_handler(|err, _| {
                    AppError::new(rc_errors::ErrorCode::MalformedBody, err.to_string()).into()
                }))
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    AppError::new(rc_errors::ErrorCode::InvalidQuery, err.to_string()).into()
                }))
                .app_data(web::PathConfig::default().error_handler(|err, _| {
                    AppError::new(rc_errors::ErrorCode::InvalidPath, err.to_string()).into()
                }))
                .configure(rc_runtime::ops::configure)
                .configure(routes::configure)
                .configure(snapshots::configure)
                .configure(artifacts::configure)
        })
        // Signals are handled by main, which drains work first.
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            bus: None,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        tracing::info!(port = self.port, "{SERVICE} listening");
        let handle = self.server.handle();
        let server = self.server;
        tokio::pin!(server);
        tokio::select! {
            res = &mut server => res?,
            () = stop => {
                // The server future must keep being polled while it processes the stop.
                let ((), res) = tokio::join!(handle.stop(true), &mut server);
                res?;
            }
        }
        if let Some(bus) = &self.bus {
            bus.close().await;
        }
        tracing::info!("{SERVICE} stopped");
        Ok(())
    }
}
