//! Exchanges, queues and bindings. All names derive from the configured exchange name, so
//! several installations (or parallel tests) can share one broker without seeing each other.

use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};

/// A durable queue and the routing-key patterns it is bound to.
#[derive(Debug, Clone, Copy)]
pub struct QueueSpec {
    /// Suffix after `<exchange>.`.
    pub name: &'static str,
    pub bindings: &'static [&'static str],
}

/// Session commands and task events any session-manager may take: `session.create`, and
/// commands about sessions no instance has claimed yet. Commands about a claimed session go to
/// its owner's node queue (`node.<id>.…`, see [`Topology::node_queue`]); the two-word patterns
/// here do not match those longer keys.
pub const SESSION_MANAGER: QueueSpec = QueueSpec {
    name: "session-manager.commands",
    bindings: &["session.*", "task.*"],
};

/// Asynchronous jobs (notifications, roll-ups, exports).
pub const WORKER: QueueSpec = QueueSpec {
    name: "worker.jobs",
    bindings: &["job.#"],
};

pub const QUEUES: &[QueueSpec] = &[SESSION_MANAGER, WORKER];

#[derive(Debug, Clone)]
pub struct Topology {
    pub exchange: String,
    pub max_deliveries: u32,
}

impl Topology {
    pub fn new(exchange: &str, max_deliveries: u32) -> Self {
        Self {
            exchange: exchange.to_owned(),
            max_deliveries,
        }
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.exchange)
    }

    pub fn queue_name(&self, spec: &QueueSpec) -> String {
        format!("{}.{}", self.exchange, spec.name)
    }

    pub fn dead_letter_queue(&self, spec: &QueueSpec) -> String {
        format!("{}.dead", self.queue_name(spec))
    }

    /// The queue of one session-manager instance: commands about the sessions it owns.
    pub fn node_queue(&self, node_id: &str) -> String {
        format!("{}.session-manager.node.{node_id}", self.exchange)
    }

    /// Declares (idempotently) the node queue of `node_id`, bound to `node.<id>.#`, with the
    /// same delivery limit and dead-lettering as the shared queues.
    pub async fn declare_node_queue(
        &self,
        channel: &Channel,
        node_id: &str,
    ) -> Result<String, lapin::Error> {
        let queue = self.node_queue(node_id);
        self.declare_queue(channel, &queue, &[&format!("node.{node_id}.#")])
            .await?;
        Ok(queue)
    }

    /// Deletes a node queue (tests).
    pub async fn delete_node_queue(
        &self,
        channel: &Channel,
        node_id: &str,
    ) -> Result<(), lapin::Error> {
        let queue = self.node_queue(node_id);
        channel
            .queue_delete(&queue, QueueDeleteOptions::default())
            .await?;
        channel
            .queue_delete(&format!("{queue}.dead"), QueueDeleteOptions::default())
            .await?;
        Ok(())
    }

    /// Idempotent: declaring an existing entity with the same arguments is a no-op.
    pub async fn declare(&self, channel: &Channel) -> Result<(), lapin::Error> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .exchange_declare(
                &self.exchange,
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await?;
        channel
            .exchange_declare(
                &self.dead_letter_exchange(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await?;
        for spec in QUEUES {
            self.declare_queue(channel, &self.queue_name(spec), spec.bindings)
                .await?;
        }
        Ok(())
    }

    /// A durable quorum queue `queue` (with its `<queue>.dead` dead-letter queue) bound to
    /// `bindings` on the exchange.
    async fn declare_queue(
        &self,
        channel: &Channel,
        queue: &str,
        bindings: &[&str],
    ) -> Result<(), lapin::Error> {
        let queue = queue.to_owned();
        let dead = format!("{queue}.dead");
        let queue_opts = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .queue_declare(&dead, queue_opts, FieldTable::default())
            .await?;
        channel
            .queue_bind(
                &dead,
                &self.dead_letter_exchange(),
                &dead,
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        // Quorum queues count deliveries; after `max_deliveries` the broker dead-letters
        // the message itself, so a poison message cannot loop forever even if a consumer
        // crashes while handling it.
        let mut args = FieldTable::default();
        args.insert(
            ShortString::from("x-queue-type"),
            AMQPValue::LongString("quorum".into()),
        );
        args.insert(
            ShortString::from("x-delivery-limit"),
            AMQPValue::LongInt(self.max_deliveries as i32),
        );
        args.insert(
            ShortString::from("x-dead-letter-exchange"),
            AMQPValue::LongString(self.dead_letter_exchange().into()),
        );
        args.insert(
            ShortString::from("x-dead-letter-routing-key"),
            AMQPValue::LongString(dead.clone().into()),
        );
        channel.queue_declare(&queue, queue_opts, args).await?;
        for key in bindings {
            channel
                .queue_bind(
                    &queue,
                    &self.exchange,
                    key,
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(())
    }

    /// Removes everything `declare` made. For tests, which use throwaway exchange names.
    pub async fn delete(&self, channel: &Channel) -> Result<(), lapin::Error> {
        for spec in QUEUES {
            channel
                .queue_delete(&self.queue_name(spec), QueueDeleteOptions::default())
                .await?;
            channel
                .queue_delete(&self.dead_letter_queue(spec), QueueDeleteOptions::default())
                .await?;
        }
        channel
            .exchange_delete(&self.exchange, ExchangeDeleteOptions::default())
            .await?;
        channel
            .exchange_delete(
                &self.dead_letter_exchange(),
                ExchangeDeleteOptions::default(),
            )
            .await?;
        Ok(())
    }
}
