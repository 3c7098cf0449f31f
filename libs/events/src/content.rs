//! Conversation content inside events: finished assistant blocks and parsed tool inputs.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A finished block of an assistant message (tool-use blocks are
/// [`crate::EventBody::ToolCallStarted`] instead).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AssistantContent {
    Text {
        text: String,
    },
    Thinking {
        thinking: String,
    },
    /// A block type this version does not model (e.g. `redacted_thinking`), kept whole.
    Other {
        block: Value,
    },
}

/// A tool call's input, parsed for the tools a UI renders specially; any other tool (or a
/// known tool whose input does not have the expected shape) is kept verbatim in
/// [`ToolInput::Other`]. Field names follow the CLI's tool schemas (2.1.328).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "tool", rename_all = "snake_case")]
pub enum ToolInput {
    Bash {
        command: String,
        description: Option<String>,
    },
    Edit {
        file_path: String,
        old_string: String,
        new_string: String,
        #[serde(default)]
        replace_all: bool,
    },
    Write {
        file_path: String,
        content: String,
    },
    Read {
        file_path: String,
        offset: Option<u64>,
        limit: Option<u64>,
    },
    TodoWrite {
        todos: Vec<TodoItem>,
    },
    Other {
        name: String,
        input: Value,
    },
}

/// One entry of a `TodoWrite` list.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TodoItem {
    pub content: String,
    /// `pending`, `in_progress` or `completed` (kept as text: a new status must not make the
    /// whole call unreadable).
    pub status: String,
    /// The present-tense label the CLI shows while the item is in progress.
    #[serde(alias = "activeForm", default)]
    pub active_form: String,
}

impl ToolInput {
    /// Parses the `input` of a call to the tool `name`. Never fails: anything unexpected
    /// becomes [`ToolInput::Other`] with the input untouched.
    pub fn parse(name: &str, input: &Value) -> Self {
        let other = || Self::Other {
            name: name.to_owned(),
            input: input.clone(),
        };
        let tag = match name {
            "Bash" => "bash",
            "Edit" => "edit",
            "Write" => "write",
            "Read" => "read",
            "TodoWrite" => "todo_write",
            _ => return other(),
        };
        let Value::Object(fields) = input else {
            return other();
        };
        // Reuse the variant's own Deserialize: the input's fields plus our tag. Fields the
        // variant does not name (e.g. Bash `timeout`) are ignored.
        let mut tagged = Map::with_capacity(fields.len() + 1);
        tagged.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        tagged.insert("tool".into(), Value::String(tag.into()));
        serde_json::from_value(Value::Object(tagged)).unwrap_or_else(|_| other())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_tools_are_parsed() {
        assert_eq!(
            ToolInput::parse(
                "Bash",
                &json!({"command": "ls", "description": "list", "timeout": 5})
            ),
            ToolInput::Bash {
                command: "ls".into(),
                description: Some("list".into())
            }
        );
        assert_eq!(
            ToolInput::parse("Read", &json!({"file_path": "/a", "limit": 10})),
            ToolInput::Read {
                file_path: "/a".into(),
                offset: None,
                limit: Some(10)
            }
        );
        assert_eq!(
            ToolInput::parse(
                "TodoWrite",
                &json!({"todos": [{"content": "x", "status": "pending", "activeForm": "Doing x"}]})
            ),
            ToolInput::TodoWrite {
                todos: vec![TodoItem {
                    content: "x".into(),
                    status: "pending".into(),
                    active_form: "Doing x".into()
                }]
            }
        );
    }

    #[test]
    fn unknown_tools_and_bad_inputs_are_kept_verbatim() {
        let input = json!({"pattern": "*.rs"});
        assert_eq!(
            ToolInput::parse("Glob", &input),
            ToolInput::Other {
                name: "Glob".into(),
                input: input.clone()
            }
        );
        // A known tool with a missing required field.
        let input = json!({"description": "no command"});
        assert_eq!(
            ToolInput::parse("Bash", &input),
            ToolInput::Other {
                name: "Bash".into(),
                input
            }
        );
        assert_eq!(
            ToolInput::parse("Write", &json!("not an object")),
            ToolInput::Other {
                name: "Write".into(),
                input: json!("not an object")
            }
        );
    }
}
