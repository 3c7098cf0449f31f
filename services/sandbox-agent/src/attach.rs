//! `sandbox-agent attach`: a dumb pipe between this process's stdio (the `docker exec`
//! stream) and the agent's socket. All protocol logic lives at the two ends.

use std::path::{Path, PathBuf};
use tokio::io::{AsyncWriteExt as _, BufReader};
use tokio::net::UnixStream;

const BUFFER: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("cannot connect to the agent at {path}: {source} (is `sandbox-agent serve` running?)")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("copying {direction} failed: {source}")]
    Copy {
        direction: &'static str,
        source: std::io::Error,
    },
}

/// Returns when either direction ends: the controller closed stdin, or the agent closed the
/// connection (e.g. because a newer one replaced it).
pub async fn run(socket: &Path) -> Result<(), AttachError> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|source| AttachError::Connect {
            path: socket.to_owned(),
            source,
        })?;
    let (socket_read, mut socket_write) = stream.into_split();
    let mut stdin = BufReader::with_capacity(BUFFER, tokio::io::stdin());
    let mut socket_read = BufReader::with_capacity(BUFFER, socket_read);
    let mut stdout = tokio::io::stdout();
    let upstream = async {
        let copied = tokio::io::copy_buf(&mut stdin, &mut socket_write).await;
        let _ = socket_write.shutdown().await;
        ended(copied, "stdin to the agent")
    };
    let downstream = async {
        let copied = tokio::io::copy_buf(&mut socket_read, &mut stdout).await;
        let _ = stdout.flush().await;
        ended(copied, "the agent to stdout")
    };
    tokio::select! {
        result = upstream => result.map(|bytes| tracing::debug!(bytes, "stdin closed")),
        result = downstream => result.map(|bytes| tracing::debug!(bytes, "agent closed the connection")),
    }
}

/// The other end going away mid-copy (the agent dropped a replaced connection, the
/// controller closed the exec) is how an attach normally ends, not a failure.
fn ended(copied: std::io::Result<u64>, direction: &'static str) -> Result<u64, AttachError> {
    match copied {
        Ok(bytes) => Ok(bytes),
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ) =>
        {
            tracing::debug!(direction, error = %err, "peer went away");
            Ok(0)
        }
        Err(source) => Err(AttachError::Copy { direction, source }),
    }
}
