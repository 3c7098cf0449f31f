//! One `claude` channel: applies the controller's requests and streams numbered entries.

use super::{StartSpec, Supervisor};
use bytes::Bytes;
use rc_agent_protocol::frame::{encode, FrameReader, FrameWriter};
use rc_agent_protocol::mux::MuxStream;
use rc_agent_protocol::{Channel, ClaudeEvent, ClaudeRequest, ProtocolError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Entries taken from the ring per lock; keeps lock hold times short during a big replay.
const BATCH: usize = 256;
/// Frames queued for the writer; beyond that, readers of the ring wait (yamux flow control
/// then pushes back all the way from the controller).
const OUT_QUEUE: usize = 64;

struct ActiveAttach {
    id: u64,
    cancel: CancellationToken,
    forwarder: JoinHandle<()>,
}

pub async fn serve(stream: MuxStream, supervisor: Arc<Supervisor>) {
    let limit = Channel::Claude.max_frame_bytes();
    let (read, write) = tokio::io::split(stream);
    let mut reader = FrameReader::new(read, limit);
    let (out, out_rx) = mpsc::channel::<Bytes>(OUT_QUEUE);
    let writer = tokio::spawn(write_frames(FrameWriter::new(write, limit), out_rx));
    let (stderr_tx, stderr_rx) = super::stderr_queue();
    let stderr_relay = tokio::spawn(relay_stderr(stderr_rx, out.clone()));
    let mut attach: Option<ActiveAttach> = None;

    while let Some(request) = reader.recv::<ClaudeRequest>().await {
        let request = match request {
            Ok(request) => request,
            Err(ProtocolError::Json(err)) => {
                if !send(&out, &error(format!("malformed request: {err}"))).await {
                    break;
                }
                continue;
            }
            Err(err) => {
                tracing::debug!(error = %err, "claude channel read failed");
                break;
            }
        };
        let reply = match request {
            ClaudeRequest::Attach { after_seq } => {
                match supervisor.attach(after_seq, stderr_tx.clone()) {
                    Ok(attachment) => {
                        if let Some(previous) = attach.take() {
                            previous.cancel.cancel();
                            previous.forwarder.abort();
                        }
                        // Queued before the forwarder starts: `Attached` precedes the replay.
                        if !send(&out, &attachment.attached).await {
                            supervisor.detach(attachment.id);
                            break;
                        }
                        let forwarder = tokio::spawn(forward(
                            supervisor.clone(),
                            after_seq,
                            out.clone(),
                            attachment.cancel.clone(),
                        ));
                        attach = Some(ActiveAttach {
                            id: attachment.id,
                            cancel: attachment.cancel,
                            forwarder,
                        });
                        None
                    }
                    Err(err) => Some(error(err.to_string())),
                }
            }
            ClaudeRequest::Start {
                program,
                args,
                env,
                cwd,
            } => {
                let spec = StartSpec {
                    program,
                    args,
                    env,
                    cwd,
                };
                match supervisor.start(spec) {
                    Ok((pid, go)) => {
                        let sent = send(&out, &ClaudeEvent::Started { pid }).await;
                        // The child's output is read from now on.
                        let _ = go.send(());
                        if !sent {
                            break;
                        }
                        None
                    }
                    Err(err) => Some(error(err.to_string())),
                }
            }
            ClaudeRequest::Input { line } => {
                supervisor.input(line).err().map(|e| error(e.to_string()))
            }
            ClaudeRequest::CloseInput => {
                supervisor.close_input().err().map(|e| error(e.to_string()))
            }
            ClaudeRequest::Ack { seq } => {
                supervisor.ack(seq);
                None
            }
            ClaudeRequest::Stop { grace_ms } => supervisor
                .stop(Duration::from_millis(grace_ms))
                .err()
                .map(|e| error(e.to_string())),
        };
        if let Some(reply) = reply {
            if !send(&out, &reply).await {
                break;
            }
        }
    }

    if let Some(active) = attach {
        active.cancel.cancel();
        supervisor.detach(active.id);
        let _ = active.forwarder.await;
    }
    drop(stderr_tx);
    let _ = stderr_relay.await;
    drop(out);
    let _ = writer.await;
}

fn error(message: String) -> ClaudeEvent {
    ClaudeEvent::Error { message }
}

/// Queues one event; false when the channel is gone.
async fn send(out: &mpsc::Sender<Bytes>, event: &ClaudeEvent) -> bool {
    match encode(event) {
        Ok(frame) => out.send(frame).await.is_ok(),
        Err(err) => {
            tracing::error!(error = %err, "encoding a claude event");
            true
        }
    }
}

async fn write_frames(
    mut writer: FrameWriter<tokio::io::WriteHalf<MuxStream>>,
    mut frames: mpsc::Receiver<Bytes>,
) {
    while let Some(frame) = frames.recv().await {
        if let Err(err) = writer.send_frame(frame).await {
            tracing::debug!(error = %err, "claude channel write failed");
            return;
        }
    }
    let _ = writer.close().await;
}

async fn relay_stderr(mut lines: mpsc::Receiver<String>, out: mpsc::Sender<Bytes>) {
    while let Some(line) = lines.recv().await {
        if !send(&out, &ClaudeEvent::Stderr { line }).await {
            return;
        }
    }
}

/// Streams every entry after `cursor` from the ring, replay and live alike, until cancelled
/// (a newer `Attach`, or the channel ended).
async fn forward(
    supervisor: Arc<Supervisor>,
    mut cursor: u64,
    out: mpsc::Sender<Bytes>,
    cancel: CancellationToken,
) {
    let mut pushes = supervisor.watch_pushes();
    loop {
        // Marked seen *before* reading the ring: an append after the read wakes us below.
        let _ = pushes.borrow_and_update();
        let batch = supervisor.entries_after(cursor, BATCH);
        if batch.is_empty() {
            tokio::select! {
                changed = pushes.changed() => if changed.is_err() { return },
                () = cancel.cancelled() => return,
            }
            continue;
        }
        for (seq, frame) in batch {
            if seq > cursor + 1 {
                let gap = error(format!(
                    "entries {}..={} are no longer buffered (acknowledged, or dropped when the \
                     buffer overflowed)",
                    cursor + 1,
                    seq - 1
                ));
                if !send(&out, &gap).await {
                    return;
                }
            }
            tokio::select! {
                sent = out.send(frame) => if sent.is_err() { return },
                () = cancel.cancelled() => return,
            }
            cursor = seq;
        }
    }
}
