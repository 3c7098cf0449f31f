//! session-manager: owns the sandboxes of its node. It consumes session commands from
//! RabbitMQ, creates hardened containers through the Docker Engine API, attaches to the
//! in-sandbox agent over one exec stream, runs Claude turns from the task queue, stores every
//! output line as a numbered session event, and relays the sandbox's model traffic through
//! the model proxy (the real credential never enters a sandbox).

pub mod manager;
pub mod node;
pub mod pool;
pub mod sandbox;
pub mod session;
pub mod terminal;

use manager::{Manager, Shared};
use pool::WarmPool;
use rc_bus::messages::SessionManagerMessage;
use rc_bus::{consumer, topology, Bus, ReadinessExt};
use rc_config::Settings;
use rc_runtime::ops::{OpsServer, Readiness};
use rc_runtime::Shutdown;
use sandbox::Engine;
use std::future::Future;
use std::sync::Arc;

pub const SERVICE: &str = "session-manager";

/// Refuses the dev internal token in the `prod` profile (it would let anyone who reaches the
/// port open terminals in sandboxes).
pub fn check_settings(settings: &Settings) -> anyhow::Result<()> {
    let token = settings.session_manager.internal_token.expose();
    if settings.profile == rc_config::Profile::Prod
        && (token == rc_config::DEV_SESSION_MANAGER_TOKEN || token.len() < 32)
    {
        anyhow::bail!(
            "session_manager.internal_token: set a random token of at least 32 characters \
             (RC_SESSION_MANAGER__INTERNAL_TOKEN or _FILE) for the prod profile"
        );
    }
    Ok(())
}

pub struct Application {
    ops: OpsServer,
    bus: Arc<Bus>,
    manager: Arc<Manager>,
    node_queue: String,
    prefetch: u16,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        check_settings(&settings)?;
        let settings = Arc::new(settings);
        let node_id = node::resolve(&settings.session_manager.node_id)?;
        let db = rc_db::pool(&settings.database)?;
        let redis =
            rc_runtime::checks::redis_pool(settings.redis.url.expose(), settings.redis.pool_size)?;
        let bus = Arc::new(Bus::new(&settings.amqp));
        let engine = Engine::connect(&settings.session_manager.docker_host).await?;
        let proxy_settings = &settings.model_proxy;
        if proxy_settings.scripted_model {
            tracing::warn!(
                upstream = %proxy_settings.upstream_url,
                "SCRIPTED FAKE MODEL: sandboxes get canned replies from the project's test model, not Claude"
            );
        } else if proxy_settings.api_key.is_none() && proxy_settings.auth_token.is_none() {
            // Fine for a gateway that holds the credential, or the scripted fake model in
            // development; said loudly because Anthropic itself will refuse every call.
            tracing::warn!(
                upstream = %proxy_settings.upstream_url,
                "model proxy has no credential: only a credential-holding gateway or the scripted fake model will answer"
            );
        }
        let proxy = rc_model_proxy::ModelProxy::new(
            &settings.model_proxy,
            db.clone(),
            redis.clone(),
            &settings.redis.key_prefix,
        )?;
        let readiness = {
            let engine = engine.clone();
            Readiness::new()
                .postgres(db.clone())
                .redis(redis.clone())
                .rabbitmq(bus.clone())
                .check("docker", move || {
                    let engine = engine.clone();
                    async move { engine.ping().await.map_err(|e| e.to_string()) }
                })
        };
        // The node queue exists before anything can be routed to it.
        let channel = bus.consumer_channel().await?;
        bus.topology().declare(&channel).await?;
        let node_queue = bus
            .topology()
            .declare_node_queue(&channel, &node_id)
            .await?;
        let _ = channel.close(200, "declared").await;
        let pool = Arc::new(WarmPool::new(
            settings.session_manager.warm_pool_size,
            &settings.session_manager.sandbox_image,
            &node_id,
            settings.session_manager.tmp_size_mb,
        ));
        let prefetch = settings.amqp.prefetch;
        let manager = Manager::new(Shared {
            db,
            engine,
            proxy,
            redis,
            pool,
            settings,
            node_id,
            shutdown: Shutdown::default(),
            agents: Default::default(),
            advertise_url: Default::default(),
            bus: bus.clone(),
        });
        let shared = manager.shared().clone();
        let ops = OpsServer::bind_with(
            SERVICE,
            &shared.settings.session_manager.host,
            shared.settings.session_manager.port,
            readiness,
            terminal::configure(shared.clone()),
        )?;
        let advertise = match shared.settings.session_manager.advertise_url.trim() {
            "" => format!(
                "http://{}:{}",
                shared.settings.session_manager.host,
                ops.port()
            ),
            url => url.trim_end_matches('/').to_owned(),
        };
        let _ = shared.advertise_url.set(advertise);
        Ok(Self {
            ops,
            bus,
            manager,
            node_queue,
            prefetch,
        })
    }

    pub fn port(&self) -> u16 {
        self.ops.port()
    }

    pub fn node_id(&self) -> &str {
        &self.manager.shared().node_id
    }

    pub async fn run_until_stopped(self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        let shared = self.manager.shared().clone();
        tracing::info!(port = self.port(), node_id = %shared.node_id, "{SERVICE} listening");
        // Before consuming: adopt or clean up whatever a previous run left behind, and
        // report whether this node can take sessions.
        self.manager.reconcile().await?;
        if let Err(err) = self.manager.heartbeat().await {
            tracing::warn!(%err, "first heartbeat failed");
        }
        let shutdown = shared.shutdown.clone();
        let mut background = tokio::task::JoinSet::new();
        for queue in [
            self.bus.topology().queue_name(&topology::SESSION_MANAGER),
            self.node_queue.clone(),
        ] {
            let manager = self.manager.clone();
            background.spawn(consumer::run_queue::<SessionManagerMessage, _, _>(
                self.bus.clone(),
                queue,
                self.prefetch,
                shutdown.clone(),
                move |envelope| {
                    let manager = manager.clone();
                    async move { manager.handle(envelope.message).await }
                },
            ));
        }
        background.spawn(self.manager.clone().run_periodic());
        background.spawn(self.manager.clone().run_heartbeat());
        background.spawn(
            shared
                .pool
                .clone()
                .run(shared.engine.clone(), shutdown.clone()),
        );
        let result = self.ops.run_until(stop).await;
        // Sandboxes keep running; their agents buffer output until the next attach.
        shutdown.trigger();
        while background.join_next().await.is_some() {}
        self.manager.drain().await;
        self.manager.deregister().await;
        self.bus.close().await;
        tracing::info!("{SERVICE} stopped");
        result.map_err(Into::into)
    }
}
