//! Length-delimited JSON frames: a 4-byte big-endian body length, then the JSON body, exactly
//! the default format of `tokio_util::codec::LengthDelimitedCodec`.
//!
//! Two ways to read them: [`FrameReader`] (buffered, for channels that stay framed) and
//! [`read_frame`] (reads exactly one frame's bytes and nothing more). Headers are always read
//! with [`read_frame`], because after a tunnel's header the stream turns into raw bytes and a
//! buffered reader would swallow the first of them.

use crate::ProtocolError;
use bytes::Bytes;
use futures::{SinkExt, StreamExt as _};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

/// The codec both sides use, limited to `max_frame_bytes` per frame body.
pub fn codec(max_frame_bytes: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(max_frame_bytes)
        .new_codec()
}

/// One message as a frame body.
pub fn encode<T: Serialize>(msg: &T) -> Result<Bytes, ProtocolError> {
    Ok(Bytes::from(serde_json::to_vec(msg)?))
}

/// Writes one frame without buffering anything beyond it, and flushes.
pub async fn write_frame<W, T>(
    writer: &mut W,
    msg: &T,
    max_frame_bytes: usize,
) -> Result<(), ProtocolError>
where
    W: AsyncWrite + Unpin,
    T: Serialize,
{
    let body = serde_json::to_vec(msg)?;
    let len = checked_len(body.len(), max_frame_bytes)?;
    writer.write_all(&len.to_be_bytes()).await?;
    writer.write_all(&body).await?;
    writer.flush().await?;
    Ok(())
}

/// Reads exactly one frame (no read-ahead). `Ok(None)` when the stream ends before a frame
/// starts.
pub async fn read_frame<R, T>(
    reader: &mut R,
    max_frame_bytes: usize,
) -> Result<Option<T>, ProtocolError>
where
    R: AsyncRead + Unpin,
    T: DeserializeOwned,
{
    let mut len = [0u8; 4];
    let first = reader.read(&mut len[..1]).await?;
    if first == 0 {
        return Ok(None);
    }
    reader.read_exact(&mut len[1..]).await?;
    let size =
        usize::try_from(u32::from_be_bytes(len)).map_err(|_| ProtocolError::FrameTooLarge {
            size: usize::MAX,
            limit: max_frame_bytes,
        })?;
    if size > max_frame_bytes {
        return Err(ProtocolError::FrameTooLarge {
            size,
            limit: max_frame_bytes,
        });
    }
    let mut body = vec![0u8; size];
    reader.read_exact(&mut body).await?;
    Ok(Some(serde_json::from_slice(&body)?))
}

fn checked_len(size: usize, limit: usize) -> Result<u32, ProtocolError> {
    if size > limit {
        return Err(ProtocolError::FrameTooLarge { size, limit });
    }
    u32::try_from(size).map_err(|_| ProtocolError::FrameTooLarge { size, limit })
}

/// The receiving half of a framed channel.
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: FramedRead<R, LengthDelimitedCodec>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(reader: R, max_frame_bytes: usize) -> Self {
        Self {
            inner: FramedRead::new(reader, codec(max_frame_bytes)),
        }
    }

    /// The next message; `None` at the end of the stream. Cancel-safe: a partly received
    /// frame stays buffered for the next call.
    pub async fn recv<T: DeserializeOwned>(&mut self) -> Option<Result<T, ProtocolError>> {
        let frame = match self.inner.next().await? {
            Ok(frame) => frame,
            Err(err) => return Some(Err(err.into())),
        };
        Some(serde_json::from_slice(&frame).map_err(ProtocolError::from))
    }
}

/// The sending half of a framed channel.
#[derive(Debug)]
pub struct FrameWriter<W> {
    inner: FramedWrite<W, LengthDelimitedCodec>,
    max_frame_bytes: usize,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    pub fn new(writer: W, max_frame_bytes: usize) -> Self {
        Self {
            inner: FramedWrite::new(writer, codec(max_frame_bytes)),
            max_frame_bytes,
        }
    }

    /// Sends and flushes one message.
    pub async fn send<T: Serialize>(&mut self, msg: &T) -> Result<(), ProtocolError> {
        self.send_frame(encode(msg)?).await
    }

    /// Sends and flushes one already encoded frame body (see [`encode`]).
    pub async fn send_frame(&mut self, body: Bytes) -> Result<(), ProtocolError> {
        checked_len(body.len(), self.max_frame_bytes)?;
        self.inner.send(body).await?;
        Ok(())
    }

    /// Flushes and closes the writing direction (the peer reads the end of the stream).
    pub async fn close(&mut self) -> Result<(), ProtocolError> {
        SinkExt::<Bytes>::close(&mut self.inner).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Channel, ClaudeEvent, ClaudeRequest, ControlEvent, ErrorFrame, FilesResponse, Open,
        PtyEvent, PROTOCOL_VERSION,
    };

    #[tokio::test]
    async fn frames_round_trip_through_the_codec() {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let mut writer = FrameWriter::new(a, 1024);
        let mut reader = FrameReader::new(b, 1024);
        let sent = ClaudeRequest::Input {
            line: "{\"type\":\"user\"}".to_owned(),
        };
        writer.send(&sent).await.unwrap();
        writer.send(&ClaudeRequest::Ack { seq: 7 }).await.unwrap();
        writer.close().await.unwrap();
        assert_eq!(reader.recv::<ClaudeRequest>().await.unwrap().unwrap(), sent);
        assert_eq!(
            reader.recv::<ClaudeRequest>().await.unwrap().unwrap(),
            ClaudeRequest::Ack { seq: 7 }
        );
        assert!(reader.recv::<ClaudeRequest>().await.is_none());
    }

    #[tokio::test]
    async fn manual_frames_use_the_codec_format() {
        let (mut a, b) = tokio::io::duplex(64 * 1024);
        write_frame(&mut a, &Open::new(Channel::Claude), 1024)
            .await
            .unwrap();
        let mut reader = FrameReader::new(b, 1024);
        let open: Open = reader.recv().await.unwrap().unwrap();
        assert_eq!(open, Open::new(Channel::Claude));
    }

    #[tokio::test]
    async fn read_frame_does_not_read_past_the_header() {
        let (mut a, mut b) = tokio::io::duplex(64 * 1024);
        let header = Open::new(Channel::Tunnel {
            target: "model".to_owned(),
        });
        write_frame(&mut a, &header, 1024).await.unwrap();
        a.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        drop(a);
        let got: Open = read_frame(&mut b, 1024).await.unwrap().unwrap();
        assert_eq!(got, header);
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"GET / HTTP/1.1\r\n\r\n");
    }

    #[tokio::test]
    async fn read_frame_reports_a_clean_end() {
        let (a, mut b) = tokio::io::duplex(1024);
        drop(a);
        assert!(read_frame::<_, Open>(&mut b, 1024).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn oversized_frames_are_refused_on_both_sides() {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let mut writer = FrameWriter::new(a, 16);
        let big = ClaudeRequest::Input {
            line: "x".repeat(100),
        };
        assert!(matches!(
            writer.send(&big).await,
            Err(ProtocolError::FrameTooLarge { limit: 16, .. })
        ));

        // A peer with a larger limit sends it anyway: the reader refuses it.
        let mut loose = FrameWriter::new(writer.inner.into_inner(), 1024);
        loose.send(&big).await.unwrap();
        let mut reader = FrameReader::new(b, 16);
        assert!(reader.recv::<ClaudeRequest>().await.unwrap().is_err());

        let (mut c, mut d) = tokio::io::duplex(64 * 1024);
        write_frame(&mut c, &big, 1024).await.unwrap();
        assert!(matches!(
            read_frame::<_, ClaudeRequest>(&mut d, 16).await,
            Err(ProtocolError::FrameTooLarge { limit: 16, .. })
        ));
    }

    #[test]
    fn version_mismatch_names_both_versions() {
        let open = Open {
            version: PROTOCOL_VERSION + 1,
            channel: Channel::Control,
        };
        let err = open.check_version().unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&PROTOCOL_VERSION.to_string()), "{text}");
        assert!(text.contains(&(PROTOCOL_VERSION + 1).to_string()), "{text}");
        Open::new(Channel::Control).check_version().unwrap();
    }

    /// Pins the wire shapes docs/agent-protocol.md shows.
    #[test]
    fn wire_shapes() {
        let open = serde_json::to_value(Open::new(Channel::Tunnel {
            target: "model".to_owned(),
        }))
        .unwrap();
        assert_eq!(
            open,
            serde_json::json!({"type":"open","version":1,"channel":{"kind":"tunnel","target":"model"}})
        );
        let parsed: Open =
            serde_json::from_str(r#"{"type":"open","version":1,"channel":{"kind":"claude"}}"#)
                .unwrap();
        assert_eq!(parsed.channel, Channel::Claude);

        let start = serde_json::to_value(ClaudeRequest::Start {
            program: "claude".to_owned(),
            args: vec!["-p".to_owned()],
            env: vec![("HOME".to_owned(), "/home/u".to_owned())],
            cwd: "/workspace".to_owned(),
        })
        .unwrap();
        assert_eq!(
            start,
            serde_json::json!({"type":"start","program":"claude","args":["-p"],
                               "env":[["HOME","/home/u"]],"cwd":"/workspace"})
        );
        let output = serde_json::to_value(ClaudeEvent::Output {
            seq: 3,
            line: "{}".to_owned(),
        })
        .unwrap();
        assert_eq!(
            output,
            serde_json::json!({"type":"output","seq":3,"line":"{}"})
        );
        let pty = serde_json::to_value(PtyEvent::Data {
            data: b"hi".to_vec(),
        })
        .unwrap();
        assert_eq!(pty, serde_json::json!({"type":"data","data":"aGk="}));
    }

    /// Every channel's `Error` variant reads the generic [`ErrorFrame`] a peer sends when it
    /// rejects a stream before knowing its type.
    #[test]
    fn every_channel_understands_the_generic_error_frame() {
        let frame = serde_json::to_string(&ErrorFrame {
            message: "nope".to_owned(),
        })
        .unwrap();
        assert_eq!(frame, r#"{"type":"error","message":"nope"}"#);
        assert!(matches!(
            serde_json::from_str(&frame).unwrap(),
            ClaudeEvent::Error { message } if message == "nope"
        ));
        assert!(matches!(
            serde_json::from_str(&frame).unwrap(),
            ControlEvent::Error { .. }
        ));
        assert!(matches!(
            serde_json::from_str(&frame).unwrap(),
            PtyEvent::Error { .. }
        ));
        assert!(matches!(
            serde_json::from_str(&frame).unwrap(),
            FilesResponse::Error {
                request_id: None,
                ..
            }
        ));
    }
}
