//! file-service: workspace files and S3 artifacts. This foundation version boots, connects to
//! Postgres and the S3-compatible store, and serves health, readiness and metrics; the file API
//! arrives with the live-sessions milestone (see README "Status").

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use rc_config::{S3Settings, Settings};
use rc_runtime::ops::{OpsServer, Readiness};
use std::future::Future;

pub const SERVICE: &str = "file-service";

pub struct Application {
    ops: OpsServer,
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

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = rc_db::pool(&settings.database)?;
        let s3 = s3_client(&settings.s3);
        let bucket = settings.s3.bucket.clone();
        // Best effort at start-up; readiness retries, so an S3 outage only delays it.
        if let Err(err) = ensure_bucket(&s3, &bucket).await {
            tracing::warn!(%bucket, %err, "S3 bucket not available yet");
        }
        let readiness = Readiness::new().postgres(db).check("s3", move || {
            let (s3, bucket) = (s3.clone(), bucket.clone());
            async move { ensure_bucket(&s3, &bucket).await }
        });
        let ops = OpsServer::bind(
            SERVICE,
            &settings.file_service.host,
            settings.file_service.port,
            readiness,
        )?;
        Ok(Self { ops })
    }

    pub fn port(&self) -> u16 {
        self.ops.port()
    }

    pub async fn run_until_stopped(self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        tracing::info!(port = self.port(), "{SERVICE} listening");
        self.ops.run_until(stop).await?;
        tracing::info!("{SERVICE} stopped");
        Ok(())
    }
}
