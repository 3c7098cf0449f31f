//! worker: runs asynchronous jobs from the bus (`worker.jobs`, routing keys `job.#`). Jobs so
//! far: Web Push notifications ([`push`]). It also serves health, readiness and metrics.

pub mod push;

use rc_bus::{consumer, topology, Bus, ReadinessExt};
use rc_config::Settings;
use rc_domain::push::PushJob;
use rc_runtime::ops::{OpsServer, Readiness};
use rc_runtime::Shutdown;
use std::future::Future;
use std::sync::Arc;

pub const SERVICE: &str = "worker";

pub struct Application {
    ops: OpsServer,
    bus: Arc<Bus>,
    pusher: Option<Arc<push::Pusher>>,
    prefetch: u16,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let settings = Arc::new(settings);
        let db = rc_db::pool(&settings.database)?;
        let redis =
            rc_runtime::checks::redis_pool(settings.redis.url.expose(), settings.redis.pool_size)?;
        let bus = Arc::new(Bus::new(&settings.amqp));
        let domain = rc_domain::Domain::new(db.clone(), bus.clone(), settings.clone())?;
        let pusher = push::Pusher::new(&settings, domain)?.map(Arc::new);
        if pusher.is_none() {
            tracing::info!("push.vapid_private_key is not set: push notifications are off");
        }
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
        Ok(Self {
            ops,
            bus,
            pusher,
            prefetch: settings.amqp.prefetch,
        })
    }

    pub fn port(&self) -> u16 {
        self.ops.port()
    }

    pub async fn run_until_stopped(self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        tracing::info!(port = self.port(), "{SERVICE} listening");
        let shutdown = Shutdown::default();
        let pusher = self.pusher.clone();
        let jobs = tokio::spawn(consumer::run::<PushJob, _, _>(
            self.bus.clone(),
            topology::WORKER,
            self.prefetch,
            shutdown.clone(),
            move |envelope| {
                let pusher = pusher.clone();
                async move {
                    match pusher {
                        Some(pusher) => pusher.handle(envelope.message).await,
                        // Push is off here: nothing to send, and nothing to keep.
                        None => Ok(()),
                    }
                }
            },
        ));
        let result = self.ops.run_until(stop).await;
        shutdown.trigger();
        let _ = jobs.await;
        self.bus.close().await;
        tracing::info!("{SERVICE} stopped");
        result.map_err(Into::into)
    }
}
