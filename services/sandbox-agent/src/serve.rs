//! `sandbox-agent serve`: binds the socket and the model port, then accepts controller
//! connections and tunnelled TCP connections until stopped.

use crate::claude::ring::RingLimits;
use crate::claude::Supervisor;
use crate::cli::DEFAULT_SOCKET;
use crate::pty::Terminals;
use crate::{connection, tunnel};
use rc_agent_protocol::mux::MuxHandle;
use std::future::Future;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UnixListener, UnixStream};
use tokio::sync::watch;
use uuid::Uuid;

/// How long the Claude process gets to exit on SIGTERM when the agent itself is stopped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub socket: PathBuf,
    /// Where the CLI's `ANTHROPIC_BASE_URL` points; port 0 picks a free one (tests).
    pub model_listen: SocketAddr,
    /// Unacknowledged output entries kept for replay.
    pub buffer_lines: usize,
    /// ... and their total encoded size.
    pub buffer_bytes: usize,
    /// How long a model connection waits for a controller before it is closed.
    pub tunnel_wait: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            socket: PathBuf::from(DEFAULT_SOCKET),
            model_listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            buffer_lines: 20_000,
            buffer_bytes: 128 * 1024 * 1024,
            tunnel_wait: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("another sandbox-agent is already serving on {0}")]
    AlreadyServing(PathBuf),
    #[error("cannot listen on {path}: {source}")]
    Socket {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    ModelListen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// State shared by every connection of this agent process.
pub(crate) struct Agent {
    /// Random per `serve` start; tells a controller that sequence numbers restarted.
    pub boot_id: Uuid,
    pub claude: Arc<Supervisor>,
    pub terminals: Arc<Terminals>,
    /// The attached controller, if any. Tunnels open their streams on it.
    pub current: watch::Sender<Option<Current>>,
    pub tunnel_wait: Duration,
}

#[derive(Clone)]
pub(crate) struct Current {
    pub id: u64,
    pub mux: MuxHandle,
}

/// A bound, not yet running agent: the model port is known before anything is served.
pub struct Server {
    socket_path: PathBuf,
    socket: UnixListener,
    model: TcpListener,
    agent: Arc<Agent>,
}

impl Server {
    pub async fn bind(config: ServeConfig) -> Result<Self, ServeError> {
        let socket_error = |source| ServeError::Socket {
            path: config.socket.clone(),
            source,
        };
        remove_stale_socket(&config.socket).await?;
        let socket = UnixListener::bind(&config.socket).map_err(socket_error)?;
        // Only the sandbox user may attach (the controller comes in through docker exec as
        // that user).
        std::fs::set_permissions(&config.socket, std::fs::Permissions::from_mode(0o600))
            .map_err(socket_error)?;
        let model = TcpListener::bind(config.model_listen)
            .await
            .map_err(|source| ServeError::ModelListen {
                addr: config.model_listen,
                source,
            })?;
        let agent = Arc::new(Agent {
            boot_id: Uuid::new_v4(),
            claude: Supervisor::new(RingLimits {
                max_entries: config.buffer_lines,
                max_bytes: config.buffer_bytes,
            }),
            terminals: Terminals::new(),
            current: watch::Sender::new(None),
            tunnel_wait: config.tunnel_wait,
        });
        Ok(Self {
            socket_path: config.socket,
            socket,
            model,
            agent,
        })
    }

    pub fn model_addr(&self) -> std::io::Result<SocketAddr> {
        self.model.local_addr()
    }

    pub fn boot_id(&self) -> Uuid {
        self.agent.boot_id
    }

    pub async fn run_until_stopped(self, stop: impl Future<Output = ()>) {
        let model_addr = self.model.local_addr().ok();
        tracing::info!(
            socket = %self.socket_path.display(),
            model_listen = ?model_addr,
            boot_id = %self.agent.boot_id,
            "sandbox-agent serving"
        );
        tokio::pin!(stop);
        let mut next_id = 0u64;
        loop {
            tokio::select! {
                () = &mut stop => break,
                accepted = self.socket.accept() => match accepted {
                    Ok((stream, _)) => {
                        next_id += 1;
                        connection::start(self.agent.clone(), next_id, stream);
                    }
                    Err(err) => accept_failed("socket", &err).await,
                },
                accepted = self.model.accept() => match accepted {
                    Ok((tcp, _)) => {
                        tokio::spawn(tunnel::forward(self.agent.clone(), tcp));
                    }
                    Err(err) => accept_failed("model port", &err).await,
                },
            }
        }
        tracing::info!("stopping");
        if let Some(current) = self.agent.current.send_replace(None) {
            current.mux.close();
        }
        self.agent.terminals.hangup_all();
        self.agent.claude.shutdown(SHUTDOWN_GRACE).await;
        let _ = std::fs::remove_file(&self.socket_path);
    }
}

/// Out of file descriptors and the like: pause instead of spinning on the error.
async fn accept_failed(what: &str, err: &std::io::Error) {
    tracing::warn!(error = %err, "accept on the {what} failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// A socket file left by a previous run would make bind fail; one that still answers belongs
/// to a live agent, which must not be taken over.
async fn remove_stale_socket(path: &Path) -> Result<(), ServeError> {
    if !path.exists() {
        return Ok(());
    }
    if UnixStream::connect(path).await.is_ok() {
        return Err(ServeError::AlreadyServing(path.to_owned()));
    }
    std::fs::remove_file(path).map_err(|source| ServeError::Socket {
        path: path.to_owned(),
        source,
    })
}
