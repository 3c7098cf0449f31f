//! The `control` channel, agent side: answers Hello and heartbeats.

use crate::connection::{promote, FilesRole};
use crate::files::Scope;
use crate::serve::{Agent, Current};
use rc_agent_protocol::frame::{FrameReader, FrameWriter};
use rc_agent_protocol::mux::MuxStream;
use rc_agent_protocol::{
    ControlEvent, ControlRequest, HelloAck, ProtocolError, Role, MAX_FRAME_BYTES, PROTOCOL_VERSION,
};
use tokio::sync::watch;

/// Every message counts as a sign of life for the connection's watchdog. A successful Hello
/// makes this connection the controller — or, with the `files` role, a files connection that
/// displaces nobody. When the channel ends, the connection goes with it: a controller
/// without a control channel is gone.
pub(crate) async fn serve(
    stream: MuxStream,
    agent: &Agent,
    me: &Current,
    alive: watch::Sender<()>,
    files_role: &FilesRole,
) {
    let (read, write) = tokio::io::split(stream);
    let mut reader = FrameReader::new(read, MAX_FRAME_BYTES);
    let mut writer = FrameWriter::new(write, MAX_FRAME_BYTES);
    let mut refused = false;
    while let Some(request) = reader.recv::<ControlRequest>().await {
        alive.send_replace(());
        let reply = match request {
            Ok(ControlRequest::Hello {
                protocol_version,
                client,
                role,
            }) => {
                if protocol_version != PROTOCOL_VERSION {
                    let message = format!(
                        "protocol version mismatch: this agent speaks version {PROTOCOL_VERSION}, \
                         the controller version {protocol_version}"
                    );
                    let _ = writer.send(&ControlEvent::Error { message }).await;
                    refused = true;
                    break;
                }
                match accept_role(&role, files_role) {
                    Ok(()) => {
                        tracing::info!(%client, id = me.id, ?role, "hello");
                        if role == Role::Controller && files_role.get().is_none() {
                            promote(agent, me);
                        }
                        ControlEvent::HelloAck(HelloAck {
                            protocol_version: PROTOCOL_VERSION,
                            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
                            boot_id: agent.boot_id,
                            pid: std::process::id(),
                            role,
                        })
                    }
                    Err(message) => {
                        tracing::warn!(%client, id = me.id, %message, "refusing a hello");
                        let _ = writer.send(&ControlEvent::Error { message }).await;
                        refused = true;
                        break;
                    }
                }
            }
            Ok(ControlRequest::Ping { n }) => ControlEvent::Pong { n },
            Err(ProtocolError::Json(err)) => ControlEvent::Error {
                message: format!("malformed control message: {err}"),
            },
            Err(err) => {
                tracing::debug!(error = %err, "control channel read failed");
                break;
            }
        };
        if writer.send(&reply).await.is_err() {
            break;
        }
    }
    let _ = writer.close().await;
    if refused {
        // Closing the connection at once could drop the refusal before the peer read it;
        // the peer hangs up itself once it has (bounded, for one that does not).
        let _ = tokio::time::timeout(REFUSAL_LINGER, reader.recv::<ControlRequest>()).await;
    }
    me.mux.close();
}

/// How long a refused connection stays open for its peer to read why.
const REFUSAL_LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// A files role fixes the connection's root once; a controller hello on a files connection
/// (or another root) is refused, so a connection cannot widen what it was granted.
fn accept_role(role: &Role, files_role: &FilesRole) -> Result<(), String> {
    match (role, files_role.get()) {
        (Role::Files { root }, None) => {
            let scope = Scope::beneath(root)?;
            let granted = files_role.get_or_init(|| (root.clone(), scope));
            if granted.0 == *root {
                Ok(())
            } else {
                Err("this connection already has another files root".to_owned())
            }
        }
        (Role::Files { root }, Some((granted, _))) if granted == root => Ok(()),
        (_, Some(_)) => Err("this connection already said hello with the files role".to_owned()),
        (Role::Controller, None) => Ok(()),
    }
}
