use crate::messages::{Message, SCHEMA_VERSION};
use crate::topology::Topology;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::publisher_confirm::Confirmation;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use rc_config::AmqpSettings;
use std::time::Duration;
use tokio::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("message broker unreachable: {0}")]
    Unavailable(#[from] lapin::Error),
    #[error("message broker did not confirm the message (nack)")]
    Nacked,
    #[error("no queue is bound for routing key {0}")]
    Unroutable(String),
    #[error("cannot encode message: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Longest wait for the broker to confirm a message.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);

fn timed_out(what: &str) -> lapin::Error {
    lapin::Error::IOError(std::sync::Arc::new(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("{what} timed out after 5s"),
    )))
}

struct Live {
    connection: Connection,
    /// Publishing channel, in confirm mode.
    channel: Channel,
}

/// A lazily connected, self-healing handle on the broker. Cheap to share behind an `Arc`.
pub struct Bus {
    url: String,
    topology: Topology,
    live: Mutex<Option<Live>>,
}

impl Bus {
    /// Does not connect yet: the first use does, so services start while the broker is down
    /// and report it through `/readyz`.
    pub fn new(settings: &AmqpSettings) -> Self {
        Self {
            url: settings.url.expose().to_owned(),
            topology: Topology::new(&settings.exchange, settings.max_deliveries),
            live: Mutex::new(None),
        }
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Returns the publishing channel, (re)connecting and declaring the topology if needed.
    async fn publishing_channel(&self) -> Result<Channel, BusError> {
        let mut live = self.live.lock().await;
        if let Some(l) = live.as_ref() {
            if l.connection.status().connected() && l.channel.status().connected() {
                return Ok(l.channel.clone());
            }
            tracing::warn!("bus connection lost, reconnecting");
        }
        let connection = tokio::time::timeout(
            Duration::from_secs(5),
            Connection::connect(&self.url, ConnectionProperties::default()),
        )
        .await
        .map_err(|_| {
            lapin::Error::IOError(std::sync::Arc::new(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connect timed out after 5s",
            )))
        })??;
        let channel = connection.create_channel().await?;
        self.topology.declare(&channel).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        tracing::info!(exchange = %self.topology.exchange, "bus connected");
        *live = Some(Live {
            connection,
            channel: channel.clone(),
        });
        Ok(channel)
    }

    /// A fresh channel for a consumer, on the shared connection.
    pub async fn consumer_channel(&self) -> Result<Channel, BusError> {
        self.publishing_channel().await?;
        let live = self.live.lock().await;
        match live.as_ref() {
            Some(l) => Ok(l.connection.create_channel().await?),
            None => Err(BusError::Unavailable(lapin::Error::InvalidConnectionState(
                lapin::ConnectionState::Closed,
            ))),
        }
    }

    /// Publishes and waits for the broker's confirm. Retries once on a fresh connection, so a
    /// broker restart between two requests costs the caller nothing.
    #[tracing::instrument(skip_all, fields(routing_key = %message.routing_key()))]
    pub async fn publish<M: Message>(&self, message: &M) -> Result<(), BusError> {
        let body = serde_json::to_vec(message)?;
        let routing_key = message.routing_key();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.publish_once(&routing_key, &body).await {
                Err(BusError::Unavailable(err)) if attempt == 1 => {
                    tracing::warn!(%err, "publish failed, reconnecting once");
                    *self.live.lock().await = None;
                }
                result => {
                    let outcome = if result.is_ok() {
                        "confirmed"
                    } else {
                        "failed"
                    };
                    metrics::counter!("rc_bus_published_total", "routing_key" => routing_key.clone(), "outcome" => outcome).increment(1);
                    return result;
                }
            }
        }
    }

    async fn publish_once(&self, routing_key: &str, body: &[u8]) -> Result<(), BusError> {
        let channel = self.publishing_channel().await?;
        let mut headers = FieldTable::default();
        headers.insert(
            ShortString::from("x-rc-schema"),
            AMQPValue::LongUInt(SCHEMA_VERSION),
        );
        for (k, v) in rc_telemetry::inject_context(&tracing::Span::current()) {
            headers.insert(ShortString::from(k), AMQPValue::LongString(v.into()));
        }
        let properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_delivery_mode(2) // persistent
            .with_message_id(uuid::Uuid::now_v7().to_string().into())
            .with_timestamp(chrono_free_now())
            .with_headers(headers);
        // A broker that blocks publishers (memory or disk alarm) would otherwise hold the
        // caller — and its open database transaction — indefinitely.
        let confirm = tokio::time::timeout(PUBLISH_TIMEOUT, async {
            channel
                .basic_publish(
                    &self.topology.exchange,
                    routing_key,
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    body,
                    properties,
                )
                .await?
                .await
        })
        .await
        .map_err(|_| timed_out("publisher confirm"))??;
        match confirm {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_returned)) => Err(BusError::Unroutable(routing_key.to_owned())),
            Confirmation::Nack(_) => Err(BusError::Nacked),
            Confirmation::NotRequested => Ok(()),
        }
    }

    /// Readiness: connected (connecting if needed).
    pub async fn ping(&self) -> Result<(), BusError> {
        self.publishing_channel().await.map(|_| ())
    }

    /// Closes the connection after in-flight publishes finished (they hold the channel).
    pub async fn close(&self) {
        if let Some(live) = self.live.lock().await.take() {
            let _ = live.channel.close(200, "shutdown").await;
            let _ = live.connection.close(200, "shutdown").await;
        }
    }
}

fn chrono_free_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
