//! One connection to the socket: a yamux session whose inbound streams are dispatched by
//! their `Open` header. The newest connection that said Hello (as controller) is the
//! controller; a connection that said Hello with the `files` role may open `files` channels
//! confined to its root, and nothing else.

use crate::files::Scope;
use crate::serve::{Agent, Current};
use crate::{claude, control, files, pty};
use rc_agent_protocol::frame::{read_frame, write_frame};
use rc_agent_protocol::mux::{self, Mode, MuxCloser, MuxStream};
use rc_agent_protocol::{
    dead_after, Channel, ErrorFrame, Open, HANDSHAKE_TIMEOUT, MAX_FRAME_BYTES, PROTOCOL_VERSION,
};
use std::sync::{Arc, OnceLock};
use tokio::io::AsyncWriteExt as _;
use tokio::net::UnixStream;
use tokio::sync::watch;

pub(crate) fn start(agent: Arc<Agent>, id: u64, stream: UnixStream) {
    tracing::debug!(id, "connection accepted");
    let (mux, mut inbound) = mux::spawn(stream, Mode::Server);
    tokio::spawn(async move {
        let me = Current { id, mux };
        let closer = me.mux.closer();
        let (alive, alive_rx) = watch::channel(());
        let watchdog = tokio::spawn(watchdog(alive_rx, closer.clone()));
        let files_role = FilesRole::default();
        while let Some(stream) = inbound.recv().await {
            tokio::spawn(dispatch(
                agent.clone(),
                stream,
                me.clone(),
                alive.clone(),
                files_role.clone(),
            ));
        }
        closer.closed().await;
        watchdog.abort();
        agent.current.send_if_modified(|current| {
            if current.as_ref().is_some_and(|c| c.id == id) {
                *current = None;
                true
            } else {
                false
            }
        });
        tracing::info!(id, "connection ended");
    });
}

/// Set once by a Hello with the `files` role: the confined scope of this connection's files
/// channels. A connection never loses it, and never gains another root.
pub(crate) type FilesRole = Arc<OnceLock<(String, Scope)>>;

/// Called on a successful Hello: only then does a connection count as the controller, so a
/// stray connection to the socket (a readiness probe, a curious process in the sandbox)
/// neither displaces the real controller nor receives its tunnels.
pub(crate) fn promote(agent: &Agent, me: &Current) {
    let previous = agent.current.send_replace(Some(me.clone()));
    match previous {
        Some(previous) if previous.id != me.id => {
            tracing::info!(
                old = previous.id,
                new = me.id,
                "a new controller replaces the old one"
            );
            previous.mux.close();
        }
        Some(_) => {}
        None => tracing::info!(id = me.id, "controller attached"),
    }
}

/// Closes the connection when the controller has been silent on the control channel for
/// [`dead_after`] (counting from the connection's start, so one that never says Hello goes
/// too): a dead `docker exec` does not always close the pipe.
async fn watchdog(mut alive: watch::Receiver<()>, closer: MuxCloser) {
    loop {
        match tokio::time::timeout(dead_after(), alive.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                tracing::warn!(silent_for = ?dead_after(), "no heartbeat from the controller; dropping the connection");
                closer.close();
                return;
            }
        }
    }
}

async fn dispatch(
    agent: Arc<Agent>,
    mut stream: MuxStream,
    me: Current,
    alive: watch::Sender<()>,
    files_role: FilesRole,
) {
    let open = match tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        read_frame::<_, Open>(&mut stream, MAX_FRAME_BYTES),
    )
    .await
    {
        Ok(Ok(Some(open))) => open,
        Ok(Ok(None)) => return,
        Ok(Err(err)) => return reject(stream, format!("bad stream header: {err}")).await,
        Err(_) => return reject(stream, "no stream header in time".to_owned()).await,
    };
    if open.version != PROTOCOL_VERSION {
        let message = format!(
            "protocol version mismatch: this agent speaks version {PROTOCOL_VERSION}, the \
             stream header asks for version {} (update the {} side)",
            open.version,
            if open.version > PROTOCOL_VERSION {
                "agent"
            } else {
                "controller"
            }
        );
        tracing::warn!(%message, "refusing a stream");
        return reject(stream, message).await;
    }
    // Everything but the control channel needs the controller: a connection that never said
    // Hello (any process in the sandbox can reach the socket) must not attach to Claude's
    // output, acknowledge it away, or open terminals and files.
    let is_controller = || {
        agent
            .current
            .borrow()
            .as_ref()
            .is_some_and(|current| current.id == me.id)
    };
    // A files connection (file-service) gets its confined files channel and nothing else —
    // even if it also said hello as controller, its files channels stay confined.
    if let Some((_, scope)) = files_role.get() {
        return match open.channel {
            Channel::Control => control::serve(stream, &agent, &me, alive, &files_role).await,
            Channel::Files => files::serve(stream, scope.clone()).await,
            other => {
                tracing::warn!(
                    id = me.id,
                    channel = other.name(),
                    "refusing a channel from a files connection"
                );
                reject(
                    stream,
                    format!(
                        "a files connection may open only the files channel, not {}",
                        other.name()
                    ),
                )
                .await;
            }
        };
    }
    if !matches!(open.channel, Channel::Control | Channel::Tunnel { .. }) && !is_controller() {
        tracing::warn!(
            id = me.id,
            "refusing a channel from a connection that is not the controller"
        );
        return reject(stream, "say hello on the control channel first".to_owned()).await;
    }
    match open.channel {
        Channel::Control => control::serve(stream, &agent, &me, alive, &files_role).await,
        Channel::Claude => claude::channel::serve(stream, agent.claude.clone()).await,
        Channel::Tunnel { .. } => {
            reject(
                stream,
                "tunnels are opened by the agent, not the controller".to_owned(),
            )
            .await;
        }
        Channel::Pty => pty::channel::serve(stream, agent.terminals.clone()).await,
        Channel::Files => files::serve(stream, Scope::Anywhere).await,
    }
}

/// Answers with an error frame and closes the stream.
async fn reject(mut stream: MuxStream, message: String) {
    let _ = write_frame(&mut stream, &ErrorFrame { message }, MAX_FRAME_BYTES).await;
    let _ = stream.shutdown().await;
}
