//! The warm pool: sandboxes created and started ahead of time, so a new session skips the
//! container create and start (bench/sandbox-create.sh measures both paths). A pooled sandbox has no session label (Docker labels are immutable); the
//! session row's `sandbox_name` is what ties it to its session once claimed.

use crate::sandbox::{Engine, SandboxSpec};
use rc_domain::sessions::SessionLimits;
use rc_runtime::Shutdown;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use uuid::Uuid;

const REFILL_DELAY: std::time::Duration = std::time::Duration::from_millis(750);

/// Limits a pooled sandbox starts with; the claiming session's own limits replace them.
const POOL_LIMITS: SessionLimits = SessionLimits {
    cpu_millis: 1000,
    memory_mb: 2048,
    pids: 512,
    idle_timeout_secs: 0,
    max_duration_secs: 0,
};

pub struct WarmPool {
    size: usize,
    image: String,
    node_id: String,
    tmp_size_mb: u32,
    ready: Mutex<VecDeque<String>>,
    taken: Notify,
}

impl WarmPool {
    pub fn new(size: u32, image: &str, node_id: &str, tmp_size_mb: u32) -> Self {
        Self {
            size: size as usize,
            image: image.to_owned(),
            node_id: node_id.to_owned(),
            tmp_size_mb,
            ready: Mutex::new(VecDeque::new()),
            taken: Notify::new(),
        }
    }

    /// A ready sandbox of `image`, if the pool has one.
    pub fn take(&self, image: &str) -> Option<String> {
        if image != self.image {
            return None;
        }
        let name = self.lock().pop_front();
        if name.is_some() {
            self.taken.notify_one();
        }
        name
    }

    pub fn ready_count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<String>> {
        // The queue stays consistent even if a holder panicked: it only holds names.
        self.ready.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `size` sandboxes ready until shutdown, then removes the unclaimed ones.
    pub async fn run(self: Arc<Self>, engine: Engine, shutdown: Shutdown) {
        if self.size == 0 {
            return;
        }
        let mut failures = 0u32;
        loop {
            while self.ready_count() < self.size && !shutdown.is_triggered() {
                let name = format!("rc-sbx-{}", Uuid::now_v7().simple());
                let spec = SandboxSpec {
                    name: name.clone(),
                    image: self.image.clone(),
                    limits: POOL_LIMITS,
                    node_id: self.node_id.clone(),
                    session: None,
                    tmp_size_mb: self.tmp_size_mb,
                };
                match engine.create_sandbox(&spec).await {
                    Ok(_) => {
                        failures = 0;
                        self.lock().push_back(name);
                        metrics::gauge!("rc_sandbox_pool_ready").set(self.ready_count() as f64);
                    }
                    Err(err) => {
                        failures += 1;
                        let pause = std::time::Duration::from_secs(u64::from(failures.min(6)) * 5);
                        tracing::warn!(%err, ?pause, "could not fill the warm pool");
                        tokio::select! {
                            () = tokio::time::sleep(pause) => {},
                            () = shutdown.wait() => break,
                        }
                    }
                }
            }
            tokio::select! {
                () = self.taken.notified() => {},
                () = shutdown.wait() => break,
            }
            // Let the claiming session finish its start before the engine gets busy with a
            // replacement (measured: the refill slowed the claim's own engine calls).
            tokio::select! {
                () = tokio::time::sleep(REFILL_DELAY) => {},
                () = shutdown.wait() => break,
            }
            metrics::gauge!("rc_sandbox_pool_ready").set(self.ready_count() as f64);
        }
        let leftovers: Vec<String> = self.lock().drain(..).collect();
        for name in leftovers {
            if let Err(err) = engine.remove_sandbox(&name, true).await {
                tracing::warn!(%err, sandbox = %name, "could not remove a pooled sandbox");
            }
        }
    }
}
