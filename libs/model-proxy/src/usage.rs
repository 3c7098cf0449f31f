//! Token usage of one model response, read from the fields the Messages API reports it in.

use serde_json::Value;

/// What one response consumed. Counts are the API's own; the proxy never estimates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    pub model: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_tokens: u64,
    pub cache_read_tokens: u64,
    /// Whether the response reported usage at all. Error responses (and a stream cut before
    /// `message_start`) did not, and write no usage row.
    pub reported: bool,
}

impl Usage {
    /// Applies a `message` object: the whole body of a non-streamed reply, or the `message` of
    /// a `message_start` event.
    pub(crate) fn apply_message(&mut self, message: &Value) {
        if let Some(model) = message.get("model").and_then(Value::as_str) {
            self.model = Some(model.to_owned());
        }
        if let Some(usage) = message.get("usage") {
            self.apply_usage(usage);
        }
    }

    /// Applies a `usage` object. Every count the API reports is a running total for the whole
    /// message (`message_delta`'s `output_tokens` is cumulative, and newer API versions repeat
    /// the input and cache counts there), so the latest value of each field wins; fields a
    /// `usage` object leaves out (or sends as null) keep what an earlier event said.
    pub(crate) fn apply_usage(&mut self, usage: &Value) {
        let Some(usage) = usage.as_object() else {
            return;
        };
        self.reported = true;
        let fields = [
            ("input_tokens", &mut self.input_tokens),
            ("output_tokens", &mut self.output_tokens),
            (
                "cache_creation_input_tokens",
                &mut self.cache_creation_tokens,
            ),
            ("cache_read_input_tokens", &mut self.cache_read_tokens),
        ];
        for (name, slot) in fields {
            if let Some(n) = usage.get(name).and_then(Value::as_u64) {
                *slot = n;
            }
        }
    }
}

/// Usage from a complete JSON response body; nothing reported when it is not a message.
pub(crate) fn from_json_body(body: &[u8]) -> Usage {
    let mut usage = Usage::default();
    if let Ok(message) = serde_json::from_slice::<Value>(body) {
        usage.apply_message(&message);
    }
    usage
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_message_body_gives_model_and_all_counts() {
        let body = json!({
            "type": "message",
            "model": "claude-sonnet-4-5",
            "usage": {
                "input_tokens": 10,
                "output_tokens": 20,
                "cache_creation_input_tokens": 30,
                "cache_read_input_tokens": 40,
            },
        });
        let usage = from_json_body(body.to_string().as_bytes());
        assert_eq!(
            usage,
            Usage {
                model: Some("claude-sonnet-4-5".into()),
                input_tokens: 10,
                output_tokens: 20,
                cache_creation_tokens: 30,
                cache_read_tokens: 40,
                reported: true,
            }
        );
    }

    #[test]
    fn error_bodies_and_garbage_report_nothing() {
        let error = json!({"type": "error", "error": {"type": "overloaded_error", "message": "x"}});
        assert!(!from_json_body(error.to_string().as_bytes()).reported);
        assert!(!from_json_body(b"not json").reported);
        assert!(!from_json_body(b"").reported);
    }

    #[test]
    fn later_usage_overrides_only_the_fields_it_carries() {
        let mut usage = Usage::default();
        usage.apply_usage(
            &json!({"input_tokens": 5, "cache_read_input_tokens": 7, "output_tokens": 1}),
        );
        usage.apply_usage(&json!({"output_tokens": 9, "cache_read_input_tokens": null}));
        assert_eq!(usage.input_tokens, 5);
        assert_eq!(usage.cache_read_tokens, 7);
        assert_eq!(usage.output_tokens, 9);
    }
}
