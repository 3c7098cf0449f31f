//! session-manager: owns the sandboxes. This foundation version boots, connects to its backing
//! services, declares the bus topology and serves health, readiness and metrics; the sandbox
//! runtime (Docker, agent channel, model proxy) is the next milestone (see README "Status").

use rc_bus::{Bus, ReadinessExt};
use rc_config::Settings;
use rc_runtime::ops::{OpsServer, Readiness};
use std::future::Future;
use std::sync::Arc;

pub const SERVICE: &str = "session-manager";

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
            &settings.session_manager.host,
            settings.session_manager.port,
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
