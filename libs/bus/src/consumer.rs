//! A consume loop that outlives broker restarts and never loses a message: ack after the
//! handler succeeded, requeue on failure (the quorum queue's delivery limit dead-letters a
//! message that keeps failing), reject undecodable messages straight to the dead-letter queue.

use crate::messages::{Message, SCHEMA_VERSION};
use crate::topology::QueueSpec;
use crate::Bus;
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use rc_runtime::Shutdown;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// A decoded message with its delivery metadata.
#[derive(Debug)]
pub struct Envelope<M> {
    pub message: M,
    pub routing_key: String,
    /// How many times the broker delivered it before (0 on first delivery).
    pub redeliveries: u64,
}

/// Consumes `spec`'s queue until `shutdown`, handling one message at a time. The message in
/// hand when shutdown is requested is finished and acknowledged first.
pub async fn run<M, F, Fut>(
    bus: Arc<Bus>,
    spec: QueueSpec,
    prefetch: u16,
    shutdown: Shutdown,
    handler: F,
) where
    M: Message,
    F: Fn(Envelope<M>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let queue = bus.topology().queue_name(&spec);
    run_queue(bus, queue, prefetch, shutdown, handler).await;
}

/// [`run`] for a queue known by name (e.g. a session-manager node queue), declared by the
/// caller.
pub async fn run_queue<M, F, Fut>(
    bus: Arc<Bus>,
    queue: String,
    prefetch: u16,
    shutdown: Shutdown,
    handler: F,
) where
    M: Message,
    F: Fn(Envelope<M>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_triggered() {
        match consume_until_error(&bus, &queue, prefetch, &shutdown, &handler).await {
            Ok(()) => break,
            Err(err) => {
                tracing::warn!(%queue, %err, ?backoff, "consumer lost its channel, reconnecting");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {},
                    () = shutdown.wait() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
    tracing::info!(%queue, "consumer stopped");
}

async fn consume_until_error<M, F, Fut>(
    bus: &Bus,
    queue: &str,
    prefetch: u16,
    shutdown: &Shutdown,
    handler: &F,
) -> anyhow::Result<()>
where
    M: Message,
    F: Fn(Envelope<M>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let channel = bus.consumer_channel().await?;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await?;
    let tag = format!("{queue}-{}", uuid::Uuid::now_v7());
    let mut consumer = channel
        .basic_consume(
            queue,
            &tag,
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(%queue, "consumer started");
    loop {
        let delivery = tokio::select! {
            next = consumer.next() => next,
            () = shutdown.wait() => {
                // Unacked prefetched messages go back to the queue when the channel closes.
                let _ = channel.close(200, "shutdown").await;
                return Ok(());
            }
        };
        let Some(delivery) = delivery else {
            anyhow::bail!("consumer stream ended");
        };
        handle(queue, delivery?, handler).await?;
    }
}

async fn handle<M, F, Fut>(queue: &str, delivery: Delivery, handler: &F) -> anyhow::Result<()>
where
    M: Message,
    F: Fn(Envelope<M>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let headers = header_strings(delivery.properties.headers());
    let span = tracing::info_span!("bus.consume", %queue, routing_key = %delivery.routing_key);
    rc_telemetry::extract_context(&span, &headers);
    async {
        let schema = delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get("x-rc-schema").and_then(as_u64));
        let decoded = match schema {
            Some(v) if v > u64::from(SCHEMA_VERSION) => Err(anyhow::anyhow!("schema version {v} is newer than {SCHEMA_VERSION}")),
            _ => serde_json::from_slice::<M>(&delivery.data).map_err(anyhow::Error::from),
        };
        let message = match decoded {
            Ok(m) => m,
            Err(err) => {
                tracing::error!(%err, "undecodable message, dead-lettering");
                metrics::counter!("rc_bus_consumed_total", "queue" => queue.to_owned(), "outcome" => "dead_letter").increment(1);
                delivery.nack(BasicNackOptions { requeue: false, ..Default::default() }).await?;
                return Ok(());
            }
        };
        let redeliveries = delivery
            .properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get("x-delivery-count").and_then(as_u64))
            .unwrap_or(0);
        let envelope = Envelope { message, routing_key: delivery.routing_key.to_string(), redeliveries };
        match handler(envelope).await {
            Ok(()) => {
                metrics::counter!("rc_bus_consumed_total", "queue" => queue.to_owned(), "outcome" => "ack").increment(1);
                delivery.ack(BasicAckOptions::default()).await?;
            }
            Err(err) => {
                tracing::error!(error = ?err, redeliveries, "handler failed, requeueing");
                metrics::counter!("rc_bus_consumed_total", "queue" => queue.to_owned(), "outcome" => "retry").increment(1);
                // A short pause keeps a failing dependency from turning into a hot loop.
                tokio::time::sleep(Duration::from_millis(250 * (redeliveries.min(8) + 1))).await;
                delivery.nack(BasicNackOptions { requeue: true, ..Default::default() }).await?;
            }
        }
        Ok(())
    }
    .instrument(span)
    .await
}

fn as_u64(v: &AMQPValue) -> Option<u64> {
    match v {
        AMQPValue::LongUInt(n) => Some(u64::from(*n)),
        AMQPValue::LongInt(n) => u64::try_from(*n).ok(),
        AMQPValue::LongLongInt(n) => u64::try_from(*n).ok(),
        AMQPValue::ShortUInt(n) => Some(u64::from(*n)),
        AMQPValue::ShortInt(n) => u64::try_from(*n).ok(),
        _ => None,
    }
}

fn header_strings(headers: &Option<FieldTable>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let Some(h) = headers {
        for (k, v) in h.inner() {
            if let AMQPValue::LongString(s) = v {
                out.insert(k.to_string(), s.to_string());
            }
        }
    }
    out
}
