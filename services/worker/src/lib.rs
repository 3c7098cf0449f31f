//! worker: runs asynchronous jobs (notifications, usage roll-ups, retention, exports). This
//! foundation version boots, connects to its backing services, declares the bus topology and
//! serves health, readiness and metrics; job handlers arrive with the features that need them.

use rc_bus::{Bus, ReadinessExt};
use rc_config::Settings;
use rc_runtime::ops::{OpsServer, Readiness};
use std::future::Future;
use std::sync::Arc;

pub const SERVICE: &str = "worker";

pub struct Application {
    ops: OpsServer,
    bus: Arc<Bus>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = rc_db::pool(&settings.database)?;
        let redis =
            rc_runtime::checks::redis_pool(settings.redis.url.expose(), settings.redis.pool_size)?;
        let bus = Arc::new(Bus::new(&settings.amqp));
        let readiness = Readiness::new()
            .postgres(db)
            .redis(redis)
            .rabbitmq(bus.clone());
        let ops = OpsServer::bind(
            SERVICE,
            &settings.worker.host,
            settings.worker.port,
            readiness,
        )?;
        Ok(Self { ops, bus })
    }

    pub fn port(&self) -> u16 {
        self.ops.port()
    }

    pub async fn run_until_stopped(self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        tracing::info!(port = self.port(), "{SERVICE} listening");
        self.ops.run_until(stop).await?;
        self.bus.close().await;
        tracing::info!("{SERVICE} stopped");
        Ok(())
    }
}
