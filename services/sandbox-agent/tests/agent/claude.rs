use crate::helpers::{attach_claude, next_event, next_output, send, start, TestAgent};
use rc_agent_protocol::{ClaudeEvent, ClaudeRequest};
use std::collections::BTreeSet;

const PATH: (&str, &str) = ("PATH", "/usr/bin:/bin");

/// Echoes each input line; `burst` prints b0..b199 slowly enough that the output spans a
/// disconnect, a replay and the live stream after it.
const ECHO_SCRIPT: &str = r#"
while read -r l; do
  if [ "$l" = burst ]; then
    i=0
    while [ $i -lt 200 ]; do echo "b$i"; i=$((i+1)); sleep 0.01; done
  else
    echo "$l"
  fi
done
"#;

#[tokio::test]
async fn output_is_numbered_and_replayed_exactly_after_a_reconnect() {
    let agent = TestAgent::spawn().await;
    let (client, _tunnels, attach) = agent.connect().await;
    let (mut channel, attached) = attach_claude(&client, 0).await;
    assert_eq!(
        attached,
        ClaudeEvent::Attached {
            running: false,
            pid: None,
            next_seq: 1,
            oldest_buffered_seq: None
        }
    );

    send(
        &mut channel,
        start("/bin/sh", &["-c", ECHO_SCRIPT], &[PATH], agent.dir.path()),
    )
    .await;
    let ClaudeEvent::Started { pid } = next_event(&mut channel).await else {
        panic!("expected started");
    };
    send(
        &mut channel,
        start("/bin/sh", &["-c", "true"], &[PATH], agent.dir.path()),
    )
    .await;
    match next_event(&mut channel).await {
        ClaudeEvent::Error { message } => assert!(message.contains("already running"), "{message}"),
        other => panic!("expected an error for a second start, got {other:?}"),
    }

    send(
        &mut channel,
        ClaudeRequest::Input {
            line: "hello".to_owned(),
        },
    )
    .await;
    assert_eq!(next_output(&mut channel).await, (1, "hello".to_owned()));

    send(
        &mut channel,
        ClaudeRequest::Input {
            line: "burst".to_owned(),
        },
    )
    .await;
    // Read b0..b9 (seq 2..=11), acknowledge up to b4 (seq 6), then lose the controller.
    for i in 0..10u64 {
        assert_eq!(next_output(&mut channel).await, (i + 2, format!("b{i}")));
    }
    send(&mut channel, ClaudeRequest::Ack { seq: 6 }).await;
    attach.kill().await;
    tokio::time::timeout(crate::helpers::TIMEOUT, client.closed())
        .await
        .expect("the client notices the dead attach process");
    drop(channel);

    let (client, _tunnels, _attach) = agent.connect().await;
    let (mut channel, attached) = attach_claude(&client, 6).await;
    let ClaudeEvent::Attached {
        running,
        pid: attached_pid,
        oldest_buffered_seq,
        ..
    } = attached
    else {
        unreachable!()
    };
    assert!(running);
    assert_eq!(attached_pid, Some(pid));
    assert_eq!(
        oldest_buffered_seq,
        Some(7),
        "nothing acknowledged is kept, nothing else lost"
    );
    // Replay (b5.. as far as the burst got) and live lines (the rest) as one gap-free run.
    for i in 5..200u64 {
        assert_eq!(next_output(&mut channel).await, (i + 2, format!("b{i}")));
    }
    send(
        &mut channel,
        ClaudeRequest::Input {
            line: "after".to_owned(),
        },
    )
    .await;
    assert_eq!(next_output(&mut channel).await, (202, "after".to_owned()));

    send(&mut channel, ClaudeRequest::Stop { grace_ms: 5_000 }).await;
    assert_eq!(
        next_event(&mut channel).await,
        ClaudeEvent::Exited {
            seq: 203,
            code: None,
            signal: Some(15)
        }
    );
    send(
        &mut channel,
        ClaudeRequest::Input {
            line: "late".to_owned(),
        },
    )
    .await;
    assert!(matches!(
        next_event(&mut channel).await,
        ClaudeEvent::Error { .. }
    ));
}

#[tokio::test]
async fn an_exit_while_detached_is_replayed() {
    let agent = TestAgent::spawn().await;
    let flag = agent.path("flag");
    let flag_env = flag.to_string_lossy().into_owned();
    let (client, _tunnels, attach) = agent.connect().await;
    let (mut channel, _) = attach_claude(&client, 0).await;
    // Bounded loop: the child never outlives the test by much, whatever happens.
    let script = r#"echo start; i=0
        while [ ! -e "$FLAG" ] && [ $i -lt 1500 ]; do sleep 0.02; i=$((i+1)); done
        echo after; exit 3"#;
    send(
        &mut channel,
        start(
            "/bin/sh",
            &["-c", script],
            &[PATH, ("FLAG", &flag_env)],
            agent.dir.path(),
        ),
    )
    .await;
    assert!(matches!(
        next_event(&mut channel).await,
        ClaudeEvent::Started { .. }
    ));
    assert_eq!(next_output(&mut channel).await, (1, "start".to_owned()));
    send(&mut channel, ClaudeRequest::Ack { seq: 1 }).await;
    attach.kill().await;
    drop(channel);
    drop(client);

    std::fs::write(&flag, b"").expect("create flag");

    let (client, _tunnels, _attach) = agent.connect().await;
    let (mut channel, _) = attach_claude(&client, 1).await;
    assert_eq!(next_output(&mut channel).await, (2, "after".to_owned()));
    assert_eq!(
        next_event(&mut channel).await,
        ClaudeEvent::Exited {
            seq: 3,
            code: Some(3),
            signal: None
        }
    );

    // A later attach sees the process gone and nothing left after the acknowledged exit.
    send(&mut channel, ClaudeRequest::Ack { seq: 3 }).await;
    let (_channel, attached) = attach_claude(&client, 3).await;
    assert_eq!(
        attached,
        ClaudeEvent::Attached {
            running: false,
            pid: None,
            next_seq: 4,
            oldest_buffered_seq: None
        }
    );
}

#[tokio::test]
async fn the_child_gets_exactly_the_given_environment_and_cwd() {
    let agent = TestAgent::spawn().await;
    let (client, _tunnels, _attach) = agent.connect().await;
    let (mut channel, _) = attach_claude(&client, 0).await;

    send(
        &mut channel,
        start(
            "/usr/bin/env",
            &[],
            &[("ONLY", "this"), ("ALSO", "that=too")],
            agent.dir.path(),
        ),
    )
    .await;
    assert!(matches!(
        next_event(&mut channel).await,
        ClaudeEvent::Started { .. }
    ));
    let mut lines = BTreeSet::new();
    let exit_seq = loop {
        match next_event(&mut channel).await {
            ClaudeEvent::Output { line, .. } => {
                lines.insert(line);
            }
            ClaudeEvent::Exited { seq, code, signal } => {
                assert_eq!((code, signal), (Some(0), None));
                break seq;
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    let expected: BTreeSet<String> = ["ONLY=this", "ALSO=that=too"].map(str::to_owned).into();
    assert_eq!(lines, expected);
    assert_eq!(exit_seq, 3);

    // A second process continues the numbering, in the requested directory.
    send(
        &mut channel,
        start("/bin/pwd", &["-P"], &[], agent.dir.path()),
    )
    .await;
    assert!(matches!(
        next_event(&mut channel).await,
        ClaudeEvent::Started { .. }
    ));
    let cwd = agent.dir.path().canonicalize().expect("canonical temp dir");
    assert_eq!(
        next_output(&mut channel).await,
        (4, cwd.to_string_lossy().into_owned())
    );
    assert!(matches!(
        next_event(&mut channel).await,
        ClaudeEvent::Exited {
            seq: 5,
            code: Some(0),
            ..
        }
    ));

    // A program that cannot start is an error, not an exit.
    send(
        &mut channel,
        start("/nonexistent/program", &[], &[], agent.dir.path()),
    )
    .await;
    match next_event(&mut channel).await {
        ClaudeEvent::Error { message } => {
            assert!(message.contains("/nonexistent/program"), "{message}")
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn stderr_is_live_and_close_input_ends_the_child() {
    let agent = TestAgent::spawn().await;
    let (client, _tunnels, _attach) = agent.connect().await;
    let (mut channel, _) = attach_claude(&client, 0).await;
    let script = "read -r l; echo \"warn: $l\" >&2; cat; echo done";
    send(
        &mut channel,
        start("/bin/sh", &["-c", script], &[PATH], agent.dir.path()),
    )
    .await;
    assert!(matches!(
        next_event(&mut channel).await,
        ClaudeEvent::Started { .. }
    ));
    send(
        &mut channel,
        ClaudeRequest::Input {
            line: "careful".to_owned(),
        },
    )
    .await;
    let stderr = tokio::time::timeout(crate::helpers::TIMEOUT, channel.recv())
        .await
        .expect("stderr in time")
        .expect("channel open")
        .expect("valid event");
    assert_eq!(
        stderr,
        ClaudeEvent::Stderr {
            line: "warn: careful".to_owned()
        }
    );
    send(
        &mut channel,
        ClaudeRequest::Input {
            line: "x".repeat(100_000),
        },
    )
    .await;
    assert_eq!(next_output(&mut channel).await, (1, "x".repeat(100_000)));
    send(&mut channel, ClaudeRequest::CloseInput).await;
    assert_eq!(next_output(&mut channel).await, (2, "done".to_owned()));
    assert!(matches!(
        next_event(&mut channel).await,
        ClaudeEvent::Exited {
            seq: 3,
            code: Some(0),
            ..
        }
    ));
}

#[tokio::test]
async fn long_lines_up_to_the_limit_are_forwarded() {
    let agent = TestAgent::spawn().await;
    let (client, _tunnels, _attach) = agent.connect().await;
    let (mut channel, _) = attach_claude(&client, 0).await;
    // 4 MiB of JSON-ish text with quotes (escaped on the wire), then an 8 MiB + 1 line that
    // is dropped, then a short line: the channel survives both.
    let script = r#"
        head -c 4194304 /dev/zero | tr '\0' '"'; echo
        head -c 8388609 /dev/zero | tr '\0' 'y'; echo
        echo ok"#;
    send(
        &mut channel,
        start("/bin/sh", &["-c", script], &[PATH], agent.dir.path()),
    )
    .await;
    assert!(matches!(
        next_event(&mut channel).await,
        ClaudeEvent::Started { .. }
    ));
    let (seq, line) = next_output(&mut channel).await;
    assert_eq!(seq, 1);
    assert_eq!(line.len(), 4 * 1024 * 1024);
    assert!(line.bytes().all(|b| b == b'"'));
    assert_eq!(next_output(&mut channel).await, (2, "ok".to_owned()));
    assert!(matches!(
        next_event(&mut channel).await,
        ClaudeEvent::Exited {
            seq: 3,
            code: Some(0),
            ..
        }
    ));
}
