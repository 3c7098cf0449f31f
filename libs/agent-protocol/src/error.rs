/// Everything that can go wrong on a connection or channel, for either side.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("multiplexer error: {0}")]
    Mux(#[from] yamux::ConnectionError),
    #[error("malformed frame: {0}")]
    Json(#[from] serde_json::Error),
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge { size: usize, limit: usize },
    #[error(
        "protocol version mismatch: this side speaks version {local}, the peer version {remote}"
    )]
    VersionMismatch { local: u32, remote: u32 },
    /// The peer answered with an `error` frame.
    #[error("peer reported an error: {0}")]
    Remote(String),
    #[error("unexpected message: {0}")]
    Unexpected(String),
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error("connection closed")]
    Closed,
}
