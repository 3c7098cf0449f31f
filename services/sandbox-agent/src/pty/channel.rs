//! One `pty` stream: binds to a terminal with its first request, then relays keystrokes,
//! resizes and output.

use super::{OpenSpec, PtyError, Terminals};
use rc_agent_protocol::frame::{FrameReader, FrameWriter};
use rc_agent_protocol::mux::MuxStream;
use rc_agent_protocol::{Channel, ProtocolError, PtyEvent, PtyRequest};
use std::sync::Arc;

pub async fn serve(stream: MuxStream, terminals: Arc<Terminals>) {
    let limit = Channel::Pty.max_frame_bytes();
    let (read, write) = tokio::io::split(stream);
    let mut reader = FrameReader::new(read, limit);
    let mut writer = FrameWriter::new(write, limit);
    let bound = match reader.recv::<PtyRequest>().await {
        Some(Ok(PtyRequest::Open {
            cols,
            rows,
            command,
            env,
            cwd,
        })) => terminals
            .open(OpenSpec {
                cols,
                rows,
                command,
                env,
                cwd,
            })
            .map_err(|e| e.to_string()),
        Some(Ok(PtyRequest::Attach { pty_id })) => {
            terminals.attach(pty_id).map_err(|e| e.to_string())
        }
        Some(Ok(_)) => Err("the first request on a pty stream must be open or attach".to_owned()),
        Some(Err(err)) => Err(format!("malformed request: {err}")),
        None => return,
    };
    let (terminal, mut subscription) = match bound {
        Ok(bound) => bound,
        Err(message) => {
            let _ = writer.send(&PtyEvent::Error { message }).await;
            let _ = writer.close().await;
            return;
        }
    };

    loop {
        tokio::select! {
            event = subscription.events.recv() => {
                let Some(event) = event else {
                    let message = "another stream attached to this terminal".to_owned();
                    let _ = writer.send(&PtyEvent::Error { message }).await;
                    break;
                };
                let exit = matches!(event, PtyEvent::Exit { .. });
                if writer.send(&event).await.is_err() || exit {
                    break;
                }
            }
            request = reader.recv::<PtyRequest>() => {
                let result = match request {
                    Some(Ok(PtyRequest::Data { data })) => terminal.input(data),
                    Some(Ok(PtyRequest::Resize { cols, rows })) => terminal.resize(cols, rows).await,
                    Some(Ok(PtyRequest::Close)) => terminal.hangup(),
                    Some(Ok(PtyRequest::Open { .. } | PtyRequest::Attach { .. })) => {
                        Err(PtyError::AlreadyBound(terminal.id))
                    }
                    Some(Err(ProtocolError::Json(err))) => {
                        let message = format!("malformed request: {err}");
                        if writer.send(&PtyEvent::Error { message }).await.is_err() {
                            break;
                        }
                        Ok(())
                    }
                    // The controller went away: detach, the terminal keeps running.
                    Some(Err(_)) | None => break,
                };
                if let Err(err) = result {
                    let message = err.to_string();
                    if writer.send(&PtyEvent::Error { message }).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
    terminal.unsubscribe(subscription.id);
    let _ = writer.close().await;
}
