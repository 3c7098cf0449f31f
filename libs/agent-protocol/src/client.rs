//! The controller side: what session-manager uses to drive one sandbox's agent.

use crate::frame::{self, FrameReader, FrameWriter};
use crate::mux::{self, Mode, MuxCloser, MuxHandle, MuxStream};
use crate::{
    dead_after, Channel, ClaudeEvent, ClaudeRequest, ControlEvent, ControlRequest, FilesRequest,
    FilesResponse, HelloAck, Open, ProtocolError, PtyEvent, PtyRequest, Role, HANDSHAKE_TIMEOUT,
    HEARTBEAT_INTERVAL, MAX_FRAME_BYTES, PROTOCOL_VERSION,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

/// One live connection to an agent. Cheap to clone; the connection ends when it closes, when
/// heartbeats stop, on [`AgentClient::close`], or once every clone and every channel opened
/// from it is dropped.
#[derive(Clone)]
pub struct AgentClient {
    inner: Arc<Inner>,
}

struct Inner {
    mux: MuxHandle,
    hello: HelloAck,
}

impl std::fmt::Debug for AgentClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentClient")
            .field("hello", &self.inner.hello)
            .field("closed", &self.inner.mux.is_closed())
            .finish()
    }
}

impl AgentClient {
    /// Runs the yamux client over `io` (e.g. `tokio::io::join(exec_stdout, exec_stdin)`),
    /// opens the control channel, does Hello/HelloAck and starts heartbeats. The returned
    /// [`Tunnels`] yields the TCP tunnels the agent opens; not draining it leaves them waiting.
    pub async fn connect<IO>(
        io: IO,
        client_name: &str,
    ) -> Result<(AgentClient, Tunnels), ProtocolError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        Self::connect_as(io, client_name, Role::Controller).await
    }

    /// Connects with the `files` role (file-service): only [`AgentClient::open_files`] works,
    /// every path is relative to `root` and confined to it, and the session's controller is
    /// left alone. Fails if the agent is too old to know roles (it would have taken this
    /// connection for a controller; the real one reconnects).
    pub async fn connect_files<IO>(
        io: IO,
        client_name: &str,
        root: &str,
    ) -> Result<AgentClient, ProtocolError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let role = Role::Files {
            root: root.to_owned(),
        };
        // A files connection never receives tunnels; the receiver is dropped.
        let (client, _tunnels) = Self::connect_as(io, client_name, role).await?;
        Ok(client)
    }

    /// [`AgentClient::connect`] with an explicit [`Role`].
    pub async fn connect_as<IO>(
        io: IO,
        client_name: &str,
        role: Role,
    ) -> Result<(AgentClient, Tunnels), ProtocolError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (mux, inbound) = mux::spawn(io, Mode::Client);
        let handshake = match timeout(HANDSHAKE_TIMEOUT, handshake(&mux, client_name, role)).await {
            Ok(Ok(done)) => done,
            Ok(Err(err)) => {
                mux.close();
                return Err(err);
            }
            Err(_) => {
                mux.close();
                return Err(ProtocolError::Timeout("the agent's HelloAck"));
            }
        };
        let (hello, reader, writer) = handshake;
        tracing::debug!(boot_id = %hello.boot_id, agent_version = %hello.agent_version, "agent connected");
        tokio::spawn(heartbeat(reader, writer, mux.closer()));
        let (tunnel_tx, tunnel_rx) = mpsc::channel(16);
        tokio::spawn(accept_tunnels(inbound, tunnel_tx));
        let client = AgentClient {
            inner: Arc::new(Inner { mux, hello }),
        };
        Ok((client, Tunnels { rx: tunnel_rx }))
    }

    /// The agent's answer to `Hello`; compare `boot_id` with the previous connection's to
    /// know whether sequence numbers restarted.
    pub fn hello(&self) -> &HelloAck {
        &self.inner.hello
    }

    /// Opens a `claude` channel. Send `Attach` on it to receive output.
    pub async fn open_claude(&self) -> Result<ClaudeChannel, ProtocolError> {
        self.open_framed(Channel::Claude).await
    }

    /// Opens a `pty` channel; its first request must be `Open` or `Attach`.
    pub async fn open_pty(&self) -> Result<PtyChannel, ProtocolError> {
        self.open_framed(Channel::Pty).await
    }

    /// Opens a `files` channel.
    pub async fn open_files(&self) -> Result<FilesChannel, ProtocolError> {
        self.open_framed(Channel::Files).await
    }

    async fn open_framed<Req: Serialize, Ev: DeserializeOwned>(
        &self,
        channel: Channel,
    ) -> Result<FramedChannel<Req, Ev>, ProtocolError> {
        let mut stream = self.inner.mux.open().await?;
        let limit = channel.max_frame_bytes();
        frame::write_frame(&mut stream, &Open::new(channel), MAX_FRAME_BYTES).await?;
        Ok(FramedChannel::new(stream, self.inner.mux.clone(), limit))
    }

    /// Resolves when the connection is gone (io closed or heartbeats missed).
    pub async fn closed(&self) {
        self.inner.mux.closed().await;
    }

    pub fn is_closed(&self) -> bool {
        self.inner.mux.is_closed()
    }

    /// Ends the connection now; the agent and its Claude process keep running.
    pub fn close(&self) {
        self.inner.mux.close();
    }
}

type ControlReader = FrameReader<ReadHalf<MuxStream>>;
type ControlWriter = FrameWriter<WriteHalf<MuxStream>>;

async fn handshake(
    mux: &MuxHandle,
    client_name: &str,
    role: Role,
) -> Result<(HelloAck, ControlReader, ControlWriter), ProtocolError> {
    let mut stream = mux.open().await?;
    frame::write_frame(&mut stream, &Open::new(Channel::Control), MAX_FRAME_BYTES).await?;
    let (read, write) = tokio::io::split(stream);
    let mut reader = FrameReader::new(read, MAX_FRAME_BYTES);
    let mut writer = FrameWriter::new(write, MAX_FRAME_BYTES);
    writer
        .send(&ControlRequest::Hello {
            protocol_version: PROTOCOL_VERSION,
            client: client_name.to_owned(),
            role: role.clone(),
        })
        .await?;
    match reader.recv::<ControlEvent>().await {
        Some(Ok(ControlEvent::HelloAck(hello)))
            if hello.protocol_version == PROTOCOL_VERSION && hello.role == role =>
        {
            Ok((hello, reader, writer))
        }
        Some(Ok(ControlEvent::HelloAck(hello))) if hello.protocol_version == PROTOCOL_VERSION => {
            Err(ProtocolError::Unexpected(format!(
                "the agent granted the role {:?} instead of {role:?} (agent {} is too old for roles)",
                hello.role, hello.agent_version
            )))
        }
        Some(Ok(ControlEvent::HelloAck(hello))) => Err(ProtocolError::VersionMismatch {
            local: PROTOCOL_VERSION,
            remote: hello.protocol_version,
        }),
        Some(Ok(ControlEvent::Error { message })) => Err(ProtocolError::Remote(message)),
        Some(Ok(other)) => Err(ProtocolError::Unexpected(format!(
            "{other:?} instead of hello_ack"
        ))),
        Some(Err(err)) => Err(err),
        None => Err(ProtocolError::Closed),
    }
}

/// Pings every [`HEARTBEAT_INTERVAL`] and closes the connection when the agent has been
/// silent for [`dead_after`]: a hung `docker exec` never reports an error by itself.
async fn heartbeat(mut reader: ControlReader, mut writer: ControlWriter, closer: MuxCloser) {
    let mut ticker = tokio::time::interval(HEARTBEAT_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = 0u64;
    let mut last_heard = Instant::now();
    let failure = loop {
        tokio::select! {
            () = closer.closed() => break None,
            _ = ticker.tick() => {
                if last_heard.elapsed() >= dead_after() {
                    break Some(format!("no heartbeat answer for {:?}", last_heard.elapsed()));
                }
                n += 1;
                // A write stuck behind a full pipe is not an error yet; the silence check
                // above decides.
                if let Ok(Err(err)) = timeout(HEARTBEAT_INTERVAL, writer.send(&ControlRequest::Ping { n })).await {
                    break Some(format!("sending a heartbeat failed: {err}"));
                }
            }
            msg = reader.recv::<ControlEvent>() => match msg {
                Some(Ok(ControlEvent::Pong { .. })) => last_heard = Instant::now(),
                Some(Ok(ControlEvent::Error { message })) => {
                    break Some(format!("agent reported: {message}"));
                }
                Some(Ok(other)) => tracing::debug!(?other, "ignoring control message"),
                Some(Err(err)) => break Some(format!("control channel failed: {err}")),
                None => break Some("the agent closed the control channel".to_owned()),
            },
        }
    };
    if let Some(reason) = failure {
        tracing::warn!(%reason, "closing the agent connection");
    }
    closer.close();
}

/// Reads the header of every agent-opened stream; tunnels go to [`Tunnels`].
async fn accept_tunnels(
    mut inbound: mpsc::UnboundedReceiver<MuxStream>,
    tunnels: mpsc::Sender<TunnelStream>,
) {
    while let Some(mut stream) = inbound.recv().await {
        let tunnels = tunnels.clone();
        // Concurrently, so a stream that never sends its header delays no other.
        tokio::spawn(async move {
            let header = timeout(
                HANDSHAKE_TIMEOUT,
                frame::read_frame::<_, Open>(&mut stream, MAX_FRAME_BYTES),
            )
            .await;
            let open = match header {
                Ok(Ok(Some(open))) => open,
                Ok(Ok(None)) => return,
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "bad header on an agent-opened stream");
                    return;
                }
                Err(_) => {
                    tracing::warn!("agent-opened stream sent no header in time");
                    return;
                }
            };
            if let Err(err) = open.check_version() {
                tracing::warn!(error = %err, "refusing an agent-opened stream");
                return;
            }
            match open.channel {
                Channel::Tunnel { target } => {
                    let _ = tunnels
                        .send(TunnelStream {
                            target,
                            inner: stream,
                        })
                        .await;
                }
                other => tracing::warn!(channel = other.name(), "agents may only open tunnels"),
            }
        });
    }
}

/// The TCP tunnels the agent opens, one per connection accepted inside the sandbox.
#[derive(Debug)]
pub struct Tunnels {
    rx: mpsc::Receiver<TunnelStream>,
}

impl Tunnels {
    /// The next tunnel; `None` once the connection is gone.
    pub async fn next(&mut self) -> Option<TunnelStream> {
        self.rx.recv().await
    }
}

/// One tunnelled TCP connection: raw bytes both ways. Shutting down the write side half-closes
/// the sandbox-side socket; dropping it resets the connection.
#[derive(Debug)]
pub struct TunnelStream {
    /// What the sandbox asked to reach, e.g. [`crate::TUNNEL_TARGET_MODEL`].
    pub target: String,
    inner: MuxStream,
}

impl AsyncRead for TunnelStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TunnelStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A framed channel: requests (`Req`) out, events (`Ev`) in. See [`ClaudeChannel`] and
/// [`PtyChannel`].
#[derive(Debug)]
pub struct FramedChannel<Req, Ev> {
    sender: ChannelSender<Req>,
    receiver: ChannelReceiver<Ev>,
}

/// A `claude` channel. Send `Attach` on it to receive output.
pub type ClaudeChannel = FramedChannel<ClaudeRequest, ClaudeEvent>;
/// The sending half of a [`ClaudeChannel`].
pub type ClaudeSender = ChannelSender<ClaudeRequest>;
/// The receiving half of a [`ClaudeChannel`].
pub type ClaudeReceiver = ChannelReceiver<ClaudeEvent>;
/// A `pty` channel: one terminal. Start with `Open` or `Attach`.
pub type PtyChannel = FramedChannel<PtyRequest, PtyEvent>;
/// A `files` channel: file operations, answered in order.
pub type FilesChannel = FramedChannel<FilesRequest, FilesResponse>;

impl<Req: Serialize, Ev: DeserializeOwned> FramedChannel<Req, Ev> {
    fn new(stream: MuxStream, mux: MuxHandle, max_frame_bytes: usize) -> Self {
        let (read, write) = tokio::io::split(stream);
        Self {
            sender: ChannelSender {
                writer: FrameWriter::new(write, max_frame_bytes),
                _mux: mux.clone(),
                _msg: PhantomData,
            },
            receiver: ChannelReceiver {
                reader: FrameReader::new(read, max_frame_bytes),
                _mux: mux,
                _msg: PhantomData,
            },
        }
    }

    pub async fn send(&mut self, msg: Req) -> Result<(), ProtocolError> {
        self.sender.send(msg).await
    }

    /// The next event; `None` when the agent closed the channel (or the connection ended).
    pub async fn recv(&mut self) -> Option<Result<Ev, ProtocolError>> {
        self.receiver.recv().await
    }

    /// The two directions, for use from two tasks.
    pub fn split(self) -> (ChannelSender<Req>, ChannelReceiver<Ev>) {
        (self.sender, self.receiver)
    }
}

/// The sending half of a [`FramedChannel`].
#[derive(Debug)]
pub struct ChannelSender<Req> {
    writer: FrameWriter<WriteHalf<MuxStream>>,
    /// Keeps the connection alive while the channel is in use.
    _mux: MuxHandle,
    _msg: PhantomData<fn(Req)>,
}

impl<Req: Serialize> ChannelSender<Req> {
    pub async fn send(&mut self, msg: Req) -> Result<(), ProtocolError> {
        self.writer.send(&msg).await
    }

    /// Closes the controller → agent direction; the agent then ends the channel. What runs
    /// behind it (the Claude process, a terminal) keeps running.
    pub async fn close(&mut self) -> Result<(), ProtocolError> {
        self.writer.close().await
    }
}

/// The receiving half of a [`FramedChannel`].
#[derive(Debug)]
pub struct ChannelReceiver<Ev> {
    reader: FrameReader<ReadHalf<MuxStream>>,
    _mux: MuxHandle,
    _msg: PhantomData<fn() -> Ev>,
}

impl<Ev: DeserializeOwned> ChannelReceiver<Ev> {
    /// Cancel-safe, so it can sit in a `select!`.
    pub async fn recv(&mut self) -> Option<Result<Ev, ProtocolError>> {
        self.reader.recv().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::read_frame;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};

    #[derive(Clone, Copy)]
    enum Behaviour {
        AnswerPings,
        IgnorePings,
        RefuseHello,
    }

    /// Just enough of an agent: answers the handshake, then (maybe) heartbeats, and opens
    /// one tunnel whose first raw bytes travel in the same write as its header.
    async fn fake_agent(io: DuplexStream, behaviour: Behaviour) {
        let (mux, mut inbound) = mux::spawn(io, Mode::Server);
        let mut stream = inbound.recv().await.expect("control stream");
        let open: Open = read_frame(&mut stream, MAX_FRAME_BYTES)
            .await
            .expect("header")
            .expect("header present");
        assert_eq!(open, Open::new(Channel::Control));
        let (read, write) = tokio::io::split(stream);
        let mut reader = FrameReader::new(read, MAX_FRAME_BYTES);
        let mut writer = FrameWriter::new(write, MAX_FRAME_BYTES);
        let hello = reader
            .recv::<ControlRequest>()
            .await
            .expect("hello")
            .expect("valid");
        assert!(matches!(hello, ControlRequest::Hello { .. }));
        if let Behaviour::RefuseHello = behaviour {
            writer
                .send(&ControlEvent::Error {
                    message: "go away".to_owned(),
                })
                .await
                .expect("send error");
            return;
        }
        writer
            .send(&ControlEvent::HelloAck(HelloAck {
                protocol_version: PROTOCOL_VERSION,
                agent_version: "test".to_owned(),
                boot_id: uuid::Uuid::new_v4(),
                pid: 1,
                role: Role::Controller,
            }))
            .await
            .expect("send hello ack");

        let mut tunnel = mux.open().await.expect("open tunnel");
        let mut burst = Vec::new();
        let header = serde_json::to_vec(&Open::new(Channel::Tunnel {
            target: "model".to_owned(),
        }))
        .expect("encode");
        burst.extend_from_slice(&u32::try_from(header.len()).expect("small").to_be_bytes());
        burst.extend_from_slice(&header);
        burst.extend_from_slice(b"raw bytes");
        tunnel.write_all(&burst).await.expect("write tunnel");
        tunnel.shutdown().await.expect("half-close tunnel");

        while let Some(Ok(msg)) = reader.recv::<ControlRequest>().await {
            if let (ControlRequest::Ping { n }, Behaviour::AnswerPings) = (msg, behaviour) {
                if writer.send(&ControlEvent::Pong { n }).await.is_err() {
                    break;
                }
            }
        }
        drop(tunnel);
        drop(mux);
    }

    async fn connect(behaviour: Behaviour) -> Result<(AgentClient, Tunnels), ProtocolError> {
        let (a, b) = tokio::io::duplex(64 * 1024);
        tokio::spawn(fake_agent(b, behaviour));
        AgentClient::connect(a, "unit-test").await
    }

    #[tokio::test]
    async fn tunnels_keep_the_bytes_that_follow_their_header() {
        let (client, mut tunnels) = connect(Behaviour::AnswerPings).await.expect("connect");
        assert_eq!(client.hello().agent_version, "test");
        let mut tunnel = tunnels.next().await.expect("a tunnel");
        assert_eq!(tunnel.target, "model");
        let mut got = Vec::new();
        tunnel.read_to_end(&mut got).await.expect("read tunnel");
        assert_eq!(got, b"raw bytes");
    }

    #[tokio::test]
    async fn a_refused_hello_fails_connect() {
        let err = connect(Behaviour::RefuseHello).await.expect_err("refused");
        assert!(
            matches!(err, ProtocolError::Remote(ref m) if m == "go away"),
            "{err}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_agent_is_declared_dead() {
        let (client, _tunnels) = connect(Behaviour::IgnorePings).await.expect("connect");
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(120), client.closed())
            .await
            .expect("declared dead");
        assert!(started.elapsed() >= dead_after() - HEARTBEAT_INTERVAL);
        assert!(client.open_claude().await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn an_answering_agent_stays_connected() {
        let (client, _tunnels) = connect(Behaviour::AnswerPings).await.expect("connect");
        let waited = tokio::time::timeout(Duration::from_secs(120), client.closed()).await;
        assert!(
            waited.is_err(),
            "still connected after two minutes of heartbeats"
        );
        client.close();
        client.closed().await;
    }
}
