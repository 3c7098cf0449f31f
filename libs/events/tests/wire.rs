//! The stored and wire forms: round trips, the flat envelope, and forward compatibility.

use chrono::{TimeZone, Utc};
use rc_events::{
    ApprovalDecision, ContainerStats, ErrorSource, EventBody, EventError, FileChange, QueuedTask,
    SessionEvent, SessionStatus, TaskOutcome, EVENT_SCHEMA_VERSION,
};
use serde_json::{json, Value};
use uuid::Uuid;

fn platform_events() -> Vec<EventBody> {
    let task = Uuid::from_u128(7);
    vec![
        EventBody::TaskStarted {
            task_id: task,
            prompt_chars: 42,
        },
        EventBody::TaskFinished {
            task_id: task,
            state: TaskOutcome::Cancelled,
        },
        EventBody::QueueChanged {
            queued: vec![
                QueuedTask {
                    task_id: task,
                    position: 0,
                },
                QueuedTask {
                    task_id: Uuid::from_u128(8),
                    position: 1,
                },
            ],
        },
        EventBody::SessionStateChanged {
            state: SessionStatus::Stopped,
            reason: Some("idle timeout".into()),
        },
        EventBody::ContainerStats(ContainerStats {
            cpu_cores: 0.25,
            memory_bytes: 300 << 20,
            memory_limit_bytes: Some(2 << 30),
            network_rx_bytes: 1234,
            network_tx_bytes: 5678,
            pids: 17,
        }),
        EventBody::FileChanged {
            path: "src/main.rs".into(),
            change: FileChange::Modified,
        },
        EventBody::FileChanged {
            path: "src/new.rs".into(),
            change: FileChange::Renamed {
                from: "src/old.rs".into(),
            },
        },
        EventBody::ApprovalDecided {
            approval_id: Uuid::from_u128(9),
            request_id: "137d7581-86a8-4a47-96a0-98d90029c86d".into(),
            decision: ApprovalDecision::Always,
            by: Some(Uuid::from_u128(10)),
            via: "web".into(),
            message: None,
        },
        EventBody::ClaudeExited {
            code: Some(143),
            signal: None,
        },
        EventBody::OutputLost {
            message: "the sandbox agent's buffer overflowed".into(),
            after_seq: Some(10),
            next_seq: Some(20),
        },
        EventBody::Error {
            source: ErrorSource::Agent,
            message: "boom".into(),
        },
    ]
}

#[test]
fn platform_events_round_trip_under_their_kind() {
    for body in platform_events() {
        let json = serde_json::to_value(&body).expect("serialises");
        assert_eq!(json["kind"], body.kind(), "{json}");
        assert_eq!(
            serde_json::from_value::<EventBody>(json).expect("deserialises"),
            body
        );
        let payload = body.to_payload().expect("payload");
        assert_eq!(
            EventBody::from_row(body.kind(), payload).expect("row"),
            body
        );
    }
}

#[test]
fn the_envelope_is_one_flat_object() {
    let event = SessionEvent::new(
        7,
        Some(Uuid::from_u128(1)),
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0)
            .single()
            .expect("time"),
        EventBody::FileChanged {
            path: "a.txt".into(),
            change: FileChange::Deleted,
        },
    );
    let json = serde_json::to_value(&event).expect("serialises");
    assert_eq!(
        json,
        json!({
            "seq": 7,
            "task_id": "00000000-0000-0000-0000-000000000001",
            "at": "2026-11-26T12:00:00Z",
            "kind": "file_changed",
            "path": "a.txt",
            "change": {"type": "deleted"},
        })
    );
    assert_eq!(
        serde_json::from_value::<SessionEvent>(json).expect("back"),
        event
    );
}

#[test]
fn newer_kinds_and_older_payloads_still_read() {
    // A kind from a future version: skipped as Unknown, not an error.
    let future = json!({"seq": 1, "task_id": null, "at": "2026-11-26T12:00:00Z",
        "kind": "hologram_projected", "intensity": 3});
    let event: SessionEvent = serde_json::from_value(future).expect("reads");
    assert_eq!(event.body, EventBody::Unknown);
    assert_eq!(
        EventBody::from_row("hologram_projected", json!({"x": 1})).expect("row"),
        EventBody::Unknown
    );
    // Fields with defaults may be missing in rows written before they existed.
    assert_eq!(
        EventBody::from_row("queue_changed", json!({})).expect("row"),
        EventBody::QueueChanged { queued: vec![] }
    );
    let EventBody::TurnCompleted(turn) = EventBody::from_row(
        "turn_completed",
        json!({"subtype": "success", "is_error": false}),
    )
    .expect("row") else {
        panic!("not a turn")
    };
    assert_eq!((turn.model_calls, turn.usage.input_tokens), (0, 0));
    // An error source added later reads as Other.
    assert_eq!(
        EventBody::from_row("error", json!({"source": "quantum", "message": "m"})).expect("row"),
        EventBody::Error {
            source: ErrorSource::Other,
            message: "m".into()
        }
    );
}

#[test]
fn corrupt_rows_are_errors() {
    assert!(matches!(
        EventBody::from_row("text_delta", json!("text")),
        Err(EventError::NotAnObject {
            found: "string",
            ..
        })
    ));
    let err = EventBody::from_row("task_started", json!({"task_id": "not-a-uuid"}))
        .expect_err("bad uuid");
    assert!(matches!(&err, EventError::Decode { kind, .. } if kind == "task_started"));
    assert_eq!(
        err.to_string(),
        "stored task_started event does not match its schema"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn the_schema_version_is_one() {
    assert_eq!(EVENT_SCHEMA_VERSION, 1);
    // Raw keeps non-JSON text as a JSON string.
    let raw = EventBody::Raw {
        line_type: "text".into(),
        payload: Value::String("plain".into()),
    };
    assert_eq!(
        EventBody::from_row("raw", raw.to_payload().expect("payload")).expect("row"),
        raw
    );
}
