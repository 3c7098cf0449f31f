//! The real Claude Code CLI run by the agent, its model traffic tunnelled through the
//! controller to the scripted fake model server: the whole sandbox path minus Docker.
//!
//! Needs the pinned native CLI (scripts/install-claude-cli.sh, or REMOTE_CLAUDE_CLI_BIN);
//! without it, or with REMOTE_CLAUDE_SKIP_CLI_TESTS=1, the test prints a note and passes.

use crate::helpers::{attach_claude, send, start, TestAgent};
use fake_anthropic::{Config, FakeAnthropic};
use rc_agent_protocol::{ClaudeEvent, ClaudeRequest};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

const CLI_VERSION: &str = "2.1.328";
/// A cold CLI start takes about a second (docs/claude-cli.md §9); this only catches hangs on
/// a loaded machine.
const TURN_TIMEOUT: Duration = Duration::from_secs(120);
const USER_LINE: &str = r#"{"type":"user","message":{"role":"user","content":"hello"},"parent_tool_use_id":null,"session_id":""}"#;

fn claude_bin() -> Option<PathBuf> {
    if std::env::var_os("REMOTE_CLAUDE_SKIP_CLI_TESTS").is_some_and(|v| v == "1") {
        eprintln!("REMOTE_CLAUDE_SKIP_CLI_TESTS=1: skipping the real-CLI test");
        return None;
    }
    let path = match std::env::var_os("REMOTE_CLAUDE_CLI_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            let cache = std::env::var_os("REMOTE_CLAUDE_CACHE_DIR")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME")
                        .map(|home| PathBuf::from(home).join(".cache/remote-claude"))
                })?;
            cache.join("claude-cli").join(CLI_VERSION).join("claude")
        }
    };
    if !path.is_file() {
        eprintln!(
            "Claude Code CLI not found at {}: skipping the real-CLI test \
             (scripts/install-claude-cli.sh installs it)",
            path.display()
        );
        return None;
    }
    Some(path)
}

#[tokio::test]
async fn the_real_cli_completes_a_turn_through_the_agent() {
    let Some(bin) = claude_bin() else { return };

    let fake = FakeAnthropic::bind(&Config {
        port: 0,
        workers: 1,
        ..Config::default()
    })
    .expect("bind the fake model server");
    let fake_port = fake.port();
    let (stop_fake, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(fake.run_until_stopped(async move {
        let _ = stopped.await;
    }));

    let agent = TestAgent::spawn().await;
    let (client, mut tunnels, _attach) = agent.connect().await;
    // What session-manager's model proxy will do; here a plain pipe to the fake.
    let tunnelled = Arc::new(AtomicUsize::new(0));
    let count = tunnelled.clone();
    tokio::spawn(async move {
        while let Some(mut tunnel) = tunnels.next().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut fake = TcpStream::connect(("127.0.0.1", fake_port))
                    .await
                    .expect("connect to the fake");
                let _ = tokio::io::copy_bidirectional(&mut tunnel, &mut fake).await;
            });
        }
    });

    let home = agent.path("home");
    let work = agent.path("work");
    std::fs::create_dir_all(&home).expect("home dir");
    std::fs::create_dir_all(&work).expect("work dir");
    let base_url = format!("http://127.0.0.1:{}", agent.model_port);
    let home_str = home.to_string_lossy().into_owned();
    let path_env = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".to_owned());
    let env = [
        ("HOME", home_str.as_str()),
        ("PATH", path_env.as_str()),
        ("LANG", "C.UTF-8"),
        ("ANTHROPIC_BASE_URL", base_url.as_str()),
        ("ANTHROPIC_API_KEY", "sk-ant-dummy-0123456789abcdefghij"),
        // Without it the CLI also calls api.anthropic.com directly (claude-cli.md §7.4).
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
        ("DISABLE_AUTOUPDATER", "1"),
    ];
    let args = [
        "-p",
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
        "--permission-prompt-tool",
        "stdio",
        "--model",
        "claude-sonnet-4-5",
    ];

    let (mut channel, _) = attach_claude(&client, 0).await;
    send(
        &mut channel,
        start(&bin.to_string_lossy(), &args, &env, &work),
    )
    .await;
    let mut stderr = Vec::new();
    let started = tokio::time::timeout(TURN_TIMEOUT, channel.recv())
        .await
        .expect("started in time");
    assert!(
        matches!(started, Some(Ok(ClaudeEvent::Started { .. }))),
        "{started:?}"
    );
    send(
        &mut channel,
        ClaudeRequest::Input {
            line: USER_LINE.to_owned(),
        },
    )
    .await;

    let deadline = tokio::time::Instant::now() + TURN_TIMEOUT;
    let mut last_seq = 0;
    let result = loop {
        let event = tokio::time::timeout_at(deadline, channel.recv())
            .await
            .unwrap_or_else(|_| panic!("no result within {TURN_TIMEOUT:?}; stderr: {stderr:#?}"))
            .expect("channel open")
            .expect("valid event");
        match event {
            ClaudeEvent::Output { seq, line } => {
                assert_eq!(seq, last_seq + 1, "gap-free numbering");
                last_seq = seq;
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
                if value["type"] == "result" {
                    break value;
                }
            }
            ClaudeEvent::Stderr { line } => stderr.push(line),
            ClaudeEvent::Exited { code, signal, .. } => {
                panic!("claude exited ({code:?}, {signal:?}) before a result; stderr: {stderr:#?}")
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(result["is_error"], false, "{result}");
    assert!(
        tunnelled.load(Ordering::SeqCst) > 0,
        "the model call went through a tunnel"
    );

    // Closing stdin ends the CLI cleanly (claude-cli.md §2).
    send(&mut channel, ClaudeRequest::CloseInput).await;
    loop {
        match tokio::time::timeout_at(deadline, channel.recv())
            .await
            .expect("exit in time")
            .expect("channel open")
            .expect("valid event")
        {
            ClaudeEvent::Exited { code, .. } => {
                assert_eq!(code, Some(0), "stderr: {stderr:#?}");
                break;
            }
            ClaudeEvent::Stderr { line } => stderr.push(line),
            _ => {}
        }
    }
    let _ = stop_fake.send(());
}
