//! Runs one yamux session over a byte pipe and hands out streams. Used by both sides: the
//! controller is the yamux client, the agent the server.
//!
//! A yamux `Connection` only makes progress while it is polled, so one task owns it and
//! polls it continuously; [`MuxHandle::open`] asks that task for outbound streams, and
//! inbound ones arrive on the receiver returned by [`spawn`]. The task ends (and every stream
//! with it) when the pipe closes, when [`MuxHandle::close`] is called, or when every
//! [`MuxHandle`] is dropped.

use crate::ProtocolError;
use std::collections::VecDeque;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};
use tokio_util::sync::CancellationToken;

pub use yamux::Mode;

/// A yamux stream as a tokio `AsyncRead + AsyncWrite`. Shutting down its write side sends a
/// FIN (half-close); dropping it unclosed resets it.
pub type MuxStream = Compat<yamux::Stream>;

type OpenReply = oneshot::Sender<Result<yamux::Stream, yamux::ConnectionError>>;

/// How long a local close may take to say goodbye (GoAway) before the pipe is just dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Opens streams on the session and closes it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct MuxHandle {
    opener: mpsc::Sender<OpenReply>,
    closer: MuxCloser,
}

/// Closes the session or waits for its end, without keeping it alive (see [`spawn`]).
#[derive(Debug, Clone)]
pub struct MuxCloser {
    shutdown: CancellationToken,
    done: CancellationToken,
}

impl MuxCloser {
    /// Ends the session; every stream on it fails.
    pub fn close(&self) {
        self.shutdown.cancel();
    }

    /// Resolves once the session is over, whatever the reason.
    pub async fn closed(&self) {
        self.done.cancelled().await;
    }

    pub fn is_closed(&self) -> bool {
        self.done.is_cancelled()
    }
}

impl MuxHandle {
    /// Opens an outbound stream. The peer learns of it with the first bytes written.
    pub async fn open(&self) -> Result<MuxStream, ProtocolError> {
        let (tx, rx) = oneshot::channel();
        self.opener
            .send(tx)
            .await
            .map_err(|_| ProtocolError::Closed)?;
        let stream = rx.await.map_err(|_| ProtocolError::Closed)??;
        Ok(FuturesAsyncReadCompatExt::compat(stream))
    }

    pub fn closer(&self) -> MuxCloser {
        self.closer.clone()
    }

    pub fn close(&self) {
        self.closer.close();
    }

    pub async fn closed(&self) {
        self.closer.closed().await;
    }

    pub fn is_closed(&self) -> bool {
        self.closer.is_closed()
    }
}

/// Starts the session over `io` on the current tokio runtime.
pub fn spawn<IO>(io: IO, mode: Mode) -> (MuxHandle, mpsc::UnboundedReceiver<MuxStream>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = yamux::Connection::new(
        TokioAsyncReadCompatExt::compat(io),
        yamux::Config::default(),
        mode,
    );
    let (opener, open_rx) = mpsc::channel(16);
    let (inbound_tx, inbound_rx) = mpsc::unbounded_channel();
    let closer = MuxCloser {
        shutdown: CancellationToken::new(),
        done: CancellationToken::new(),
    };
    tokio::spawn(drive(conn, open_rx, inbound_tx, closer.clone()));
    (MuxHandle { opener, closer }, inbound_rx)
}

/// Why the polling loop stopped.
enum Ended {
    /// The peer closed the session or the pipe reached its end.
    Eof,
    /// Every handle is gone: nobody can use the session any more.
    Unused,
}

async fn drive<T>(
    mut conn: yamux::Connection<T>,
    mut open_rx: mpsc::Receiver<OpenReply>,
    inbound_tx: mpsc::UnboundedSender<MuxStream>,
    closer: MuxCloser,
) where
    T: futures::AsyncRead + futures::AsyncWrite + Unpin,
{
    let mut pending = VecDeque::new();
    let ended = tokio::select! {
        ended = std::future::poll_fn(|cx| {
            poll_session(cx, &mut conn, &mut open_rx, &mut pending, &inbound_tx)
        }) => ended,
        () = closer.shutdown.cancelled() => Ok(Ended::Unused),
    };
    let say_goodbye = match ended {
        Ok(Ended::Eof) => {
            tracing::debug!("multiplexed session ended by the peer");
            false
        }
        Ok(Ended::Unused) => true,
        Err(err) => {
            tracing::debug!(error = %err, "multiplexed session failed");
            false
        }
    };
    if say_goodbye {
        let _ = tokio::time::timeout(
            CLOSE_TIMEOUT,
            std::future::poll_fn(|cx| conn.poll_close(cx)),
        )
        .await;
    }
    drop(conn);
    closer.shutdown.cancel();
    closer.done.cancel();
}

fn poll_session<T>(
    cx: &mut Context<'_>,
    conn: &mut yamux::Connection<T>,
    open_rx: &mut mpsc::Receiver<OpenReply>,
    pending: &mut VecDeque<OpenReply>,
    inbound_tx: &mpsc::UnboundedSender<MuxStream>,
) -> Poll<Result<Ended, yamux::ConnectionError>>
where
    T: futures::AsyncRead + futures::AsyncWrite + Unpin,
{
    loop {
        match open_rx.poll_recv(cx) {
            Poll::Ready(Some(reply)) => pending.push_back(reply),
            Poll::Ready(None) if pending.is_empty() => return Poll::Ready(Ok(Ended::Unused)),
            Poll::Ready(None) | Poll::Pending => break,
        }
    }
    while !pending.is_empty() {
        match conn.poll_new_outbound(cx) {
            Poll::Ready(Ok(stream)) => {
                if let Some(reply) = pending.pop_front() {
                    // A requester that gave up drops the stream, which resets it.
                    let _ = reply.send(Ok(stream));
                }
            }
            Poll::Ready(Err(err)) => {
                for reply in pending.drain(..) {
                    let _ = reply.send(Err(yamux::ConnectionError::Closed));
                }
                return Poll::Ready(Err(err));
            }
            Poll::Pending => break,
        }
    }
    loop {
        match conn.poll_next_inbound(cx) {
            // Nobody listening: dropping the stream resets it, which is the right answer.
            Poll::Ready(Some(Ok(stream))) => {
                let _ = inbound_tx.send(FuturesAsyncReadCompatExt::compat(stream));
            }
            Poll::Ready(Some(Err(err))) => return Poll::Ready(Err(err)),
            Poll::Ready(None) => return Poll::Ready(Ok(Ended::Eof)),
            Poll::Pending => return Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn streams_flow_both_ways_and_half_close() {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let (client, _client_inbound) = spawn(a, Mode::Client);
        let (server, mut server_inbound) = spawn(b, Mode::Server);

        let mut out = client.open().await.unwrap();
        out.write_all(b"ping").await.unwrap();
        out.shutdown().await.unwrap();
        let mut inbound = server_inbound.recv().await.unwrap();
        let mut got = Vec::new();
        inbound.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"ping");
        // Half-closed: the other direction still works.
        inbound.write_all(b"pong").await.unwrap();
        inbound.shutdown().await.unwrap();
        let mut back = Vec::new();
        out.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"pong");

        client.close();
        client.closed().await;
        tokio::time::timeout(Duration::from_secs(5), server.closed())
            .await
            .expect("the server sees the session end");
        assert!(server_inbound.recv().await.is_none());
    }

    #[tokio::test]
    async fn dropping_every_handle_ends_the_session() {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let (client, _inbound) = spawn(a, Mode::Client);
        let (server, _server_inbound) = spawn(b, Mode::Server);
        let closer = client.closer();
        drop(client);
        closer.closed().await;
        tokio::time::timeout(Duration::from_secs(5), server.closed())
            .await
            .expect("the server sees the session end");
    }
}
