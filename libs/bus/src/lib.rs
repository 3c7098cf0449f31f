//! The message bus (RabbitMQ via lapin).
//!
//! - [`topology`]: every exchange, queue and binding, declared in one place by whoever
//!   connects first, so publishing never races a consumer's declarations;
//! - [`messages`]: the versioned message schemas shared by publishers and consumers;
//! - [`Bus`]: a connection that reconnects, publishes with publisher confirms and `mandatory`
//!   (an unroutable message is an error, not a silent drop), and carries the trace context in
//!   message headers;
//! - [`consumer`]: a consume loop that survives broker restarts, acks only after the handler
//!   succeeded, and leaves repeated failures to the broker's delivery limit, which moves them to
//!   the queue's dead-letter queue.

pub mod consumer;
pub mod messages;
mod publisher;
pub mod topology;

pub use messages::Message;
pub use publisher::{Bus, BusError};

/// Adds the broker to a service's `/readyz` checks.
pub trait ReadinessExt {
    fn rabbitmq(self, bus: std::sync::Arc<Bus>) -> Self;
}

impl ReadinessExt for rc_runtime::ops::Readiness {
    fn rabbitmq(self, bus: std::sync::Arc<Bus>) -> Self {
        self.check("rabbitmq", move || {
            let bus = bus.clone();
            async move { bus.ping().await.map_err(|e| e.to_string()) }
        })
    }
}
