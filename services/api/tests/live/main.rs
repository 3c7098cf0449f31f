//! Live sessions end to end: the api and session-manager in-process on port 0, real Postgres,
//! Redis and RabbitMQ, the real Docker engine and sandbox image with the real Claude Code CLI,
//! talking to the scripted model server (fake-anthropic) — the harness is `tests/support/live.rs`.
//! Each test drives the public API (REST + the events WebSocket) exactly as a browser or API
//! client would.
//!
//! Needs `scripts/build-sandbox-image.sh` to have run (scripts/test and CI do).

// Tests fail loudly by design: unwrap is the assertion.
#![allow(clippy::unwrap_used)]

#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../support/live.rs"]
mod live;

use futures::{SinkExt as _, StreamExt as _};
use live::{Live, Socket, TURN_BOUND};
use rc_auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// Reads events until `until` says stop (or the bound passes); checks that sequence numbers
/// are consecutive from `after + 1`. Other frames (replies to client messages) are not
/// expected here.
async fn collect(socket: &mut Socket, after: i64, until: impl FnMut(&Value) -> bool) -> Vec<Value> {
    let (events, replies) = collect_with_replies(socket, after, until).await;
    assert!(replies.is_empty(), "unexpected frames: {replies:?}");
    events
}

/// [`collect`], also returning the non-event frames seen meanwhile.
async fn collect_with_replies(
    socket: &mut Socket,
    after: i64,
    mut until: impl FnMut(&Value) -> bool,
) -> (Vec<Value>, Vec<Value>) {
    let mut events = Vec::new();
    let mut replies = Vec::new();
    let mut expected = after + 1;
    let deadline = tokio::time::Instant::now() + TURN_BOUND;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| {
                let kinds: Vec<&str> = events
                    .iter()
                    .filter_map(|e: &Value| e["kind"].as_str())
                    .collect();
                panic!("condition not met within {TURN_BOUND:?}; kinds so far: {kinds:?}")
            })
            .expect("socket open")
            .unwrap();
        let Message::Text(text) = frame else { continue };
        let frame: Value = serde_json::from_str(&text).unwrap();
        if frame["type"] != "event" {
            replies.push(frame);
            continue;
        }
        let event = frame["event"].clone();
        assert_eq!(event["seq"], expected, "gap-free and in order: {event}");
        expected += 1;
        let stop = until(&event);
        events.push(event);
        if stop {
            return (events, replies);
        }
    }
}

fn finished(task: Uuid) -> impl FnMut(&Value) -> bool {
    move |e| e["kind"] == "task_finished" && e["task_id"] == task.to_string()
}

fn text_of(events: &[Value], task: Uuid) -> String {
    events
        .iter()
        .filter(|e| e["kind"] == "text_delta" && e["task_id"] == task.to_string())
        .map(|e| e["text"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn text_deltas_stream_in_order_and_match_the_final_text() {
    let live = Live::start().await;
    let session = live.running_session("default").await;
    let mut socket = live.events(session, 0).await;
    let task = live.queue(session, "stream please [[slow:25:5]]").await;
    let events = collect(&mut socket, 0, finished(task)).await;
    let streamed = text_of(&events, task);
    let deltas = events.iter().filter(|e| e["kind"] == "text_delta").count();
    assert!(deltas >= 25, "one event per model delta: {deltas}");
    let result = live.task(task).await;
    assert_eq!(result["state"], "succeeded", "{result}");
    assert_eq!(
        streamed,
        result["result"]["text"].as_str().unwrap(),
        "the deltas add up to the final text"
    );
    let completed = events
        .iter()
        .find(|e| e["kind"] == "turn_completed")
        .expect("turn_completed");
    assert!(completed["duration_ms"].as_u64().is_some(), "{completed}");
}

#[tokio::test]
async fn tool_calls_carry_their_parsed_input_and_result() {
    let live = Live::start().await;
    // bypassPermissions: the tool runs without an approval (approvals have their own tests).
    let session = live.running_session("bypassPermissions").await;
    let mut socket = live.events(session, 0).await;
    let task = live
        .queue(session, "[[tool:Bash:echo live-tool-output]]")
        .await;
    let events = collect(&mut socket, 0, finished(task)).await;
    let started = events
        .iter()
        .find(|e| e["kind"] == "tool_call_started")
        .expect("tool_call_started");
    assert_eq!(started["name"], "Bash");
    assert_eq!(started["input"]["tool"], "bash");
    assert_eq!(started["input"]["command"], "echo live-tool-output");
    let result = events
        .iter()
        .find(|e| e["kind"] == "tool_result" && e["tool_use_id"] == started["tool_use_id"])
        .expect("tool_result for the call");
    assert_eq!(result["is_error"], false, "{result}");
    assert!(
        result.to_string().contains("live-tool-output"),
        "the command's output is in the result: {result}"
    );
    assert_eq!(live.task(task).await["state"], "succeeded");
}

#[tokio::test]
async fn queued_tasks_run_in_order_reorder_and_a_cancelled_one_never_runs() {
    let live = Live::start().await;
    let session = live.running_session("default").await;
    let mut socket = live.events(session, 0).await;
    // The first turn streams for a while, so the others wait behind it.
    let first = live.queue(session, "first [[slow:40:50]]").await;
    let seen = collect(&mut socket, 0, |e| {
        e["kind"] == "task_started" && e["task_id"] == first.to_string()
    })
    .await;
    let last = seen.last().unwrap()["seq"].as_i64().unwrap();
    let second = live.queue(session, "second").await;
    let third = live.queue(session, "third").await;
    let fourth = live.queue(session, "fourth").await;
    let (_, queue) = live
        .call(
            Method::GET,
            &format!("/api/v1/sessions/{session}/queue"),
            None,
        )
        .await;
    let ids: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [second.to_string(), third.to_string(), fourth.to_string()]
    );
    // Cancel the second; run the fourth before the third.
    let (status, cancelled) = live
        .call(
            Method::POST,
            &format!("/api/v1/tasks/{second}/cancel"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled");
    let (status, stale) = live
        .call(
            Method::PUT,
            &format!("/api/v1/sessions/{session}/queue"),
            Some(json!({"task_ids": [fourth, second, third]})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a cancelled task cannot be ordered: {stale}"
    );
    let (status, reordered) = live
        .call(
            Method::PUT,
            &format!("/api/v1/sessions/{session}/queue"),
            Some(json!({"task_ids": [fourth, third]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reordered}");
    let events = collect(&mut socket, last, finished(third)).await;
    let started: Vec<String> = events
        .iter()
        .filter(|e| e["kind"] == "task_started")
        .map(|e| e["task_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        started,
        [fourth.to_string(), third.to_string()],
        "after the first: the new order; the cancelled task never started"
    );
    // The queue was announced as it changed, with positions.
    let announced: Vec<Vec<String>> = events
        .iter()
        .filter(|e| e["kind"] == "queue_changed")
        .map(|e| {
            e["queued"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| q["task_id"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    assert!(
        announced.contains(&vec![fourth.to_string(), third.to_string()]),
        "{announced:?}"
    );
    for id in [first, third, fourth] {
        assert_eq!(live.task(id).await["state"], "succeeded", "{id}");
    }
    assert_eq!(live.task(second).await["state"], "cancelled");
}

#[tokio::test]
async fn cancelling_a_running_task_interrupts_it_keeps_its_output_and_the_queue_continues() {
    let live = Live::start().await;
    let session = live.running_session("default").await;
    let mut socket = live.events(session, 0).await;
    let long = live.queue(session, "long [[slow:400:25]]").await;
    let next = live.queue(session, "next").await;
    let before = collect(&mut socket, 0, |e| {
        e["kind"] == "text_delta" && e["text"].as_str().is_some_and(|t| !t.is_empty())
    })
    .await;
    let last_seq = before.last().unwrap()["seq"].as_i64().unwrap();
    let (status, _) = live
        .call(Method::POST, &format!("/api/v1/tasks/{long}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let after = collect(&mut socket, last_seq, finished(next)).await;
    let all: Vec<Value> = before.into_iter().chain(after).collect();
    let ended = all
        .iter()
        .find(|e| e["kind"] == "task_finished" && e["task_id"] == long.to_string())
        .unwrap();
    assert_eq!(ended["state"], "cancelled");
    let partial = text_of(&all, long);
    assert!(!partial.is_empty(), "the partial output is kept");
    let long_task = live.task(long).await;
    assert_eq!(long_task["state"], "cancelled", "{long_task}");
    let deltas = all
        .iter()
        .filter(|e| e["kind"] == "text_delta" && e["task_id"] == long.to_string())
        .count();
    assert!(
        deltas < 400,
        "interrupted before the end: {deltas} of 400 deltas"
    );
    assert_eq!(live.task(next).await["state"], "succeeded");
    // The history says the same as the live feed.
    let (_, history) = live
        .call(
            Method::GET,
            &format!("/api/v1/sessions/{session}/events?limit=1000"),
            None,
        )
        .await;
    let stored: Vec<i64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    let streamed: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(stored[..streamed.len()], streamed[..]);
}

/// The command the scripted model asks to run: it writes a file, so the default permission
/// mode asks for approval.
const GUARDED: &str = "echo approved-run > ok.txt; cat ok.txt";

/// A command whose "always" rule the CLI suggests exactly (`touch *`, claude-cli.md §3.3).
/// Compound commands with redirections may be asked again despite their suggested rule.
const REMEMBERED: &str = "touch approved.txt";

fn requested(e: &Value) -> bool {
    e["kind"] == "permission_requested"
}

#[tokio::test]
async fn an_approved_request_runs_the_tool_and_a_second_decision_conflicts() {
    let live = Live::start().await;
    let session = live.running_session("default").await;
    let mut socket = live.events(session, 0).await;
    let task = live
        .queue(session, &format!("[[tool:Bash:{GUARDED}]]"))
        .await;
    let events = collect(&mut socket, 0, requested).await;
    let request = events.last().unwrap();
    assert_eq!(request["tool_name"], "Bash");
    assert_eq!(request["input"]["command"], GUARDED);
    let approval = request["approval_id"]
        .as_str()
        .expect("approval id")
        .to_owned();

    // Visible in the pending list and by id.
    let (_, pending) = live.call(Method::GET, "/api/v1/approvals", None).await;
    assert!(
        pending
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == approval.as_str()),
        "{pending}"
    );
    let (status, decided) = live
        .decide(&live.token, &approval, json!({"decision": "allow"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["state"], "allowed");
    assert_eq!(decided["decided_via"], "rest");
    let (status, again) = live
        .decide(&live.token, &approval, json!({"decision": "deny"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "first decision wins: {again}");
    assert!(
        again["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already allowed"),
        "{again}"
    );

    let last = events.last().unwrap()["seq"].as_i64().unwrap();
    let rest = collect(&mut socket, last, finished(task)).await;
    let decided_event = rest
        .iter()
        .find(|e| e["kind"] == "approval_decided")
        .expect("approval_decided event");
    assert_eq!(decided_event["approval_id"], approval.as_str());
    assert_eq!(decided_event["decision"], "allow");
    assert_eq!(decided_event["via"], "rest");
    let result = rest
        .iter()
        .find(|e| e["kind"] == "tool_result")
        .expect("tool_result");
    assert_eq!(result["is_error"], false, "{result}");
    assert!(result.to_string().contains("approved-run"), "{result}");
    // Audited: who, how.
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT details->>'via' FROM audit_logs WHERE action = 'approval.decide' AND target_id = $1",
    )
    .bind(&approval)
    .fetch_all(&live.app.db.pool)
    .await
    .unwrap();
    assert_eq!(audited, ["rest"]);

    // The owner's phone hears of both: session-manager published a push job for the request and
    // one for the finished turn (the worker's side is tested in services/worker/tests/push.rs).
    // Published in the background after the commit, so poll with a bound.
    let mut jobs = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while jobs.len() < 2 && tokio::time::Instant::now() < deadline {
        jobs.extend(live.app.drain_queue("worker.jobs").await);
        if jobs.len() < 2 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    let session_id = session.to_string();
    assert!(
        jobs.iter().any(|j| j["job"] == "approval_requested"
            && j["approval_id"] == approval.as_str()
            && j["session_id"] == session_id.as_str()),
        "{jobs:?}"
    );
    assert!(
        jobs.iter().any(|j| j["job"] == "turn_finished"
            && j["task_id"] == task.to_string()
            && j["state"] == "succeeded"),
        "{jobs:?}"
    );
}

#[tokio::test]
async fn a_denial_with_a_message_reaches_claude_and_roles_are_checked() {
    let live = Live::start().await;
    let session = live.running_session("default").await;
    let mut socket = live.events(session, 0).await;
    let task = live
        .queue(session, &format!("[[tool:Bash:{GUARDED}]]"))
        .await;
    let events = collect(&mut socket, 0, requested).await;
    let approval = events.last().unwrap()["approval_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Who may decide: not a viewer (403), not another organisation or a member on someone
    // else's session (404).
    let org: Uuid = sqlx::query_scalar("SELECT org_id FROM sessions WHERE id = $1")
        .bind(session)
        .fetch_one(&live.app.db.pool)
        .await
        .unwrap();
    let (_, viewer) = live.app.user_with_role(org, Role::Viewer).await;
    let (_, member) = live.app.user_with_role(org, Role::Member).await;
    let (_, other) = live.app.other_org().await;
    let (status, _) = live
        .decide(&viewer, &approval, json!({"decision": "allow"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for token in [&member, &other] {
        let (status, _) = live
            .decide(token, &approval, json!({"decision": "allow"}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // A member may not widen the org policy either (checked before anything changes).
    let (status, err) = live
        .decide(
            &viewer,
            &approval,
            json!({"decision": "deny", "scope": "session"}),
        )
        .await;
    assert!(
        status == StatusCode::BAD_REQUEST || status == StatusCode::FORBIDDEN,
        "{err}"
    );

    // The owner denies over GraphQL with a message.
    let reply = live
        .gql(
            &live.token,
            "mutation($id: UUID!) { decideApproval(id: $id, input: {decision: DENY, message: \"not on a Friday\"}) { state decidedVia } }",
            json!({"id": approval}),
        )
        .await;
    assert_eq!(
        reply["data"]["decideApproval"]["state"], "DENIED",
        "{reply}"
    );
    assert_eq!(reply["data"]["decideApproval"]["decidedVia"], "graphql");
    let last = events.last().unwrap()["seq"].as_i64().unwrap();
    let rest = collect(&mut socket, last, finished(task)).await;
    let result = rest
        .iter()
        .find(|e| e["kind"] == "tool_result")
        .expect("tool_result");
    assert_eq!(result["is_error"], true, "{result}");
    assert!(
        result.to_string().contains("not on a Friday"),
        "Claude got the message: {result}"
    );
    let ok: Option<String> =
        sqlx::query_scalar("SELECT state::text FROM approvals WHERE id = $1::uuid")
            .bind(&approval)
            .fetch_optional(&live.app.db.pool)
            .await
            .unwrap();
    assert_eq!(ok.as_deref(), Some("denied"));
}

#[tokio::test]
async fn always_over_the_websocket_stops_asking_for_the_same_call() {
    let live = Live::start().await;
    let session = live.running_session("default").await;
    let mut socket = live.events(session, 0).await;
    let first = live
        .queue(session, &format!("[[tool:Bash:{REMEMBERED}]]"))
        .await;
    let events = collect(&mut socket, 0, requested).await;
    let approval = events.last().unwrap()["approval_id"]
        .as_str()
        .unwrap()
        .to_owned();
    socket
        .send(Message::Text(
            json!({"type": "decide_approval", "approval_id": approval, "decision": "always"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    // The reply frame arrives among the turn's events (in either order).
    let last = events.last().unwrap()["seq"].as_i64().unwrap();
    let (rest, replies) = collect_with_replies(&mut socket, last, finished(first)).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0]["type"], "approval_decided", "{replies:?}");
    assert_eq!(replies[0]["approval"]["decided_via"], "websocket");
    assert!(rest
        .iter()
        .any(|e| e["kind"] == "approval_decided" && e["decision"] == "always"));
    let last = rest.last().unwrap()["seq"].as_i64().unwrap();
    // The same call again: no new request this time.
    let second = live
        .queue(session, &format!("[[tool:Bash:{REMEMBERED}]]"))
        .await;
    let rest = collect(&mut socket, last, finished(second)).await;
    assert!(
        !rest.iter().any(requested),
        "remembered for the session: {rest:?}"
    );
    let result = rest
        .iter()
        .find(|e| e["kind"] == "tool_result")
        .expect("tool_result");
    assert_eq!(result["is_error"], false, "{result}");
}

#[tokio::test]
async fn an_unanswered_request_is_denied_at_its_timeout_visibly() {
    let live = Live::start_with(|s| s.approvals.timeout_secs = 2).await;
    let session = live.running_session("default").await;
    let mut socket = live.events(session, 0).await;
    let task = live
        .queue(session, &format!("[[tool:Bash:{GUARDED}]]"))
        .await;
    let events = collect(&mut socket, 0, finished(task)).await;
    let request = events.iter().find(|e| requested(e)).expect("request");
    let decided = events
        .iter()
        .find(|e| e["kind"] == "approval_decided")
        .expect("decided by the timeout");
    assert_eq!(decided["approval_id"], request["approval_id"]);
    assert_eq!(decided["decision"], "deny");
    assert_eq!(decided["via"], "timeout");
    assert!(decided["by"].is_null());
    let result = events
        .iter()
        .find(|e| e["kind"] == "tool_result")
        .expect("tool_result");
    assert_eq!(result["is_error"], true);
    assert!(
        result.to_string().contains("denied automatically"),
        "{result}"
    );
    let approval = request["approval_id"].as_str().unwrap();
    let (_, record) = live
        .call(Method::GET, &format!("/api/v1/approvals/{approval}"), None)
        .await;
    assert_eq!(record["state"], "expired", "{record}");
    assert_eq!(record["decided_via"], "timeout");
    let (status, late) = live
        .decide(&live.token, approval, json!({"decision": "allow"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{late}");
}

#[tokio::test]
async fn files_through_the_api_respect_roles_and_etags_and_become_events() {
    let mut live = Live::start().await;
    live.start_files().await;
    let session = live.running_session("default").await;
    let mut socket = live.events(session, 0).await;
    let base = live.app.url(&format!("/api/v1/sessions/{session}/files"));
    let http = reqwest::Client::new();

    let created = http
        .put(format!("{base}/content?path=notes/todo.txt"))
        .bearer_auth(&live.token)
        .header("if-none-match", "*")
        .body("first line\n")
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.status(),
        StatusCode::NOT_FOUND,
        "parent folder missing"
    );
    let (status, _) = live
        .call(
            Method::POST,
            &format!("/api/v1/sessions/{session}/files/create"),
            Some(json!({"path": "notes", "kind": "dir"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let created = http
        .put(format!("{base}/content?path=notes/todo.txt"))
        .bearer_auth(&live.token)
        .header("if-none-match", "*")
        .body("first line\n")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let etag = created.headers()["etag"].to_str().unwrap().to_owned();

    let read = http
        .get(format!("{base}/content?path=notes/todo.txt"))
        .bearer_auth(&live.token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(read.text().await.unwrap(), "first line\n");

    // A write based on what was read wins once; the stale one after it loses.
    for (expected, body) in [
        (StatusCode::OK, "second\n"),
        (StatusCode::PRECONDITION_FAILED, "stale\n"),
    ] {
        let res = http
            .put(format!("{base}/content?path=notes/todo.txt"))
            .bearer_auth(&live.token)
            .header("if-match", &etag)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expected);
    }

    // Viewers read, only owners and admins write; others do not see the session at all.
    let org: Uuid = sqlx::query_scalar("SELECT org_id FROM sessions WHERE id = $1")
        .bind(session)
        .fetch_one(&live.app.db.pool)
        .await
        .unwrap();
    let (_, viewer) = live.app.user_with_role(org, Role::Viewer).await;
    let (_, member) = live.app.user_with_role(org, Role::Member).await;
    let (_, other) = live.app.other_org().await;
    let get = |token: String| {
        let url = format!("{base}/content?path=notes/todo.txt");
        let http = http.clone();
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(get(viewer.clone()).await, StatusCode::OK);
    assert_eq!(get(member.clone()).await, StatusCode::NOT_FOUND);
    assert_eq!(get(other.clone()).await, StatusCode::NOT_FOUND);
    let (status, _) = live
        .app
        .token_call(
            &viewer,
            Method::POST,
            &format!("/api/v1/sessions/{session}/files/create"),
            Some(json!({"path": "x.txt", "kind": "file"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Client-supplied identity headers are not passed on.
    let spoofed = http
        .get(format!("{base}/content?path=notes/todo.txt"))
        .bearer_auth(&member)
        .header("x-rc-session-id", session.to_string())
        .header("x-rc-right", "write")
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), StatusCode::NOT_FOUND);
    // Traversal is refused before anything is read.
    let escape = http
        .get(format!("{base}/content?path=../../etc/passwd"))
        .bearer_auth(&live.token)
        .send()
        .await
        .unwrap();
    assert_eq!(escape.status(), StatusCode::BAD_REQUEST);

    // The changes became session events, in order.
    let events = collect(&mut socket, 0, |e| {
        e["kind"] == "file_changed" && e["change"]["type"] == "modified"
    })
    .await;
    let changes: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["kind"] == "file_changed")
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_owned(),
                e["change"]["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("notes".to_owned(), "created".to_owned()),
            ("notes/todo.txt".to_owned(), "created".to_owned()),
            ("notes/todo.txt".to_owned(), "modified".to_owned()),
        ]
    );
    // And the writes were audited.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_logs WHERE action = 'session.files' AND target_id = $1",
    )
    .bind(session.to_string())
    .fetch_one(&live.app.db.pool)
    .await
    .unwrap();
    assert!(audited >= 3, "{audited}");
}

#[tokio::test]
async fn a_signed_link_approves_without_a_login_and_the_cli_runs_the_tool() {
    let live = Live::start().await;
    let session = live.running_session("default").await;
    let mut socket = live.events(session, 0).await;
    let task = live
        .queue(session, &format!("[[tool:Bash:{GUARDED}]]"))
        .await;
    let events = collect(&mut socket, 0, requested).await;
    let approval = events.last().unwrap()["approval_id"]
        .as_str()
        .expect("approval id")
        .to_owned();
    let (status, link) = live
        .call(
            Method::POST,
            &format!("/api/v1/approvals/{approval}/link"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let path = link["url"]
        .as_str()
        .unwrap()
        .strip_prefix(helpers::PUBLIC_URL)
        .unwrap()
        .to_owned();
    // A client with no cookie and no token, like a phone opening a notification.
    let anonymous = reqwest::Client::new();
    let page = anonymous.get(live.app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("ok.txt"));
    let res = anonymous
        .post(live.app.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("decision=allow")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let last = events.last().unwrap()["seq"].as_i64().unwrap();
    let rest = collect(&mut socket, last, finished(task)).await;
    let decided = rest
        .iter()
        .find(|e| e["kind"] == "approval_decided")
        .expect("approval_decided event");
    assert_eq!(decided["approval_id"], approval.as_str());
    assert_eq!(decided["decision"], "allow");
    assert_eq!(decided["via"], "link");
    let result = rest
        .iter()
        .find(|e| e["kind"] == "tool_result")
        .expect("tool_result");
    assert_eq!(result["is_error"], false, "{result}");
    assert!(result.to_string().contains("approved-run"), "{result}");
    // Used once: a second tap says so.
    let again = anonymous
        .post(live.app.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("decision=deny")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
}

/// Reads terminal frames until the accumulated output contains `needle`; returns the text
/// control messages seen meanwhile and the output.
async fn read_terminal_until(socket: &mut Socket, needle: &str) -> (Vec<Value>, String) {
    let mut controls = Vec::new();
    let mut output = String::new();
    let deadline = tokio::time::Instant::now() + TURN_BOUND;
    while !output.contains(needle) {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("{needle:?} not seen; output so far: {output:?}"))
            .expect("socket open")
            .unwrap();
        match frame {
            Message::Binary(data) => output.push_str(&String::from_utf8_lossy(&data)),
            Message::Text(text) => controls.push(serde_json::from_str(&text).unwrap()),
            _ => {}
        }
    }
    (controls, output)
}

async fn terminal(live: &Live, session: Uuid, token: &str, query: &str) -> Result<Socket, u16> {
    let url = format!(
        "{}/api/v1/sessions/{session}/terminal?{query}",
        live.app.address.replace("http://", "ws://")
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(err) => panic!("{err}"),
    }
}

#[tokio::test]
async fn a_terminal_echoes_resizes_and_reattaches_with_its_scrollback() {
    // No periodic rights check during the test: the demotion below must act at once.
    let app = helpers::spawn_app_with(helpers::Options {
        live_recheck_secs: 3600,
        ..helpers::Options::default()
    })
    .await;
    let live = Live::on_app(app, |_| {}).await;
    let session = live.running_session("default").await;
    let mut term = terminal(&live, session, &live.token, "program=bash&cols=100&rows=30")
        .await
        .expect("terminal opens");
    term.send(Message::Binary(b"echo hello-$((40+2))\n".to_vec().into()))
        .await
        .unwrap();
    let (controls, output) = read_terminal_until(&mut term, "hello-42").await;
    assert_eq!(controls[0]["type"], "opened", "{controls:?}");
    let pty_id = controls[0]["pty_id"].as_u64().unwrap();
    assert!(output.contains("hello-42"));
    // Resize, then ask the terminal its size.
    term.send(Message::Text(
        json!({"type": "resize", "cols": 123, "rows": 45})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    term.send(Message::Binary(b"stty size\n".to_vec().into()))
        .await
        .unwrap();
    read_terminal_until(&mut term, "45 123").await;
    // A second terminal in the same session is another shell.
    let mut second = terminal(&live, session, &live.token, "program=bash")
        .await
        .expect("second terminal");
    second
        .send(Message::Binary(b"echo second-$$\n".to_vec().into()))
        .await
        .unwrap();
    let (controls, _) = read_terminal_until(&mut second, "second-").await;
    assert_ne!(controls[0]["pty_id"].as_u64(), Some(pty_id));
    // Drop the first socket; the shell lives on and re-attaches with what it printed.
    drop(term);
    let mut again = terminal(&live, session, &live.token, &format!("pty_id={pty_id}"))
        .await
        .expect("re-attach");
    let (controls, scrollback) = read_terminal_until(&mut again, "hello-42").await;
    assert_eq!(controls[0]["type"], "attached");
    assert_eq!(controls[0]["pty_id"].as_u64(), Some(pty_id));
    assert!(scrollback.contains("45 123"), "{scrollback:?}");
    again
        .send(Message::Binary(b"echo still-$((1+1))\n".to_vec().into()))
        .await
        .unwrap();
    read_terminal_until(&mut again, "still-2").await;

    // Owners and admins only: viewers and other members are refused, other orgs see nothing.
    let org: Uuid = sqlx::query_scalar("SELECT org_id FROM sessions WHERE id = $1")
        .bind(session)
        .fetch_one(&live.app.db.pool)
        .await
        .unwrap();
    let (_, viewer) = live.app.user_with_role(org, Role::Viewer).await;
    let (_, member) = live.app.user_with_role(org, Role::Member).await;
    let (admin_id, admin) = live.app.user_with_role(org, Role::Admin).await;
    let (_, other) = live.app.other_org().await;
    assert_eq!(terminal(&live, session, &viewer, "").await.err(), Some(403));
    assert_eq!(terminal(&live, session, &member, "").await.err(), Some(404));
    assert_eq!(terminal(&live, session, &other, "").await.err(), Some(404));
    let mut admins = terminal(&live, session, &admin, "")
        .await
        .expect("an admin opens a terminal");
    admins
        .send(Message::Binary(b"echo admin-$((6*7))\n".to_vec().into()))
        .await
        .unwrap();
    read_terminal_until(&mut admins, "admin-42").await;
    // An admin demoted while their terminal is open loses it at once, with the reason.
    let (status, body) = live
        .call(
            Method::PATCH,
            &format!("/api/v1/members/{admin_id}"),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (texts, close) = tokio::time::timeout(TURN_BOUND, async {
        let mut texts = Vec::new();
        loop {
            match admins.next().await {
                Some(Ok(Message::Text(text))) => {
                    texts.push(serde_json::from_str::<Value>(&text).unwrap())
                }
                Some(Ok(Message::Close(frame))) => break (texts, frame.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
                other => panic!("terminal socket ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("the demoted admin's terminal closes");
    assert_eq!(close, Some(1008), "{texts:?}");
    assert_eq!(
        texts.last().map(|t| t["type"].clone()),
        Some(json!("error")),
        "{texts:?}"
    );
    assert_eq!(
        terminal(&live, session, &live.token, "program=zsh")
            .await
            .err(),
        Some(400)
    );
}

#[tokio::test]
async fn the_claude_tui_starts_at_its_prompt_in_a_terminal() {
    let live = Live::start().await;
    let session = live.running_session("default").await;
    let mut tui = terminal(
        &live,
        session,
        &live.token,
        "program=claude&cols=120&rows=40",
    )
    .await
    .expect("terminal opens");
    // Onboarding, the trust dialog and the API-key question are pre-answered: the footer of
    // the prompt screen shows up (claude-cli.md §8).
    let (_, screen) = read_terminal_until(&mut tui, "mode on").await;
    assert!(!screen.contains("trust"), "no trust dialog: {screen:?}");
}

#[tokio::test]
async fn session_controls_restart_resumes_clear_forgets_and_model_and_mode_switch_live() {
    let live = Live::start().await;
    let session = live.running_session("default").await;
    let mut socket = live.events(session, 0).await;
    let mut last = 0;
    let turn = |prompt: String| {
        let live = &live;
        async move { live.queue(session, &prompt).await }
    };
    let first = turn("please remember the word apple".into()).await;
    let events = collect(&mut socket, last, finished(first)).await;
    last = events.last().unwrap()["seq"].as_i64().unwrap();

    // Restart the sandbox: the conversation resumes.
    let (status, body) = live
        .call(
            Method::POST,
            &format!("/api/v1/sessions/{session}/restart"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = collect(&mut socket, last, |e| {
        e["kind"] == "session_controlled" && e["action"] == "restart"
    })
    .await;
    last = events.last().unwrap()["seq"].as_i64().unwrap();
    let resumed = turn("[[echo]] after the restart".into()).await;
    let events = collect(&mut socket, last, finished(resumed)).await;
    last = events.last().unwrap()["seq"].as_i64().unwrap();
    let text = live.task(resumed).await["result"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    // The first exchange (user + assistant) came along: the conversation resumed.
    assert!(
        text.contains("received 3 messages"),
        "resumed conversation: {text}"
    );

    // /clear: the next turn starts a new conversation.
    let (status, body) = live
        .call(
            Method::POST,
            &format!("/api/v1/sessions/{session}/clear"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cleared = turn("[[echo]] after the clear".into()).await;
    let events = collect(&mut socket, last, finished(cleared)).await;
    last = events.last().unwrap()["seq"].as_i64().unwrap();
    assert!(events
        .iter()
        .any(|e| e["kind"] == "session_controlled" && e["action"] == "clear"));
    let task = live.task(cleared).await;
    let text = task["result"]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{task}"))
        .to_owned();
    assert!(
        text.contains("received 1 message"),
        "a new conversation: {text}"
    );

    // Model and permission mode switch the live process.
    let (status, body) = live
        .call(
            Method::PATCH,
            &format!("/api/v1/sessions/{session}"),
            Some(json!({"model": "claude-haiku-4-5", "permission_mode": "acceptEdits"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["model"], "claude-haiku-4-5");
    assert_eq!(body["permission_mode"], "acceptEdits");
    let (status, err) = live
        .call(
            Method::PATCH,
            &format!("/api/v1/sessions/{session}"),
            Some(json!({"permission_mode": "yolo"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error"]["field"], "permission_mode");
    let edit = turn("[[tool:Write:/workspace/accepted.txt:written without asking]]".into()).await;
    let events = collect(&mut socket, last, finished(edit)).await;
    assert!(
        !events.iter().any(|e| e["kind"] == "permission_requested"),
        "acceptEdits lets the write through"
    );
    let controls: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "session_controlled")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(controls, ["set_model", "set_permission_mode"]);
    let requests: Vec<Value> = reqwest::get(format!("{}/_fake/requests", live.fake_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let last_model = requests
        .iter()
        .rev()
        .find(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/v1/messages"))
        })
        .map(|r| r["body"]["model"].clone());
    assert_eq!(last_model, Some(json!("claude-haiku-4-5")));
    // Clearing while a turn runs is refused.
    let slow = turn("[[slow:100:50]]".into()).await;
    collect(
        &mut socket,
        events.last().unwrap()["seq"].as_i64().unwrap(),
        |e| e["kind"] == "task_started" && e["task_id"] == slow.to_string(),
    )
    .await;
    let (status, _) = live
        .call(
            Method::POST,
            &format!("/api/v1/sessions/{session}/clear"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_queue_survives_restarts_of_the_api_and_session_manager() {
    let mut live = Live::start().await;
    let session = live.running_session("default").await;
    let mut socket = live.events(session, 0).await;
    let first = live.queue(session, "first [[slow:30:50]]").await;
    let second = live.queue(session, "second").await;
    let third = live.queue(session, "third").await;
    let seen = collect(&mut socket, 0, |e| {
        e["kind"] == "task_started" && e["task_id"] == first.to_string()
    })
    .await;
    let last = seen.last().unwrap()["seq"].as_i64().unwrap();
    drop(socket);
    // Both services go away mid-turn and come back.
    live.restart_session_manager().await;
    live.app.restart().await;
    let mut socket = live.events(session, last).await;
    collect(&mut socket, last, finished(third)).await;
    let (_, history) = live
        .call(
            Method::GET,
            &format!("/api/v1/sessions/{session}/events?limit=1000"),
            None,
        )
        .await;
    let started: Vec<String> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "task_started")
        .map(|e| e["task_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        started,
        [first.to_string(), second.to_string(), third.to_string()],
        "each task started once, in order"
    );
    for id in [first, second, third] {
        assert_eq!(live.task(id).await["state"], "succeeded", "{id}");
    }
}

#[tokio::test]
async fn a_prompt_with_an_image_reaches_the_model_as_an_image_block() {
    const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let live = Live::start().await;
    let session = live.running_session("default").await;
    let mut socket = live.events(session, 0).await;
    let prompt = format!("describe image-{}", Uuid::now_v7().simple());
    let (status, task) = live
        .call(
            Method::POST,
            &format!("/api/v1/sessions/{session}/tasks"),
            Some(json!({"prompt": prompt, "images": [{"media_type": "image/png", "data": PNG}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    assert_eq!(task["image_count"], 1);
    let task: Uuid = task["id"].as_str().unwrap().parse().unwrap();
    let events = collect(&mut socket, 0, finished(task)).await;
    let result = live.task(task).await;
    assert_eq!(result["state"], "succeeded", "{result}");
    // The prompt's echo proves delivery, and the event log keeps no copy of the image.
    assert!(
        events.iter().any(|e| e["kind"] == "user_message"
            && e["is_replay"] == true
            && e["text"].as_str() == Some(prompt.as_str())),
        "the prompt was echoed: {events:?}"
    );
    assert!(
        !events.iter().any(|e| e.to_string().contains(PNG)),
        "no event carries the image's bytes"
    );
    let requests: Vec<Value> = reqwest::get(format!("{}/_fake/requests", live.fake_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let content = requests
        .iter()
        .filter_map(|r| r["body"]["messages"].as_array())
        .flatten()
        .filter(|m| m["role"] == "user")
        .map(|m| &m["content"])
        .find(|c| c.to_string().contains(&prompt))
        .unwrap_or_else(|| panic!("no model request carries the prompt: {requests:?}"));
    let blocks = content.as_array().expect("content blocks");
    let image = blocks
        .iter()
        .find(|b| b["type"] == "image")
        .unwrap_or_else(|| panic!("no image block in {content}"));
    assert_eq!(
        image["source"],
        json!({"type": "base64", "media_type": "image/png", "data": PNG})
    );
    let image_at = blocks.iter().position(|b| b["type"] == "image").unwrap();
    let text_at = blocks
        .iter()
        .position(|b| {
            b["type"] == "text" && b["text"].as_str().map(str::trim_end) == Some(prompt.as_str())
        })
        .unwrap_or_else(|| panic!("no text block with the prompt in {content}"));
    assert!(
        image_at < text_at,
        "the image comes before the text: {content}"
    );
}
