//! Reads usage out of a streamed (SSE) Messages response as the bytes pass through, without
//! holding the stream back: chunks arrive split anywhere, so the parser keeps only the
//! current line and the current event's data, and only for the two events that carry usage.

use crate::usage::Usage;
use serde_json::Value;

/// Events whose data the parser keeps; the rest (content deltas, pings) is skipped unparsed.
const USAGE_EVENTS: [&str; 2] = ["message_start", "message_delta"];

/// A line longer than this is dropped. Usage events are a few hundred bytes; only content
/// (a huge tool input in one delta) gets this long, and it is never parsed.
const MAX_LINE_BYTES: usize = 1 << 20;

#[derive(Debug, Default)]
pub(crate) struct SseUsageParser {
    line: Vec<u8>,
    line_too_long: bool,
    /// The previous chunk ended in `\r`, so a `\n` starting this one belongs to it.
    after_cr: bool,
    event: Option<String>,
    data: Vec<u8>,
    usage: Usage,
}

impl SseUsageParser {
    pub(crate) fn feed(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() {
            if std::mem::take(&mut self.after_cr) && chunk[0] == b'\n' {
                chunk = &chunk[1..];
                continue;
            }
            match chunk.iter().position(|b| *b == b'\n' || *b == b'\r') {
                Some(end) => {
                    self.push(&chunk[..end]);
                    self.after_cr = chunk[end] == b'\r';
                    self.end_line();
                    chunk = &chunk[end + 1..];
                }
                None => {
                    self.push(chunk);
                    break;
                }
            }
        }
    }

    /// Usage seen so far; at the end of the stream, a final unterminated event (a stream cut
    /// right after its data line) still counts.
    pub(crate) fn finish(mut self) -> Usage {
        if !self.line.is_empty() {
            self.end_line();
        }
        self.dispatch();
        self.usage
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.line_too_long {
            return;
        }
        if self.line.len() + bytes.len() > MAX_LINE_BYTES {
            self.line_too_long = true;
            self.line.clear();
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    fn end_line(&mut self) {
        if std::mem::take(&mut self.line_too_long) {
            return;
        }
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            self.dispatch();
        } else {
            let (field, value) = match line.iter().position(|b| *b == b':') {
                Some(colon) => {
                    let value = &line[colon + 1..];
                    (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
                }
                None => (&line[..], &[][..]),
            };
            match field {
                b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
                b"data" if self.wants_data() => {
                    if !self.data.is_empty() {
                        self.data.push(b'\n');
                    }
                    self.data.extend_from_slice(value);
                }
                // Comments (`: …`), `id`, `retry` and data of events without usage.
                _ => {}
            }
        }
        // Keep the allocation for the next line.
        self.line = line;
        self.line.clear();
    }

    /// Data is kept for usage events, and for events without an `event:` line, whose type is
    /// known only from the data itself.
    fn wants_data(&self) -> bool {
        self.event
            .as_deref()
            .is_none_or(|event| USAGE_EVENTS.contains(&event))
    }

    fn dispatch(&mut self) {
        self.event = None;
        if self.data.is_empty() {
            return;
        }
        let data = std::mem::take(&mut self.data);
        let Ok(event) = serde_json::from_slice::<Value>(&data) else {
            return;
        };
        match event.get("type").and_then(Value::as_str) {
            Some("message_start") => {
                if let Some(message) = event.get("message") {
                    self.usage.apply_message(message);
                }
            }
            Some("message_delta") => {
                if let Some(usage) = event.get("usage") {
                    self.usage.apply_usage(usage);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-opus-5-5\",",
        "\"content\":[],\"usage\":{\"input_tokens\":100,\"cache_creation_input_tokens\":20,",
        "\"cache_read_input_tokens\":30,\"output_tokens\":1}}}\n\n",
        "event: ping\ndata: {\"type\":\"ping\"}\n\n",
        ": a comment line\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n",
        "event: message_delta\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},",
        "\"usage\":{\"output_tokens\":42,\"input_tokens\":101,\"cache_read_input_tokens\":31}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );

    fn expected() -> Usage {
        Usage {
            model: Some("claude-opus-5-5".into()),
            input_tokens: 101,
            output_tokens: 42,
            cache_creation_tokens: 20,
            cache_read_tokens: 31,
            reported: true,
        }
    }

    fn parse_in_chunks(stream: &[u8], size: usize) -> Usage {
        let mut parser = SseUsageParser::default();
        for chunk in stream.chunks(size) {
            parser.feed(chunk);
        }
        parser.finish()
    }

    #[test]
    fn usage_is_the_same_however_the_stream_is_split() {
        for size in [1, 2, 3, 7, 64, STREAM.len()] {
            assert_eq!(
                parse_in_chunks(STREAM.as_bytes(), size),
                expected(),
                "size {size}"
            );
        }
    }

    #[test]
    fn crlf_and_cr_line_endings_work_across_chunk_boundaries() {
        for ending in ["\r\n", "\r"] {
            let stream = STREAM.replace('\n', ending);
            for size in [1, 2, 5, stream.len()] {
                assert_eq!(
                    parse_in_chunks(stream.as_bytes(), size),
                    expected(),
                    "ending {ending:?} size {size}"
                );
            }
        }
    }

    #[test]
    fn a_stream_cut_after_message_start_reports_what_was_seen() {
        let cut = STREAM
            .find("event: message_delta")
            .expect("delta in stream");
        let usage = parse_in_chunks(&STREAM.as_bytes()[..cut], 10);
        assert_eq!(usage.input_tokens, 100);
        assert_eq!(usage.output_tokens, 1);
        assert!(usage.reported);
    }

    #[test]
    fn a_final_event_without_blank_line_still_counts() {
        let trimmed = STREAM
            .trim_end_matches('\n')
            .trim_end_matches("event: message_stop\ndata: {\"type\":\"message_stop\"}");
        let usage = parse_in_chunks(trimmed.trim_end_matches('\n').as_bytes(), 4);
        assert_eq!(usage.output_tokens, 42);
    }

    #[test]
    fn nothing_is_reported_without_usage_events() {
        let stream = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n";
        assert!(!parse_in_chunks(stream.as_bytes(), 3).reported);
    }

    #[test]
    fn data_without_event_line_is_recognised_by_type() {
        let stream = "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":5}}\n\n";
        assert_eq!(parse_in_chunks(stream.as_bytes(), 6).output_tokens, 5);
    }

    #[test]
    fn huge_content_lines_are_skipped_without_losing_usage() {
        let big = "x".repeat(MAX_LINE_BYTES + 10);
        let stream = STREAM.replace("\"text\":\"hi\"", &format!("\"text\":\"{big}\""));
        assert_eq!(parse_in_chunks(stream.as_bytes(), 4096), expected());
    }
}
