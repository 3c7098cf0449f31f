//! The `control` channel, agent side: answers Hello and heartbeats.

use crate::connection::promote;
use crate::serve::{Agent, Current};
use rc_agent_protocol::frame::{FrameReader, FrameWriter};
use rc_agent_protocol::mux::MuxStream;
use rc_agent_protocol::{
    ControlEvent, ControlRequest, HelloAck, ProtocolError, MAX_FRAME_BYTES, PROTOCOL_VERSION,
};
use tokio::sync::watch;

/// Every message counts as a sign of life for the connection's watchdog. A successful Hello
/// makes this connection the controller. When the channel ends, the connection goes with
/// it: a controller without a control channel is gone.
pub(crate) async fn serve(
    stream: MuxStream,
    agent: &Agent,
    me: &Current,
    alive: watch::Sender<()>,
) {
    let (read, write) = tokio::io::split(stream);
    let mut reader = FrameReader::new(read, MAX_FRAME_BYTES);
    let mut writer = FrameWriter::new(write, MAX_FRAME_BYTES);
    while let Some(request) = reader.recv::<ControlRequest>().await {
        alive.send_replace(());
        let reply = match request {
            Ok(ControlRequest::Hello {
                protocol_version,
                client,
            }) => {
                if protocol_version != PROTOCOL_VERSION {
                    let message = format!(
                        "protocol version mismatch: this agent speaks version {PROTOCOL_VERSION}, \
                         the controller version {protocol_version}"
                    );
                    let _ = writer.send(&ControlEvent::Error { message }).await;
                    break;
                }
                tracing::info!(%client, id = me.id, "controller said hello");
                promote(agent, me);
                ControlEvent::HelloAck(HelloAck {
                    protocol_version: PROTOCOL_VERSION,
                    agent_version: env!("CARGO_PKG_VERSION").to_owned(),
                    boot_id: agent.boot_id,
                    pid: std::process::id(),
                })
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
    me.mux.close();
}
