//! The relayed upstream response body: each chunk goes to the client as soon as it arrives
//! (no buffering, so the user sees the model write), and a copy is read on the side for usage.
//! Usage is reported once, when the upstream ends or fails, or when the body is dropped early
//! because the client went away, so an interrupted turn is still billed for what it used.

use crate::recorder::{Attribution, Completed, Sender};
use crate::sse::SseUsageParser;
use crate::usage::{self, Usage};
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt as _;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Non-streamed messages are at most a few hundred KB (128k output tokens); past this the
/// copy kept for reading usage is abandoned rather than grown.
const MAX_JSON_BYTES: usize = 16 << 20;

/// How usage is read from a response.
#[derive(Debug)]
pub(crate) enum UsageReader {
    /// `text/event-stream`: parsed event by event.
    Sse(SseUsageParser),
    /// A JSON message: copied, parsed at the end.
    Json { copy: Vec<u8>, too_big: bool },
}

impl UsageReader {
    /// The reader for a response's `content-type`; `None` when it cannot carry usage.
    pub(crate) fn for_content_type(content_type: &str) -> Option<Self> {
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match mime.as_str() {
            "text/event-stream" => Some(UsageReader::Sse(SseUsageParser::default())),
            "application/json" => Some(UsageReader::Json {
                copy: Vec::new(),
                too_big: false,
            }),
            _ => None,
        }
    }

    fn observe(&mut self, chunk: &[u8]) {
        match self {
            UsageReader::Sse(parser) => parser.feed(chunk),
            UsageReader::Json { copy, too_big } => {
                if *too_big {
                    return;
                }
                if copy.len() + chunk.len() > MAX_JSON_BYTES {
                    *too_big = true;
                    *copy = Vec::new();
                } else {
                    copy.extend_from_slice(chunk);
                }
            }
        }
    }

    fn finish(self) -> Usage {
        match self {
            UsageReader::Sse(parser) => parser.finish(),
            UsageReader::Json { copy, .. } => usage::from_json_body(&copy),
        }
    }
}

/// Whom to report usage to, and how to read it.
pub(crate) struct Meter {
    pub reader: UsageReader,
    pub attribution: Attribution,
    pub sink: Sender,
}

pub(crate) struct MeteredBody {
    upstream: BoxStream<'static, reqwest::Result<Bytes>>,
    size: Option<u64>,
    /// `None` for unmetered responses, and once usage has been reported.
    meter: Option<Meter>,
}

impl MeteredBody {
    pub(crate) fn new(response: reqwest::Response, meter: Option<Meter>) -> Self {
        Self {
            size: response.content_length(),
            upstream: response.bytes_stream().boxed(),
            meter,
        }
    }

    fn report(&mut self, outcome: &'static str) {
        let Some(meter) = self.meter.take() else {
            return;
        };
        let usage = meter.reader.finish();
        if !usage.reported {
            return;
        }
        tracing::debug!(outcome, "model response ended");
        // Fails only when the connection's recorder is gone, i.e. the connection is being torn
        // down without the recorder having been started; nothing more can be done then.
        if meter
            .sink
            .send(Completed {
                attribution: meter.attribution,
                usage,
            })
            .is_err()
        {
            tracing::error!(
                session_id = %meter.attribution.session_id,
                "usage recorder gone; model usage not recorded"
            );
        }
    }
}

impl http_body::Body for MeteredBody {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, reqwest::Error>>> {
        let this = self.get_mut();
        match this.upstream.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(meter) = &mut this.meter {
                    meter.reader.observe(&chunk);
                }
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
            Poll::Ready(Some(Err(err))) => {
                // The status line is long gone; all that can be done is to cut the response
                // (hyper closes the connection, the CLI sees a broken stream and retries).
                let err = err.without_url();
                tracing::warn!(error = ?err, "upstream response failed mid-body");
                this.report("upstream_failed");
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(None) => {
                this.report("complete");
                Poll::Ready(None)
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.size.map(SizeHint::with_exact).unwrap_or_default()
    }
}

impl Drop for MeteredBody {
    fn drop(&mut self) {
        self.report("client_gone");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_follow_the_content_type() {
        assert!(matches!(
            UsageReader::for_content_type("text/event-stream; charset=utf-8"),
            Some(UsageReader::Sse(_))
        ));
        assert!(matches!(
            UsageReader::for_content_type("Application/JSON"),
            Some(UsageReader::Json { .. })
        ));
        assert!(UsageReader::for_content_type("text/html").is_none());
    }

    #[test]
    fn oversized_json_is_abandoned_not_buffered() {
        let Some(mut reader) = UsageReader::for_content_type("application/json") else {
            panic!("json reader");
        };
        reader.observe(&vec![b' '; MAX_JSON_BYTES]);
        reader.observe(b"{}");
        match &reader {
            UsageReader::Json { copy, too_big } => {
                assert!(*too_big);
                assert!(copy.is_empty());
            }
            UsageReader::Sse(_) => panic!("json reader"),
        }
        assert!(!reader.finish().reported);
    }
}
