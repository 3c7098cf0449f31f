//! Decoding real CLI output. Every `tests/fixtures/*.jsonl` except `doc_examples.jsonl` is the
//! unedited stdout of Claude Code 2.1.328 driven against tools/fake-anthropic (how:
//! `tests/capture/`); `doc_examples.jsonl` holds the examples of claude-cli.md §1-§3.

use rc_events::{
    AssistantContent, Decoder, DecoderConfig, EventBody, SessionEvent, TodoItem, ToolInput,
    TurnSummary,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

const MODEL: &str = "claude-sonnet-4-5";

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read_fixture(name: &str) -> String {
    let path = fixture_dir().join(format!("{name}.jsonl"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Decodes a fixture; checks that no line was dropped.
fn decode_with(name: &str, config: DecoderConfig) -> Vec<EventBody> {
    let mut decoder = Decoder::new(config);
    let mut events = Vec::new();
    for (n, line) in read_fixture(name).lines().enumerate() {
        let decoded = decoder.decode(line);
        assert!(!decoded.is_empty(), "{name}:{} gave no event", n + 1);
        events.extend(decoded);
    }
    events
}

fn decode(name: &str) -> Vec<EventBody> {
    decode_with(name, DecoderConfig::default())
}

fn turns(events: &[EventBody]) -> Vec<&TurnSummary> {
    events
        .iter()
        .filter_map(|e| match e {
            EventBody::TurnCompleted(summary) => Some(summary),
            _ => None,
        })
        .collect()
}

fn only_turn(events: &[EventBody]) -> &TurnSummary {
    let turns = turns(events);
    assert_eq!(turns.len(), 1, "turns: {turns:?}");
    turns[0]
}

/// The concatenated text deltas of each text block, in order.
fn streamed_texts(events: &[EventBody]) -> Vec<String> {
    let mut texts: Vec<((Option<String>, u32), String)> = Vec::new();
    for event in events {
        if let EventBody::TextDelta {
            message_id,
            index,
            text,
            ..
        } = event
        {
            let key = (message_id.clone(), *index);
            match texts.last_mut() {
                Some((last, buf)) if *last == key => buf.push_str(text),
                _ => texts.push((key, text.clone())),
            }
        }
    }
    texts.into_iter().map(|(_, text)| text).collect()
}

fn block_texts(events: &[EventBody]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            EventBody::AssistantBlock {
                block: AssistantContent::Text { text },
                ..
            } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn tool_calls(events: &[EventBody]) -> Vec<(&str, &ToolInput)> {
    events
        .iter()
        .filter_map(|e| match e {
            EventBody::ToolCallStarted { name, input, .. } => Some((name.as_str(), input)),
            _ => None,
        })
        .collect()
}

/// (tool_use_id, is_error, line_count, output, truncated) of every tool result.
fn tool_results(events: &[EventBody]) -> Vec<(&str, bool, usize, &str, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            EventBody::ToolResult {
                tool_use_id,
                is_error,
                line_count,
                output,
                truncated,
                ..
            } => Some((
                tool_use_id.as_str(),
                *is_error,
                *line_count,
                output.as_str(),
                *truncated,
            )),
            _ => None,
        })
        .collect()
}

fn kinds(events: &[EventBody]) -> Vec<&'static str> {
    events.iter().map(EventBody::kind).collect()
}

fn assert_cost(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a cost");
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

fn real_fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("fixture dir")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "jsonl")
                .then(|| path.file_stem()?.to_str().map(str::to_owned))
                .flatten()
        })
        .filter(|name| name != "doc_examples")
        .collect();
    names.sort();
    names
}

#[test]
fn every_line_of_every_fixture_maps_to_events_that_round_trip() {
    let names = real_fixtures();
    assert!(names.len() >= 14, "fixtures: {names:?}");
    let mut raw_types = BTreeSet::new();
    for name in names.iter().map(String::as_str).chain(["doc_examples"]) {
        for (seq, body) in (1..).zip(decode(name)) {
            // Stored form: the kind column + payload.
            let payload = body.to_payload().expect("encodes");
            assert!(payload.get("kind").is_none());
            assert_eq!(
                EventBody::from_row(body.kind(), payload).expect("decodes"),
                body
            );
            // Wire form: the flat envelope, tagged with the same kind.
            let event = SessionEvent::new(seq, None, chrono::Utc::now(), body);
            let json = serde_json::to_value(&event).expect("serialises");
            assert_eq!(json["kind"], event.body.kind());
            assert_eq!(json["seq"], seq);
            let back: SessionEvent = serde_json::from_value(json).expect("deserialises");
            assert_eq!(back, event);
            if let EventBody::Raw { line_type, .. } = &event.body {
                if name != "doc_examples" {
                    raw_types.insert(line_type.clone());
                }
            }
        }
    }
    // What real runs leave untyped. A new entry here after re-capturing means the CLI printed
    // something new: decide whether it deserves a typed event.
    let expected: BTreeSet<String> = [
        "control_response.success",
        "stream_event.content_block_start",
        "stream_event.content_block_stop",
        "stream_event.message_delta",
        "stream_event.message_start",
        "stream_event.message_stop",
        "stream_event.content_block_delta", // signature_delta
        "system.status",
        "system.thinking_tokens",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(raw_types, expected);
}

#[test]
fn text_deltas_concatenate_to_the_final_text() {
    let events = decode("text");
    assert_eq!(
        kinds(&events)
            .into_iter()
            .filter(|k| *k != "raw")
            .collect::<Vec<_>>(),
        [
            "turn_started",
            "text_delta",
            "text_delta",
            "text_delta",
            "assistant_block",
            "turn_completed"
        ]
    );
    let EventBody::TurnStarted {
        model,
        permission_mode,
        tools,
        claude_code_version,
        claude_session_id,
        ..
    } = &events[0]
    else {
        panic!("first event: {:?}", events[0])
    };
    assert_eq!(model.as_deref(), Some(MODEL));
    assert_eq!(permission_mode.as_deref(), Some("acceptEdits"));
    assert_eq!(claude_code_version.as_deref(), Some("2.1.328"));
    assert!(tools.iter().any(|t| t == "Bash"));

    let text =
        "Hello! This reply comes from the scripted fake model (fake-anthropic), not from Claude.";
    assert_eq!(streamed_texts(&events), [text]);
    assert_eq!(block_texts(&events), [text]);
    let turn = only_turn(&events);
    assert_eq!(turn.result.as_deref(), Some(text));
    assert_eq!(turn.claude_session_id, *claude_session_id);
    assert!(!turn.is_error);
    assert_eq!(turn.subtype, "success");
    assert_eq!(turn.terminal_reason.as_deref(), Some("completed"));
    assert_eq!(turn.model_calls, 1);
    assert_eq!(turn.models, [MODEL]);
    assert_eq!(turn.num_turns, Some(1));
    assert_eq!(
        (turn.usage.input_tokens, turn.usage.output_tokens),
        (21854, 21)
    );
    assert!(turn.duration_ms.is_some() && turn.duration_api_ms.is_some());
    // The first turn of a process costs the whole running total.
    assert_cost(turn.cost_usd_turn, turn.total_cost_usd.expect("total"));
    assert!(turn.cost_usd_turn.expect("cost") > 0.0);
}

#[test]
fn thinking_and_text_blocks_carry_their_stream_index() {
    let events = decode("thinking");
    let thinking: String = events
        .iter()
        .filter_map(|e| match e {
            EventBody::ThinkingDelta { index: 0, text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        thinking,
        "The scripted fake model (fake-anthropic) is pretending to think about the request step by step."
    );
    let blocks: Vec<(Option<u32>, &AssistantContent)> = events
        .iter()
        .filter_map(|e| match e {
            EventBody::AssistantBlock { index, block, .. } => Some((*index, block)),
            _ => None,
        })
        .collect();
    assert_eq!(
        blocks,
        [
            (
                Some(0),
                &AssistantContent::Thinking {
                    thinking: thinking.clone()
                }
            ),
            (
                Some(1),
                &AssistantContent::Text {
                    text: streamed_texts(&events)[0].clone()
                }
            ),
        ]
    );
    assert_eq!(only_turn(&events).model_calls, 1);
}

#[test]
fn a_bash_call_carries_its_command_and_result() {
    let events = decode("tool_bash");
    let [(name, input)] = tool_calls(&events)[..] else {
        panic!("tool calls: {:?}", tool_calls(&events))
    };
    assert_eq!(name, "Bash");
    assert_eq!(
        input,
        &ToolInput::Bash {
            command: "echo hi".into(),
            description: Some("Scripted command from fake-anthropic".into())
        }
    );
    // The streamed input pieces, joined, are the same input.
    let partial: String = events
        .iter()
        .filter_map(|e| match e {
            EventBody::ToolInputDelta {
                partial_json,
                tool_use_id,
                ..
            } => {
                assert!(tool_use_id
                    .as_deref()
                    .is_some_and(|id| id.starts_with("toolu_")));
                Some(partial_json.as_str())
            }
            _ => None,
        })
        .collect();
    let streamed: Value = serde_json::from_str(&partial).expect("complete JSON");
    assert_eq!(ToolInput::parse("Bash", &streamed), *input);

    let call_id = events.iter().find_map(|e| match e {
        EventBody::ToolCallStarted {
            tool_use_id, index, ..
        } => {
            assert_eq!(*index, Some(1), "the tool block follows a text block");
            Some(tool_use_id.as_str())
        }
        _ => None,
    });
    assert_eq!(
        tool_results(&events),
        [(call_id.expect("call"), false, 1, "hi", false)]
    );
    let turn = only_turn(&events);
    assert_eq!(
        turn.model_calls, 2,
        "one call asks for the tool, one answers"
    );
    assert_eq!(turn.num_turns, Some(2));
    assert_eq!(turn.usage.output_tokens, 81);
}

#[test]
fn long_tool_output_is_truncated_but_counted_whole() {
    let events = decode_with(
        "tool_bash_long",
        DecoderConfig {
            max_tool_output_bytes: 100,
        },
    );
    let [(_, false, 3000, output, true)] = tool_results(&events)[..] else {
        panic!("results: {:?}", tool_results(&events))
    };
    assert_eq!(output.len(), 100);
    assert!(output.starts_with("1\n2\n3\n"));
    let bytes = events.iter().find_map(|e| match e {
        EventBody::ToolResult { output_bytes, .. } => Some(*output_bytes),
        _ => None,
    });
    assert_eq!(bytes, Some(13892));
    // The default limit (16 KiB) keeps this output whole.
    let whole = decode("tool_bash_long");
    let [(_, false, 3000, output, false)] = tool_results(&whole)[..] else {
        panic!("default limit truncated")
    };
    assert!(output.ends_with("2999\n3000"));
}

#[test]
fn write_and_todo_calls_are_parsed() {
    let events = decode("tool_write");
    assert_eq!(
        tool_calls(&events),
        [(
            "Write",
            &ToolInput::Write {
                file_path: "hello.txt".into(),
                content: "first line\nsecond line\n".into()
            }
        )]
    );
    assert!(
        matches!(tool_results(&events)[..], [(_, false, 1, out, false)]
        if out.starts_with("File created successfully at: hello.txt"))
    );

    let events = decode("tool_todowrite");
    let todo = |content: &str, status: &str| TodoItem {
        content: content.into(),
        status: status.into(),
        active_form: format!("Working on: {content}"),
    };
    assert_eq!(
        tool_calls(&events),
        [(
            "TodoWrite",
            &ToolInput::TodoWrite {
                todos: vec![
                    todo("Plan the work", "in_progress"),
                    todo("Do the work", "pending"),
                    todo("Check the work", "pending"),
                ]
            }
        )]
    );
    // This CLI build disables TodoWrite in -p mode: the call fails, visibly.
    assert!(
        matches!(tool_results(&events)[..], [(_, true, 1, out, false)]
        if out.contains("No such tool available: TodoWrite"))
    );
    let events = decode("edit_unread");
    assert!(
        matches!(tool_results(&events)[..], [(_, true, 1, out, false)]
        if out.contains("File has not been read yet"))
    );
}

#[test]
fn read_then_approved_edit_over_two_turns() {
    let events = decode("read_edit");
    assert_eq!(
        tool_calls(&events),
        [
            (
                "Read",
                &ToolInput::Read {
                    file_path: "notes.txt".into(),
                    offset: None,
                    limit: None
                }
            ),
            (
                "Edit",
                &ToolInput::Edit {
                    file_path: "notes.txt".into(),
                    old_string: "line two".into(),
                    new_string: "line 2".into(),
                    replace_all: false
                }
            ),
        ]
    );
    let results = tool_results(&events);
    assert!(!results[0].1);
    assert_eq!(results[0].3, "1\tline one\n2\tline two\n3\tline three\n4\t");
    assert_eq!(results[0].2, 4);
    assert!(results[1].3.contains("has been updated successfully"));

    // The Edit needed approval (default mode): the request carries the parsed input, with the
    // absolute path the CLI resolved.
    let request = events.iter().find_map(|e| match e {
        EventBody::PermissionRequested {
            tool_name,
            input,
            tool_use_id,
            suggestions,
            description,
            ..
        } => Some((tool_name, input, tool_use_id, suggestions, description)),
        _ => None,
    });
    let (tool_name, input, tool_use_id, suggestions, description) = request.expect("request");
    assert_eq!(tool_name, "Edit");
    assert!(
        matches!(input, ToolInput::Edit { file_path, old_string, new_string, .. }
        if file_path.ends_with("/notes.txt") && old_string == "line two" && new_string == "line 2")
    );
    assert!(tool_use_id
        .as_deref()
        .is_some_and(|id| id.starts_with("toolu_")));
    assert_eq!(suggestions[0]["type"], "setMode");
    assert_eq!(description.as_deref(), Some("notes.txt"));

    let turns = turns(&events);
    assert_eq!(turns.len(), 2);
    assert_eq!(
        turns.iter().map(|t| t.result_index).collect::<Vec<_>>(),
        [Some(0), Some(1)]
    );
    // Per-turn cost comes from model_usage_since_last_result and matches the growth of the
    // running total.
    let (first, second) = (turns[0], turns[1]);
    assert_cost(first.cost_usd_turn, first.total_cost_usd.expect("total"));
    assert_cost(
        second.cost_usd_turn,
        second.total_cost_usd.expect("total") - first.total_cost_usd.expect("total"),
    );
    assert_eq!((first.model_calls, second.model_calls), (2, 2));
}

#[test]
fn approvals_denials_and_prompt_echoes() {
    let events = decode("approvals");
    let prompts: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            EventBody::UserMessage {
                text,
                is_replay: true,
                ..
            } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        prompts,
        [
            "[[tool:Bash:echo approved > out.txt]]",
            "[[tool:Bash:touch denied.txt]]",
            "[[text]]"
        ]
    );
    let requests: Vec<(&str, &ToolInput, Option<&str>)> = events
        .iter()
        .filter_map(|e| match e {
            EventBody::PermissionRequested {
                tool_name,
                input,
                blocked_path,
                ..
            } => Some((tool_name.as_str(), input, blocked_path.as_deref())),
            _ => None,
        })
        .collect();
    assert_eq!(requests.len(), 2);
    assert!(
        matches!(requests[0], ("Bash", ToolInput::Bash { command, .. }, Some(path))
        if command == "echo approved > out.txt" && path.ends_with("/out.txt"))
    );
    assert!(
        matches!(requests[1], ("Bash", ToolInput::Bash { command, .. }, _)
        if command == "touch denied.txt")
    );
    let results = tool_results(&events);
    assert!(!results[0].1);
    assert_eq!(
        (results[1].1, results[1].3),
        (true, "Denied from the test driver")
    );

    let turns = turns(&events);
    assert_eq!(turns.len(), 3);
    assert_eq!(
        turns
            .iter()
            .map(|t| t.permission_denials.len())
            .collect::<Vec<_>>(),
        [0, 1, 0]
    );
    assert_eq!(turns[1].permission_denials[0].tool_name, "Bash");
    // The turns' costs add up to the session's running total.
    let sum: f64 = turns.iter().filter_map(|t| t.cost_usd_turn).sum();
    assert_cost(Some(sum), turns[2].total_cost_usd.expect("total"));
}

#[test]
fn a_permission_denied_by_mode_is_reported() {
    let events = decode("permission_denied");
    let denied = events.iter().find_map(|e| match e {
        EventBody::PermissionDenied {
            tool_name,
            tool_use_id,
            message,
            ..
        } => Some((tool_name.as_str(), tool_use_id.clone(), message.clone())),
        _ => None,
    });
    let (tool, tool_use_id, message) = denied.expect("permission_denied");
    assert_eq!(tool, "Bash");
    assert!(message.is_some_and(|m| m.contains("needs approval")));
    let turn = only_turn(&events);
    assert_eq!(turn.permission_denials[0].tool_use_id, tool_use_id);
    assert_eq!(
        turn.permission_denials[0].tool_input["command"],
        "touch blocked.txt"
    );
    assert!(tool_results(&events)[0].1, "the denial is an error result");
}

#[test]
fn an_interrupt_cancels_the_pending_request() {
    let events = decode("interrupt_permission");
    let requested = events.iter().find_map(|e| match e {
        EventBody::PermissionRequested { request_id, .. } => Some(request_id.clone()),
        _ => None,
    });
    let cancelled = events.iter().find_map(|e| match e {
        EventBody::PermissionCancelled { request_id } => Some(request_id.clone()),
        _ => None,
    });
    assert!(requested.is_some());
    assert_eq!(requested, cancelled);
    assert!(events.iter().any(
        |e| matches!(e, EventBody::UserMessage { text, is_replay: false, .. }
        if text == "[Request interrupted by user for tool use]")
    ));
    let turn = only_turn(&events);
    assert!(turn.is_error);
    assert_eq!(turn.subtype, "error_during_execution");
    assert_eq!(turn.terminal_reason.as_deref(), Some("aborted_tools"));
    assert_eq!(turn.model_calls, 1);
}

#[test]
fn an_interrupted_stream_marks_the_partial_block() {
    let events = decode("interrupt_stream");
    let aborted = events.iter().find_map(|e| match e {
        EventBody::AssistantBlock {
            aborted: true,
            index,
            block: AssistantContent::Text { text },
            ..
        } => Some((*index, text.clone())),
        _ => None,
    });
    let (index, text) = aborted.expect("an aborted block");
    assert_eq!(index, Some(0));
    assert_eq!(streamed_texts(&events)[0], text);
    let turns = turns(&events);
    assert_eq!(
        turns
            .iter()
            .map(|t| (t.is_error, t.terminal_reason.as_deref()))
            .collect::<Vec<_>>(),
        [
            (true, Some("aborted_streaming")),
            (false, Some("completed"))
        ]
    );
}

#[test]
fn api_errors_retry_then_fail_the_turn() {
    let events = decode("error_429");
    let retry = events.iter().find_map(|e| match e {
        EventBody::ApiRetry {
            attempt,
            max_retries,
            error_status,
            error,
            retry_delay_ms,
        } => Some((
            *attempt,
            *max_retries,
            *error_status,
            error.clone(),
            retry_delay_ms.is_some(),
        )),
        _ => None,
    });
    assert_eq!(
        retry,
        Some((Some(1), Some(1), Some(429), Some("rate_limit".into()), true))
    );
    // The error text is shown as a (synthetic) assistant message…
    assert!(events.iter().any(|e| matches!(e, EventBody::AssistantBlock { model, block: AssistantContent::Text { text }, .. }
        if model.as_deref() == Some("<synthetic>") && text.contains("429"))));
    // …and the turn fails although its subtype says success.
    let turn = only_turn(&events);
    assert!(turn.is_error);
    assert_eq!(turn.subtype, "success");
    assert_eq!(turn.api_error_status, Some(429));
    assert_eq!(turn.terminal_reason.as_deref(), Some("api_error"));
    assert_eq!((turn.model_calls, turn.models.len()), (0, 0));
    assert_cost(turn.cost_usd_turn, 0.0);
    let cost = serde_json::to_value(turn.cost_usd_turn).expect("json");
    assert_eq!(cost.to_string(), "0.0", "not -0.0");

    let turn_400 = decode("error_400");
    let turn_400 = only_turn(&turn_400);
    assert_eq!(
        (turn_400.is_error, turn_400.api_error_status),
        (true, Some(400))
    );
}

#[test]
fn a_stream_cut_off_mid_response_is_resumed() {
    let events = decode("stream_error");
    assert!(events.iter().any(
        |e| matches!(e, EventBody::UserMessage { is_synthetic: true, text, .. }
        if text.contains("cut off mid-stream"))
    ));
    let turn = only_turn(&events);
    assert!(!turn.is_error);
    assert_eq!(turn.model_calls, 2);
}

#[test]
fn the_documented_examples_decode_as_documented() {
    let events = decode("doc_examples");
    let typed: Vec<&str> = kinds(&events).into_iter().filter(|k| *k != "raw").collect();
    assert_eq!(
        typed,
        [
            "turn_started",
            "thinking_delta",
            "assistant_block",
            "text_delta",
            "assistant_block",
            "tool_input_delta",
            "tool_call_started",
            "permission_denied",
            "permission_requested",
            "permission_cancelled",
            "tool_result",
            "user_message",
            "api_retry",
            "turn_completed",
        ]
    );
    let turn = only_turn(&events);
    assert_eq!(turn.usage.cache_creation_input_tokens, 100);
    assert_eq!(turn.usage.cache_read_input_tokens, 400);
    // No model_usage_since_last_result in the example: the running total is the fallback.
    assert_cost(turn.cost_usd_turn, 0.00306);
    assert_eq!(turn.models, ["claude-opus-5-5"]);
    assert_eq!(turn.model_calls, 1);
    assert!(events.iter().any(
        |e| matches!(e, EventBody::PermissionRequested { request_id, suggestions, .. }
        if request_id == "137d7581-86a8-4a47-96a0-98d90029c86d" && suggestions.len() == 2)
    ));
}

#[test]
fn an_unknown_line_type_is_kept_raw() {
    let mut decoder = Decoder::default();
    let line = r#"{"type":"telepathy","subtype":"vibes","strength":11}"#;
    let events = decoder.decode(line);
    let [EventBody::Raw { line_type, payload }] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(line_type, "telepathy.vibes");
    assert_eq!(payload, &serde_json::from_str::<Value>(line).expect("json"));
}
