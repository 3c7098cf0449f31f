//! Directives: the `[[...]]` markers a test writes into its prompt to pick the fake model's
//! behaviour. Only the last user message is searched, so every turn of a conversation can ask
//! for something different, and the first recognised directive in it wins.
//!
//! Text outside directives is ignored, so a prompt may explain itself to a human reader
//! (`"please run [[tool:Bash:ls]] for the listing test"`). A `[[word...]]` whose word is not a
//! directive name is left alone (it may be ordinary text); a known name with bad arguments is an
//! error that the server turns into a visible text reply rather than a silent default.

use serde_json::{json, Value};
use std::fmt;

/// Upper bounds that keep a typo (`[[lines:10000000000]]`) from exhausting memory.
pub const MAX_SLOW_DELTAS: u32 = 10_000;
pub const MAX_LINES: u32 = 200_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Directive {
    /// Plain text reply (also what a prompt without directives gets).
    Text,
    /// Text listing every message the request carried; proves what context the client sent
    /// (e.g. that `--resume` restored the history).
    Echo,
    /// `deltas` text deltas, `interval_ms` apart: for interrupt and live-relay tests.
    Slow { deltas: u32, interval_ms: u64 },
    /// A reply of `lines` lines sent `per_delta` lines per text delta, with no pauses: for relay
    /// throughput benchmarks.
    Lines { lines: u32, per_delta: u32 },
    /// A thinking block (thinking deltas + signature) followed by a text block.
    Thinking,
    /// A `tool_use` block; the next request that carries its `tool_result` gets a summary.
    Tool(ToolCall),
    /// An HTTP error with Anthropic's error body; `retry_after` in seconds.
    Error {
        status: u16,
        retry_after: Option<u32>,
    },
    /// HTTP 200 and a started stream that ends in an SSE `error` event (as the real API does
    /// when it is overloaded mid-response).
    StreamError,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub name: String,
    pub input: Value,
}

impl fmt::Display for Directive {
    /// The short label used in logs and in the request log's `scenario` field.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Directive::Text => f.write_str("text"),
            Directive::Echo => f.write_str("echo"),
            Directive::Slow {
                deltas,
                interval_ms,
            } => write!(f, "slow:{deltas}:{interval_ms}"),
            Directive::Lines { lines, per_delta } => write!(f, "lines:{lines}:{per_delta}"),
            Directive::Thinking => f.write_str("thinking"),
            Directive::Tool(call) => write!(f, "tool:{}", call.name),
            Directive::Error { status, .. } => write!(f, "error:{status}"),
            Directive::StreamError => f.write_str("stream-error"),
        }
    }
}

/// A known directive name with arguments that do not parse.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectiveError {
    pub directive: String,
    pub reason: String,
}

impl fmt::Display for DirectiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad directive [[{}]]: {}", self.directive, self.reason)
    }
}

/// Finds the first directive in `text`; `Ok(Directive::Text)` when there is none.
pub fn find(text: &str) -> Result<Directive, DirectiveError> {
    let mut rest = text;
    while let Some(start) = rest.find("[[") {
        let after = &rest[start + 2..];
        // The first `]]` closes the directive, so arguments cannot contain `]]`.
        let Some(end) = after.find("]]") else {
            break;
        };
        let body = &after[..end];
        if let Some(parsed) = parse(body) {
            return parsed.map_err(|reason| DirectiveError {
                directive: body.to_owned(),
                reason,
            });
        }
        rest = after;
    }
    Ok(Directive::Text)
}

/// Parses the inside of one `[[...]]`. `None` when the name is not a directive.
fn parse(body: &str) -> Option<Result<Directive, String>> {
    let (name, args) = match body.split_once(':') {
        Some((name, args)) => (name, Some(args)),
        None => (body, None),
    };
    let result = match name.trim().to_ascii_lowercase().as_str() {
        "text" => no_args(args, Directive::Text),
        "echo" => no_args(args, Directive::Echo),
        "thinking" => no_args(args, Directive::Thinking),
        "stream-error" => no_args(args, Directive::StreamError),
        "slow" => slow(args),
        "lines" => lines(args),
        "tool" => match args {
            Some(args) => tool(args).map(Directive::Tool),
            None => Err("expected [[tool:Name...]]".to_owned()),
        },
        "error" => error(args),
        _ => return None,
    };
    Some(result)
}

fn no_args(args: Option<&str>, directive: Directive) -> Result<Directive, String> {
    match args {
        None => Ok(directive),
        Some(args) => Err(format!("takes no arguments, got {args:?}")),
    }
}

/// `slow:N` or `slow:N:MS`.
fn slow(args: Option<&str>) -> Result<Directive, String> {
    let args = args.ok_or("expected [[slow:N]] or [[slow:N:MS]]")?;
    let (deltas, interval) = match args.split_once(':') {
        Some((n, ms)) => (n, Some(ms)),
        None => (args, None),
    };
    let deltas = number(deltas, "N", 1, MAX_SLOW_DELTAS)?;
    let interval_ms = match interval {
        Some(ms) => u64::from(number(ms, "MS", 0, 60_000)?),
        None => 100,
    };
    Ok(Directive::Slow {
        deltas,
        interval_ms,
    })
}

/// `lines:N` or `lines:N:K`.
fn lines(args: Option<&str>) -> Result<Directive, String> {
    let args = args.ok_or("expected [[lines:N]] or [[lines:N:K]]")?;
    let (lines, per) = match args.split_once(':') {
        Some((n, k)) => (n, Some(k)),
        None => (args, None),
    };
    let lines = number(lines, "N", 1, MAX_LINES)?;
    let per_delta = match per {
        Some(k) => number(k, "K", 1, MAX_LINES)?,
        None => 10,
    };
    Ok(Directive::Lines { lines, per_delta })
}

/// `error:STATUS` or `error:STATUS:RETRY_AFTER_SECONDS`.
fn error(args: Option<&str>) -> Result<Directive, String> {
    let args = args.ok_or("expected [[error:STATUS]]")?;
    let (status, retry) = match args.split_once(':') {
        Some((s, r)) => (s, Some(r)),
        None => (args, None),
    };
    let status = number(status, "STATUS", 400, 599)? as u16;
    let retry_after = match retry {
        Some(r) => Some(number(r, "RETRY_AFTER", 0, 3600)?),
        // Retryable statuses carry the header like the real API; 1 s keeps retry tests quick.
        None if matches!(status, 429 | 529) => Some(1),
        None => None,
    };
    Ok(Directive::Error {
        status,
        retry_after,
    })
}

fn number(text: &str, what: &str, min: u32, max: u32) -> Result<u32, String> {
    let n: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{what} must be a number, got {text:?}"))?;
    if !(min..=max).contains(&n) {
        return Err(format!("{what} must be in {min}..={max}, got {n}"));
    }
    Ok(n)
}

/// `Name:args` → the input Claude Code's tool of that name expects. Field names follow the
/// tool schemas the CLI sends in `tools` (checked against 2.1.328). `Name:{json}` gives any
/// tool an explicit input.
fn tool(spec: &str) -> Result<ToolCall, String> {
    let (name, args) = match spec.split_once(':') {
        Some((name, args)) => (name.trim(), args),
        None => (spec.trim(), ""),
    };
    if name.is_empty() {
        return Err("missing tool name".to_owned());
    }
    let input = if args.trim_start().starts_with('{') {
        let value: Value =
            serde_json::from_str(args).map_err(|e| format!("tool input is not JSON: {e}"))?;
        if !value.is_object() {
            return Err("tool input JSON must be an object".to_owned());
        }
        value
    } else {
        known_tool_input(name, args)?
    };
    Ok(ToolCall {
        name: name.to_owned(),
        input,
    })
}

fn known_tool_input(name: &str, args: &str) -> Result<Value, String> {
    let required = |what: &str| {
        if args.is_empty() {
            Err(format!("[[tool:{name}:...]] needs {what}"))
        } else {
            Ok(())
        }
    };
    match name {
        "Bash" => {
            required("a command")?;
            // Taken verbatim: commands legitimately contain colons and backslashes.
            Ok(json!({ "command": args, "description": "Scripted command from fake-anthropic" }))
        }
        "Write" => {
            let (path, content) = args
                .split_once(':')
                .ok_or("expected [[tool:Write:path:content]]")?;
            Ok(json!({ "file_path": path, "content": unescape(content) }))
        }
        "Edit" => {
            let mut parts = args.splitn(3, ':');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(path), Some(old), Some(new)) => Ok(json!({
                    "file_path": path,
                    "old_string": unescape(old),
                    "new_string": unescape(new),
                })),
                _ => Err("expected [[tool:Edit:path:old:new]]".to_owned()),
            }
        }
        "Read" => {
            required("a path")?;
            Ok(json!({ "file_path": args }))
        }
        "TodoWrite" => Ok(json!({ "todos": todos(args) })),
        _ if args.is_empty() => Ok(json!({})),
        _ => Err(format!(
            "no argument shorthand for tool {name}; write [[tool:{name}:{{...json input...}}]]"
        )),
    }
}

/// `a;b;c` → three todos, the first in progress; no argument → a fixed two-item list.
fn todos(args: &str) -> Vec<Value> {
    let items: Vec<&str> = if args.trim().is_empty() {
        vec!["Write the scripted reply", "Check the scripted result"]
    } else {
        args.split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            json!({
                "content": item,
                "status": if i == 0 { "in_progress" } else { "pending" },
                "activeForm": format!("Working on: {item}"),
            })
        })
        .collect()
}

/// `\n`, `\t` and `\\` in file contents, so one-line prompts can write multi-line files.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, input: Value) -> Directive {
        Directive::Tool(ToolCall {
            name: name.to_owned(),
            input,
        })
    }

    #[test]
    fn directives_parse_as_documented() {
        let cases: Vec<(&str, Directive)> = vec![
            ("", Directive::Text),
            ("just a question", Directive::Text),
            ("[[text]]", Directive::Text),
            ("[[TEXT]]", Directive::Text),
            ("[[echo]]", Directive::Echo),
            (
                "[[slow:5]]",
                Directive::Slow {
                    deltas: 5,
                    interval_ms: 100,
                },
            ),
            (
                "[[slow:3:250]]",
                Directive::Slow {
                    deltas: 3,
                    interval_ms: 250,
                },
            ),
            (
                "[[lines:100]]",
                Directive::Lines {
                    lines: 100,
                    per_delta: 10,
                },
            ),
            (
                "[[lines:7:2]]",
                Directive::Lines {
                    lines: 7,
                    per_delta: 2,
                },
            ),
            ("[[thinking]]", Directive::Thinking),
            ("[[stream-error]]", Directive::StreamError),
            (
                "[[error:429]]",
                Directive::Error {
                    status: 429,
                    retry_after: Some(1),
                },
            ),
            (
                "[[error:529]]",
                Directive::Error {
                    status: 529,
                    retry_after: Some(1),
                },
            ),
            (
                "[[error:500]]",
                Directive::Error {
                    status: 500,
                    retry_after: None,
                },
            ),
            (
                "[[error:429:0]]",
                Directive::Error {
                    status: 429,
                    retry_after: Some(0),
                },
            ),
            (
                "[[tool:Bash:echo hi]]",
                tool(
                    "Bash",
                    json!({"command": "echo hi", "description": "Scripted command from fake-anthropic"}),
                ),
            ),
            (
                "[[tool:Bash:echo a:b \\n]]",
                tool(
                    "Bash",
                    json!({"command": "echo a:b \\n", "description": "Scripted command from fake-anthropic"}),
                ),
            ),
            (
                "[[tool:Write:notes.txt:one\\ntwo: three]]",
                tool(
                    "Write",
                    json!({"file_path": "notes.txt", "content": "one\ntwo: three"}),
                ),
            ),
            (
                "[[tool:Edit:/w/a.rs:foo:bar:baz]]",
                tool(
                    "Edit",
                    json!({"file_path": "/w/a.rs", "old_string": "foo", "new_string": "bar:baz"}),
                ),
            ),
            (
                "[[tool:Read:/etc/hostname]]",
                tool("Read", json!({"file_path": "/etc/hostname"})),
            ),
            (
                "[[tool:TodoWrite:a; b]]",
                tool(
                    "TodoWrite",
                    json!({"todos": [
                        {"content": "a", "status": "in_progress", "activeForm": "Working on: a"},
                        {"content": "b", "status": "pending", "activeForm": "Working on: b"},
                    ]}),
                ),
            ),
            (
                "[[tool:Glob:{\"pattern\": \"**/*.rs\"}]]",
                tool("Glob", json!({"pattern": "**/*.rs"})),
            ),
            ("[[tool:ListAgents]]", tool("ListAgents", json!({}))),
            // Surrounding prose, unknown [[words]] and a second directive are ignored.
            (
                "see [[wiki link]] then [[slow:2]] and [[thinking]]",
                Directive::Slow {
                    deltas: 2,
                    interval_ms: 100,
                },
            ),
            ("unclosed [[thinking", Directive::Text),
        ];
        for (input, expected) in cases {
            assert_eq!(find(input), Ok(expected), "input {input:?}");
        }
    }

    #[test]
    fn known_directives_with_bad_arguments_are_errors() {
        let cases = [
            "[[slow]]",
            "[[slow:x]]",
            "[[slow:0]]",
            "[[slow:99999999]]",
            "[[lines:0]]",
            "[[lines:5:0]]",
            "[[error:200]]",
            "[[error:abc]]",
            "[[text:extra]]",
            "[[tool]]",
            "[[tool:]]",
            "[[tool:Bash]]",
            "[[tool:Write:no-content-separator]]",
            "[[tool:Edit:path:only-old]]",
            "[[tool:Read]]",
            "[[tool:Glob:*.rs]]",
            "[[tool:Bash:{not json]]",
        ];
        for input in cases {
            assert!(find(input).is_err(), "input {input:?} should be rejected");
        }
    }

    #[test]
    fn todo_write_without_arguments_has_a_default_list() {
        let Ok(Directive::Tool(call)) = find("[[tool:TodoWrite]]") else {
            panic!("TodoWrite directive");
        };
        let todos = call.input["todos"].as_array().expect("todos array");
        assert_eq!(todos.len(), 2);
        for todo in todos {
            for field in ["content", "status", "activeForm"] {
                assert!(todo[field].is_string(), "{field} in {todo}");
            }
        }
    }

    #[test]
    fn labels_name_the_scenario() {
        let cases = [
            ("[[slow:2]]", "slow:2:100"),
            ("[[tool:Bash:ls]]", "tool:Bash"),
            ("[[error:529]]", "error:529"),
            ("hello", "text"),
        ];
        for (input, label) in cases {
            assert_eq!(find(input).expect(input).to_string(), label);
        }
    }
}
