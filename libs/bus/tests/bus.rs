//! Against the real RabbitMQ: publish with confirms, consume and ack, retry then dead-letter,
//! undecodable messages straight to the dead-letter queue, unroutable messages refused.

use lapin::options::BasicGetOptions;
use rc_bus::consumer::{self, Envelope};
use rc_bus::messages::TaskEvent;
use rc_bus::topology::{self, Topology};
use rc_bus::{Bus, BusError, Message};
use rc_config::AmqpSettings;
use rc_runtime::Shutdown;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

fn settings() -> AmqpSettings {
    AmqpSettings {
        exchange: format!("rctest-bus-{}", Uuid::new_v4().simple()),
        max_deliveries: 3,
        ..AmqpSettings::default()
    }
}

async fn raw_channel(settings: &AmqpSettings) -> (lapin::Connection, lapin::Channel) {
    let conn = lapin::Connection::connect(
        settings.url.expose(),
        lapin::ConnectionProperties::default(),
    )
    .await
    .expect("broker");
    let channel = conn.create_channel().await.expect("channel");
    (conn, channel)
}

/// Polls a queue until a message arrives (bounded), returning its body.
async fn get_one(channel: &lapin::Channel, queue: &str) -> Option<Vec<u8>> {
    for _ in 0..100 {
        if let Some(msg) = channel
            .basic_get(queue, BasicGetOptions { no_ack: true })
            .await
            .expect("basic_get")
        {
            return Some(msg.delivery.data);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

async fn cleanup(settings: &AmqpSettings) {
    let (conn, channel) = raw_channel(settings).await;
    Topology::new(&settings.exchange, settings.max_deliveries)
        .delete(&channel)
        .await
        .expect("delete");
    let _ = conn.close(200, "done").await;
}

fn queued() -> TaskEvent {
    TaskEvent::Queued {
        task_id: Uuid::now_v7(),
        session_id: Uuid::now_v7(),
        org_id: Uuid::now_v7(),
        node_id: None,
    }
}

#[tokio::test]
async fn published_messages_are_consumed_and_acked() {
    rc_telemetry::init_for_test();
    let settings = settings();
    let bus = Arc::new(Bus::new(&settings));
    let sent = queued();
    bus.publish(&sent).await.expect("confirmed");

    let shutdown = Shutdown::default();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let consumer = tokio::spawn(consumer::run::<TaskEvent, _, _>(
        bus.clone(),
        topology::SESSION_MANAGER,
        4,
        shutdown.clone(),
        move |env: Envelope<TaskEvent>| {
            let tx = tx.clone();
            async move {
                tx.send(env.message).expect("send");
                Ok(())
            }
        },
    ));
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("delivered in time")
        .expect("message");
    assert_eq!(got, sent);
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(10), consumer)
        .await
        .expect("consumer stops")
        .expect("join");
    // Acked: nothing left in the queue.
    let (_conn, channel) = raw_channel(&settings).await;
    let queue = Topology::new(&settings.exchange, 3).queue_name(&topology::SESSION_MANAGER);
    assert!(channel
        .basic_get(&queue, BasicGetOptions { no_ack: true })
        .await
        .expect("get")
        .is_none());
    bus.close().await;
    cleanup(&settings).await;
}

#[tokio::test]
async fn failing_messages_are_retried_then_dead_lettered() {
    rc_telemetry::init_for_test();
    let settings = settings();
    let bus = Arc::new(Bus::new(&settings));
    bus.publish(&queued()).await.expect("confirmed");
    let attempts = Arc::new(AtomicU32::new(0));
    let shutdown = Shutdown::default();
    let counter = attempts.clone();
    let consumer = tokio::spawn(consumer::run::<TaskEvent, _, _>(
        bus.clone(),
        topology::SESSION_MANAGER,
        1,
        shutdown.clone(),
        move |_env| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                anyhow::bail!("handler always fails")
            }
        },
    ));
    let topo = Topology::new(&settings.exchange, settings.max_deliveries);
    let (_conn, channel) = raw_channel(&settings).await;
    let dead = get_one(
        &channel,
        &topo.dead_letter_queue(&topology::SESSION_MANAGER),
    )
    .await;
    assert!(
        dead.is_some(),
        "the message never reached the dead-letter queue"
    );
    // The broker's delivery limit counts redeliveries: first delivery + max_deliveries retries.
    let n = attempts.load(Ordering::SeqCst);
    assert!((3..=4).contains(&n), "handled {n} times");
    shutdown.trigger();
    let _ = tokio::time::timeout(Duration::from_secs(10), consumer).await;
    bus.close().await;
    cleanup(&settings).await;
}

#[derive(Debug, Serialize, Deserialize)]
struct Garbage {
    nonsense: bool,
}

impl Message for Garbage {
    fn routing_key(&self) -> String {
        "task.queued".into()
    }
}

#[tokio::test]
async fn undecodable_messages_go_straight_to_the_dead_letter_queue() {
    rc_telemetry::init_for_test();
    let settings = settings();
    let bus = Arc::new(Bus::new(&settings));
    bus.publish(&Garbage { nonsense: true })
        .await
        .expect("confirmed");
    let handled = Arc::new(AtomicU32::new(0));
    let shutdown = Shutdown::default();
    let counter = handled.clone();
    let consumer = tokio::spawn(consumer::run::<TaskEvent, _, _>(
        bus.clone(),
        topology::SESSION_MANAGER,
        1,
        shutdown.clone(),
        move |_env| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        },
    ));
    let topo = Topology::new(&settings.exchange, settings.max_deliveries);
    let (_conn, channel) = raw_channel(&settings).await;
    let dead = get_one(
        &channel,
        &topo.dead_letter_queue(&topology::SESSION_MANAGER),
    )
    .await
    .expect("dead-lettered");
    assert!(String::from_utf8_lossy(&dead).contains("nonsense"));
    assert_eq!(
        handled.load(Ordering::SeqCst),
        0,
        "the handler saw an undecodable message"
    );
    shutdown.trigger();
    let _ = tokio::time::timeout(Duration::from_secs(10), consumer).await;
    bus.close().await;
    cleanup(&settings).await;
}

#[derive(Debug, Serialize, Deserialize)]
struct Nowhere;

impl Message for Nowhere {
    fn routing_key(&self) -> String {
        "nobody.listens".into()
    }
}

#[tokio::test]
async fn unroutable_messages_are_an_error_and_broker_down_is_unavailable() {
    let settings = settings();
    let bus = Bus::new(&settings);
    let err = bus.publish(&Nowhere).await.expect_err("unroutable");
    assert!(
        matches!(err, BusError::Unroutable(ref k) if k == "nobody.listens"),
        "{err}"
    );
    bus.close().await;
    cleanup(&settings).await;

    let down = Bus::new(&AmqpSettings {
        url: rc_config::Secret::new("amqp://guest:guest@127.0.0.1:1/%2f"),
        ..settings.clone()
    });
    let err = down.publish(&queued()).await.expect_err("no broker");
    assert!(matches!(err, BusError::Unavailable(_)), "{err}");
    assert!(down.ping().await.is_err());
}

#[tokio::test]
async fn publisher_reconnects_after_its_connection_is_lost() {
    let settings = settings();
    let bus = Bus::new(&settings);
    bus.publish(&queued()).await.expect("first publish");
    // The connection goes away (broker restart, network blip): the next publish reconnects.
    bus.close().await;
    bus.publish(&queued())
        .await
        .expect("publish after reconnect");
    let (_c, ch) = raw_channel(&settings).await;
    let queue = Topology::new(&settings.exchange, 3).queue_name(&topology::SESSION_MANAGER);
    assert!(get_one(&ch, &queue).await.is_some());
    assert!(
        get_one(&ch, &queue).await.is_some(),
        "both messages are queued"
    );
    cleanup(&settings).await;
}
