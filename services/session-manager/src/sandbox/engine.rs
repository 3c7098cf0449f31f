//! Docker Engine calls for sandboxes (bollard). Every call names the sandbox it is about, and
//! errors separate "the engine is unreachable" (retry later, 503 for new sessions) from "the
//! engine refused" (the session fails with the engine's message).

use super::spec::{self, SandboxSpec, LABEL_MANAGED, LABEL_NODE};
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerStatsResponse, ContainerUpdateBody, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveVolumeOptionsBuilder, StatsOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine did not answer (down, socket missing, timeout).
    #[error("Docker engine unavailable: {0}")]
    Unavailable(String),
    #[error("no such container or volume: {0}")]
    NotFound(String),
    /// The engine answered with an error (unknown image, bad limits, …).
    #[error("Docker engine refused: {0}")]
    Refused(String),
}

impl From<bollard::errors::Error> for EngineError {
    fn from(err: bollard::errors::Error) -> Self {
        use bollard::errors::Error as E;
        match err {
            E::DockerResponseServerError {
                status_code: 404,
                message,
            } => Self::NotFound(message),
            E::DockerResponseServerError { message, .. } => Self::Refused(message),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

/// A managed container as listed by the engine.
#[derive(Debug, Clone)]
pub struct SandboxInfo {
    pub id: String,
    pub name: String,
    pub running: bool,
    pub labels: HashMap<String, String>,
}

/// Figures sampled from the engine for one sandbox.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SandboxStats {
    /// Share of one CPU since the previous sample (1.0 = one full core).
    pub cpu_cores: f64,
    pub memory_bytes: u64,
    pub memory_limit_bytes: u64,
    pub network_rx_bytes: u64,
    pub network_tx_bytes: u64,
    pub pids: u64,
}

/// The agent's stdin/stdout, as one duplex byte stream.
pub use rc_agent_protocol::docker::AgentIo;

#[derive(Clone)]
pub struct Engine {
    host: String,
    /// Connected (and version-negotiated) client; empty until the engine first answers, so
    /// session-manager can start before the engine and pick it up later.
    client: Arc<Mutex<Option<Docker>>>,
}

impl Engine {
    /// Connects lazily (bollard opens connections per request), then negotiates the API
    /// version: bollard speaks a newer API than Debian's engine (environment.md §7). An
    /// engine that is down does not stop session-manager from starting: readiness reports
    /// it, and sessions created meanwhile fail with the reason.
    pub async fn connect(docker_host: &str) -> Result<Self, EngineError> {
        let engine = Self {
            host: docker_host.to_owned(),
            client: Arc::new(Mutex::new(None)),
        };
        if let Err(err) = engine.docker().await {
            tracing::warn!(%err, "Docker engine unreachable at start-up");
        }
        Ok(engine)
    }

    /// The client, connecting first if needed.
    async fn docker(&self) -> Result<Docker, EngineError> {
        let mut client = self.client.lock().await;
        if let Some(docker) = client.as_ref() {
            return Ok(docker.clone());
        }
        let docker = if self.host.is_empty() {
            Docker::connect_with_defaults()?
        } else {
            Docker::connect_with_host(&self.host)?
        };
        let docker = docker.negotiate_version().await?;
        *client = Some(docker.clone());
        Ok(docker)
    }

    pub async fn ping(&self) -> Result<(), EngineError> {
        self.docker().await?.ping().await?;
        Ok(())
    }

    /// Creates the two volumes (or reuses them, when a stopped session starts again) and the
    /// container, then starts it. On failure everything made so far is removed again —
    /// except volumes that existed before: they hold a user's workspace.
    pub async fn create_sandbox(&self, spec: &SandboxSpec) -> Result<String, EngineError> {
        let docker = self.docker().await?;
        // Only a definite "no such volume" counts as absent: after any other answer the
        // cleanup below must not risk deleting a user's workspace.
        let existed = match docker.inspect_volume(&spec.workspace_volume()).await {
            Ok(_) => true,
            Err(err) => !matches!(EngineError::from(err), EngineError::NotFound(_)),
        };
        let result = self.try_create(spec).await;
        if result.is_err() {
            if let Err(err) = self.remove_sandbox(&spec.name, !existed).await {
                tracing::warn!(sandbox = %spec.name, %err, "cleanup after a failed create");
            }
        }
        result
    }

    async fn try_create(&self, spec: &SandboxSpec) -> Result<String, EngineError> {
        for volume in [spec.workspace_volume(), spec.home_volume()] {
            self.docker()
                .await?
                .create_volume(VolumeCreateRequest {
                    name: Some(volume),
                    labels: Some(spec.labels()),
                    ..Default::default()
                })
                .await?;
        }
        let options = CreateContainerOptionsBuilder::default()
            .name(&spec.name)
            .build();
        let created = self
            .docker()
            .await?
            .create_container(Some(options), spec.container_body())
            .await?;
        self.docker()
            .await?
            .start_container(&created.id, None)
            .await?;
        Ok(created.id)
    }

    /// Stops (SIGTERM, then SIGKILL after `grace_secs`) and removes the container; with
    /// `volumes`, also its workspace and home. Missing pieces are not an error.
    pub async fn remove_sandbox(&self, name: &str, volumes: bool) -> Result<(), EngineError> {
        self.stop(name, 0).await?;
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        match self
            .docker()
            .await?
            .remove_container(name, Some(options))
            .await
        {
            Ok(()) => {}
            Err(err) => match EngineError::from(err) {
                EngineError::NotFound(_) => {}
                // "removal already in progress" when two removals race: the other one wins.
                EngineError::Refused(msg) if msg.contains("already in progress") => {}
                other => return Err(other),
            },
        }
        if volumes {
            for volume in [spec::workspace_volume(name), spec::home_volume(name)] {
                let options = RemoveVolumeOptionsBuilder::default().force(true).build();
                match self
                    .docker()
                    .await?
                    .remove_volume(&volume, Some(options))
                    .await
                {
                    Ok(()) => {}
                    Err(err) => match EngineError::from(err) {
                        EngineError::NotFound(_) => {}
                        other => return Err(other),
                    },
                }
            }
        }
        Ok(())
    }

    /// Graceful stop; a missing or stopped container is fine.
    pub async fn stop(&self, name: &str, grace_secs: u64) -> Result<(), EngineError> {
        let options = StopContainerOptionsBuilder::default()
            .t(i32::try_from(grace_secs).unwrap_or(i32::MAX))
            .build();
        match self
            .docker()
            .await?
            .stop_container(name, Some(options))
            .await
        {
            Ok(()) => Ok(()),
            Err(err) => match EngineError::from(err) {
                EngineError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    pub async fn start(&self, name: &str) -> Result<(), EngineError> {
        match self.docker().await?.start_container(name, None).await {
            Ok(()) => Ok(()),
            Err(err) => match EngineError::from(err) {
                // 304: already running.
                EngineError::Refused(msg) if msg.contains("already started") => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Whether the container exists and runs; `None` when it does not exist.
    pub async fn is_running(&self, name: &str) -> Result<Option<bool>, EngineError> {
        match self.docker().await?.inspect_container(name, None).await {
            Ok(c) => Ok(Some(c.state.and_then(|s| s.running).unwrap_or(false))),
            Err(err) => match EngineError::from(err) {
                EngineError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Applies a claimed pool sandbox's session limits (the engine changes cgroup limits of
    /// a running container in place).
    pub async fn update_limits(
        &self,
        name: &str,
        limits: &rc_domain::sessions::SessionLimits,
    ) -> Result<(), EngineError> {
        let memory = i64::from(limits.memory_mb) * 1024 * 1024;
        self.docker()
            .await?
            .update_container(
                name,
                ContainerUpdateBody {
                    memory: Some(memory),
                    memory_swap: Some(memory),
                    nano_cpus: Some(i64::from(limits.cpu_millis) * 1_000_000),
                    pids_limit: Some(i64::from(limits.pids)),
                    ..Default::default()
                },
            )
            .await?;
        Ok(())
    }

    /// Every container this node manages, running or not.
    pub async fn list_managed(&self, node_id: &str) -> Result<Vec<SandboxInfo>, EngineError> {
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![
                format!("{LABEL_MANAGED}=true"),
                format!("{LABEL_NODE}={node_id}"),
            ],
        )]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let containers = self.docker().await?.list_containers(Some(options)).await?;
        Ok(containers
            .into_iter()
            .map(|c| SandboxInfo {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .map(|n| n.trim_start_matches('/').to_owned())
                    .unwrap_or_default(),
                running: c.state.map(|s| s.to_string() == "running").unwrap_or(false),
                labels: c.labels.unwrap_or_default(),
            })
            .collect())
    }

    /// Runs `sandbox-agent attach` in the sandbox and returns its stdin/stdout as one byte
    /// stream: the sandbox's one channel. The agent's stderr goes to our log.
    pub async fn attach_agent(&self, name: &str) -> Result<AgentIo, EngineError> {
        let docker = self.docker().await?;
        Ok(rc_agent_protocol::docker::attach(&docker, name).await?)
    }

    /// Writes `content` to `path` inside the sandbox as root (mode 0444), where uid 1000 cannot
    /// change it. Used for the organisation's managed settings, which live on a root-owned
    /// tmpfs because the root filesystem is read-only and `docker cp` refuses such containers.
    pub async fn write_root_file(
        &self,
        name: &str,
        path: &str,
        content: &[u8],
    ) -> Result<(), EngineError> {
        use tokio::io::AsyncWriteExt as _;
        let docker = self.docker().await?;
        // The tmpfs takes the image directory's mode (0555); root owns it but has no
        // CAP_DAC_OVERRIDE here, so it opens the directory for itself (0755) first.
        let dir = path.rsplit_once('/').map_or("/", |(d, _)| d);
        let script = format!(
            "chmod 0755 '{dir}' && cat > '{path}.tmp' && chmod 0444 '{path}.tmp' && mv -f '{path}.tmp' '{path}'"
        );
        let exec = docker
            .create_exec(
                name,
                CreateExecOptions {
                    cmd: Some(vec!["sh", "-c", script.as_str()]),
                    attach_stdin: Some(true),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    user: Some("0:0"),
                    ..Default::default()
                },
            )
            .await?;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = docker.start_exec(&exec.id, None).await?
        else {
            return Err(EngineError::Refused("exec started detached".into()));
        };
        input
            .write_all(content)
            .await
            .map_err(|e| EngineError::Unavailable(e.to_string()))?;
        input
            .shutdown()
            .await
            .map_err(|e| EngineError::Unavailable(e.to_string()))?;
        drop(input);
        let mut stderr = String::new();
        while let Some(chunk) = output.next().await {
            if let Ok(LogOutput::StdErr { message }) = chunk {
                stderr.push_str(&String::from_utf8_lossy(&message));
            }
        }
        let code = docker.inspect_exec(&exec.id).await?.exit_code;
        if code != Some(0) {
            return Err(EngineError::Refused(format!(
                "writing {path} exited {code:?}: {}",
                stderr.trim()
            )));
        }
        Ok(())
    }

    /// One stats sample. CPU is computed from the engine's own previous-sample figures.
    pub async fn stats(&self, name: &str) -> Result<SandboxStats, EngineError> {
        let options = StatsOptionsBuilder::default()
            .stream(false)
            .one_shot(false)
            .build();
        let docker = self.docker().await?;
        let mut stream = docker.stats(name, Some(options));
        let Some(sample) = stream.next().await else {
            return Err(EngineError::NotFound(name.to_owned()));
        };
        Ok(summarise(&sample?))
    }
}

fn summarise(s: &ContainerStatsResponse) -> SandboxStats {
    let total = |c: &Option<bollard::models::ContainerCpuStats>| {
        c.as_ref()
            .and_then(|c| c.cpu_usage.as_ref())
            .and_then(|u| u.total_usage)
            .unwrap_or(0)
    };
    let system = |c: &Option<bollard::models::ContainerCpuStats>| {
        c.as_ref().and_then(|c| c.system_cpu_usage).unwrap_or(0)
    };
    let cpu_delta = total(&s.cpu_stats).saturating_sub(total(&s.precpu_stats)) as f64;
    let system_delta = system(&s.cpu_stats).saturating_sub(system(&s.precpu_stats)) as f64;
    let cpus = s
        .cpu_stats
        .as_ref()
        .and_then(|c| c.online_cpus)
        .unwrap_or(1) as f64;
    let cpu_cores = if system_delta > 0.0 {
        cpu_delta / system_delta * cpus
    } else {
        0.0
    };
    let (rx, tx) = s
        .networks
        .as_ref()
        .map(|n| {
            n.values().fold((0, 0), |(rx, tx), i| {
                (rx + i.rx_bytes.unwrap_or(0), tx + i.tx_bytes.unwrap_or(0))
            })
        })
        .unwrap_or((0, 0));
    let memory = s.memory_stats.as_ref();
    SandboxStats {
        cpu_cores,
        memory_bytes: memory.and_then(|m| m.usage).unwrap_or(0),
        memory_limit_bytes: memory.and_then(|m| m.limit).unwrap_or(0),
        network_rx_bytes: rx,
        network_tx_bytes: tx,
        pids: s.pids_stats.as_ref().and_then(|p| p.current).unwrap_or(0),
    }
}
