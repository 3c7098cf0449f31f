//! The way into a session's files: a `docker exec` of `sandbox-agent attach` in its container,
//! exactly as session-manager attaches, but saying hello with the agent's `files` role. The
//! agent then confines every path to `/workspace` inside the sandbox's own mount namespace, as
//! the sandbox user — file-service never touches a host path. One connection per sandbox is
//! kept and shared; each request opens its own `files` channel on it.

use crate::files::Files;
use bollard::Docker;
use rc_agent_protocol::docker::AgentIo;
use rc_agent_protocol::AgentClient;
use rc_errors::{AppError, ErrorCode};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// The workspace inside every sandbox (session-manager's `WORKSPACE_DIR`).
pub const WORKSPACE: &str = "/workspace";
const CLIENT_NAME: &str = concat!("file-service/", env!("CARGO_PKG_VERSION"));

#[derive(Clone)]
pub struct Sandboxes {
    host: String,
    docker: Arc<Mutex<Option<Docker>>>,
    agents: Arc<Mutex<HashMap<String, AgentClient>>>,
}

impl Sandboxes {
    pub fn new(docker_host: &str) -> Self {
        Self {
            host: docker_host.to_owned(),
            docker: Arc::default(),
            agents: Arc::default(),
        }
    }

    /// A fresh `files` channel on the sandbox's agent (reusing the connection if it lives).
    pub async fn files(&self, sandbox: &str) -> Result<Files, AppError> {
        let cached = self.agents.lock().await.get(sandbox).cloned();
        if let Some(client) = cached.filter(|c| !c.is_closed()) {
            match client.open_files().await {
                Ok(channel) => return Ok(Files::new(channel)),
                Err(err) => tracing::debug!(%sandbox, %err, "cached agent connection failed"),
            }
        }
        let client = self.connect(sandbox).await?;
        let channel = client
            .open_files()
            .await
            .map_err(|e| AppError::unavailable("the sandbox agent", e))?;
        self.agents.lock().await.insert(sandbox.to_owned(), client);
        Ok(Files::new(channel))
    }

    async fn connect(&self, sandbox: &str) -> Result<AgentClient, AppError> {
        let io = self.attach(sandbox).await?;
        AgentClient::connect_files(io, CLIENT_NAME, WORKSPACE)
            .await
            .map_err(|e| AppError::unavailable("the sandbox agent", e))
    }

    async fn docker(&self) -> Result<Docker, AppError> {
        let mut client = self.docker.lock().await;
        if let Some(docker) = client.as_ref() {
            return Ok(docker.clone());
        }
        let docker = if self.host.is_empty() {
            Docker::connect_with_defaults()
        } else {
            Docker::connect_with_host(&self.host)
        }
        .map_err(|e| AppError::unavailable("the Docker engine", e))?;
        // bollard speaks a newer API than Debian's engine.
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| AppError::unavailable("the Docker engine", e))?;
        *client = Some(docker.clone());
        Ok(docker)
    }

    /// `docker exec -i <sandbox> sandbox-agent attach` as the sandbox user.
    async fn attach(&self, sandbox: &str) -> Result<AgentIo, AppError> {
        let docker = self.docker().await?;
        rc_agent_protocol::docker::attach(&docker, sandbox)
            .await
            .map_err(engine_error)
    }
}

/// A missing or stopped container means the session is not running here (any more).
fn engine_error(err: bollard::errors::Error) -> AppError {
    use bollard::errors::Error as E;
    match err {
        E::DockerResponseServerError {
            status_code: 404 | 409,
            message,
        } => AppError::new(
            ErrorCode::Conflict,
            "the session's sandbox is not running: start the session to access its files",
        )
        .with_source(anyhow::anyhow!(message)),
        E::DockerResponseServerError { message, .. } => {
            AppError::internal(anyhow::anyhow!("Docker engine refused: {message}"))
        }
        other => AppError::unavailable("the Docker engine", other),
    }
}
