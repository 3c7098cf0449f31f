use crate::helpers::{TestAgent, TIMEOUT};
use rc_agent_protocol::{PtyChannel, PtyEvent, PtyRequest};

async fn next(channel: &mut PtyChannel) -> PtyEvent {
    tokio::time::timeout(TIMEOUT, channel.recv())
        .await
        .expect("timed out waiting for a pty event")
        .expect("pty channel closed")
        .expect("malformed pty event")
}

/// Reads terminal output until it contains `needle`; returns everything read.
async fn read_until(channel: &mut PtyChannel, needle: &str) -> String {
    let mut screen = Vec::new();
    loop {
        match next(channel).await {
            PtyEvent::Data { data } => {
                screen.extend_from_slice(&data);
                let text = String::from_utf8_lossy(&screen);
                if text.contains(needle) {
                    return text.into_owned();
                }
            }
            other => panic!(
                "expected output containing {needle:?}, got {other:?} after {:?}",
                String::from_utf8_lossy(&screen)
            ),
        }
    }
}

async fn type_line(channel: &mut PtyChannel, line: &str) {
    let data = format!("{line}\n").into_bytes();
    channel
        .send(PtyRequest::Data { data })
        .await
        .expect("send keystrokes");
}

#[tokio::test]
async fn a_terminal_runs_a_shell_and_survives_a_reconnect() {
    let agent = TestAgent::spawn().await;
    let (client, _tunnels, attach) = agent.connect().await;
    let mut pty = client.open_pty().await.expect("open pty channel");
    let open = PtyRequest::Open {
        cols: 80,
        rows: 24,
        command: vec!["/bin/sh".to_owned()],
        env: vec![
            ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
            ("TERM".to_owned(), "dumb".to_owned()),
            ("PS1".to_owned(), "$ ".to_owned()),
        ],
        cwd: agent.dir.path().to_string_lossy().into_owned(),
    };
    pty.send(open).await.expect("send open");
    let PtyEvent::Opened { pty_id, pid } = next(&mut pty).await else {
        panic!("expected opened");
    };

    // The typed command echoes as `$((6*7))`; only the shell's answer contains 42.
    type_line(&mut pty, "echo $((6*7))").await;
    read_until(&mut pty, "42").await;
    pty.send(PtyRequest::Resize {
        cols: 100,
        rows: 40,
    })
    .await
    .expect("resize");
    type_line(&mut pty, "stty size").await;
    read_until(&mut pty, "40 100").await;

    // The controller dies; the terminal lives on and keeps its recent output.
    attach.kill().await;
    drop(pty);
    drop(client);
    let (client, _tunnels, _attach) = agent.connect().await;
    let mut pty = client.open_pty().await.expect("open pty channel");
    pty.send(PtyRequest::Attach { pty_id })
        .await
        .expect("send attach");
    match next(&mut pty).await {
        PtyEvent::Attached {
            pty_id: attached,
            pid: attached_pid,
            scrollback,
        } => {
            assert_eq!((attached, attached_pid), (pty_id, pid));
            let scrollback = String::from_utf8_lossy(&scrollback);
            assert!(
                scrollback.contains("42") && scrollback.contains("40 100"),
                "{scrollback:?}"
            );
        }
        other => panic!("expected attached, got {other:?}"),
    }

    type_line(&mut pty, "exit 7").await;
    loop {
        match next(&mut pty).await {
            PtyEvent::Data { .. } => {}
            PtyEvent::Exit { code, signal } => {
                assert_eq!((code, signal), (Some(7), None));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        tokio::time::timeout(TIMEOUT, pty.recv())
            .await
            .expect("end in time")
            .is_none(),
        "the agent closes the stream after exit"
    );

    // The terminal is gone now.
    let mut again = client.open_pty().await.expect("open pty channel");
    again
        .send(PtyRequest::Attach { pty_id })
        .await
        .expect("send attach");
    assert!(matches!(next(&mut again).await, PtyEvent::Error { .. }));
}

#[tokio::test]
async fn a_newer_stream_takes_a_terminal_over_and_close_hangs_up() {
    let agent = TestAgent::spawn().await;
    let (client, _tunnels, _attach) = agent.connect().await;
    let mut first = client.open_pty().await.expect("open pty channel");
    first
        .send(PtyRequest::Open {
            cols: 80,
            rows: 24,
            command: vec![],
            env: vec![
                ("SHELL".to_owned(), "/bin/sh".to_owned()),
                ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
            ],
            cwd: "/".to_owned(),
        })
        .await
        .expect("send open");
    let PtyEvent::Opened { pty_id, .. } = next(&mut first).await else {
        panic!("expected opened");
    };

    let mut second = client.open_pty().await.expect("open pty channel");
    second
        .send(PtyRequest::Attach { pty_id })
        .await
        .expect("send attach");
    assert!(matches!(next(&mut second).await, PtyEvent::Attached { .. }));
    // The first stream is told and closed.
    loop {
        match next(&mut first).await {
            PtyEvent::Data { .. } => {}
            PtyEvent::Error { message } => {
                assert!(message.contains("another stream"), "{message}");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    second.send(PtyRequest::Close).await.expect("send close");
    loop {
        match next(&mut second).await {
            PtyEvent::Data { .. } => {}
            PtyEvent::Exit { signal, .. } => {
                assert_eq!(signal, Some(1), "SIGHUP");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
