//! The real Claude Code CLI against the fake: proves the fake speaks the API well enough for
//! the CLI's agent loop, and pins what the CLI sends and reports (docs/claude-cli.md §1, §7).
//!
//! Needs the native binary: `scripts/install-claude-cli.sh` (or `REMOTE_CLAUDE_CLI_BIN=/path/claude`).
//! Without it these tests FAIL, so a CI machine cannot pass them by accident; set
//! `REMOTE_CLAUDE_SKIP_CLI_TESTS=1` to skip them deliberately.

mod common;

use fake_anthropic::reply::{self, Plan};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A cold `claude -p` takes ~1 s here (docs: claude-cli.md §9); this bound only catches hangs.
const CLI_TIMEOUT: Duration = Duration::from_secs(120);
/// Long enough that the CLI approves it as the key of the session (it keeps the last 20 chars).
const FAKE_KEY: &str = "sk-ant-fake-0123456789abcdefghij";

/// The CLI binary, or `None` when the tests are deliberately skipped.
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
                        .map(|home| Path::new(&home).join(".cache/remote-claude"))
                })
                .expect("REMOTE_CLAUDE_CACHE_DIR or HOME must be set to find the Claude CLI");
            cache.join("claude-cli/claude")
        }
    };
    assert!(
        path.is_file(),
        "Claude Code CLI not found at {}: run scripts/install-claude-cli.sh \
         (or set REMOTE_CLAUDE_CLI_BIN, or REMOTE_CLAUDE_SKIP_CLI_TESTS=1 to skip these tests)",
        path.display()
    );
    Some(path)
}

/// A fresh directory removed on drop (HOME and cwd of one CLI run).
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "fake-anthropic-{label}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Run {
    lines: Vec<Value>,
    stderr: String,
}

impl Run {
    fn result(&self) -> &Value {
        self.lines
            .iter()
            .rev()
            .find(|l| l["type"] == "result")
            .unwrap_or_else(|| panic!("no result line; stderr:\n{}", self.stderr))
    }
}

/// `claude -p PROMPT --output-format stream-json --verbose` with a clean environment: only the
/// fake as API, a throw-away HOME and cwd, no inherited ANTHROPIC_* or CLAUDE_* settings.
async fn run_claude(bin: &Path, base_url: &str, prompt: &str, extra: &[&str]) -> Run {
    let home = TempDir::new("home");
    let work = TempDir::new("work");
    let mut command = tokio::process::Command::new(bin);
    command
        .arg("-p")
        .arg(prompt)
        .args(["--output-format", "stream-json", "--verbose"])
        .args(extra)
        .current_dir(&work.0)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home.0)
        .env("LANG", "C.UTF-8")
        .env("SHELL", "/bin/bash")
        .env("ANTHROPIC_BASE_URL", base_url)
        .env("ANTHROPIC_API_KEY", FAKE_KEY)
        // Without it the CLI also calls api.anthropic.com directly (§7.4), which this machine
        // cannot reach: every run would stall on retries.
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        // A one-shot run waits 3 s for stdin data on a pipe (§2); /dev/null avoids that.
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // If the timeout below fires, dropping the future kills the CLI.
        .kill_on_drop(true);
    let started = Instant::now();
    let child = command.spawn().expect("spawn claude");
    let output = tokio::time::timeout(CLI_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("claude did not finish within {CLI_TIMEOUT:?}"))
        .expect("claude output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!(
        "claude -p {prompt:?} took {:?} (exit {:?})",
        started.elapsed(),
        output.status.code()
    );
    let lines = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}\nstderr:\n{stderr}"))
        })
        .collect();
    assert!(
        output.status.success(),
        "claude exited with {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    Run { lines, stderr }
}

/// The `/v1/messages` entries of the fake's request log.
async fn message_requests(fake: &common::Fake) -> Vec<Value> {
    fake.requests()
        .await
        .into_iter()
        .filter(|e| {
            e["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/v1/messages"))
        })
        .collect()
}

/// The usage the fake reported for a logged request, recomputed from what was logged.
fn planned_usage(entry: &Value) -> reply::Usage {
    let bytes = entry["body_bytes"].as_u64().expect("body_bytes") as usize;
    match reply::plan(&entry["body"], bytes).0 {
        Plan::Message(reply) => reply.usage,
        Plan::Error(err) => panic!("logged request was answered with an error: {err:?}"),
    }
}

#[tokio::test]
async fn real_cli_prints_the_fake_text_and_usage_in_its_result() {
    let Some(bin) = claude_bin() else { return };
    let fake = common::start();
    let run = run_claude(&bin, &fake.base, "Say hello [[text]]", &[]).await;

    let init = run
        .lines
        .iter()
        .find(|l| l["type"] == "system" && l["subtype"] == "init")
        .expect("system/init line");
    eprintln!("CLI version: {}", init["claude_code_version"]);
    assert_eq!(init["apiKeySource"], "ANTHROPIC_API_KEY");

    let result = run.result();
    assert_eq!(result["is_error"], false, "{result}");
    assert_eq!(result["subtype"], "success");
    let text = result["result"].as_str().expect("result text");
    assert!(text.contains(reply::FAKE_SIGNATURE), "{text}");

    // What the CLI sent (docs: claude-cli.md §7.2/7.3).
    let requests = message_requests(&fake).await;
    assert!(!requests.is_empty());
    let chat = &requests[0];
    assert_eq!(chat["query"], "beta=true");
    assert_eq!(chat["body"]["stream"], true);
    assert_eq!(chat["headers"]["anthropic-version"], "2023-06-01");
    assert_eq!(
        chat["headers"]["x-api-key"], "sk-ant-f***",
        "key logged masked"
    );
    assert!(chat["headers"]["user-agent"]
        .as_str()
        .is_some_and(|ua| ua.starts_with("claude-cli/")));
    assert!(chat["body"]["tools"]
        .as_array()
        .is_some_and(|t| !t.is_empty()));

    // The result's usage is the sum of what the fake reported for this turn's calls.
    let (input, output) = requests.iter().map(planned_usage).fold((0, 0), |acc, u| {
        (acc.0 + u.input_tokens, acc.1 + u.output_tokens)
    });
    assert_eq!(result["usage"]["input_tokens"], input, "{result}");
    assert_eq!(result["usage"]["output_tokens"], output, "{result}");
}

#[tokio::test]
async fn real_cli_completes_a_bash_tool_round_trip() {
    let Some(bin) = claude_bin() else { return };
    let fake = common::start();
    // `--allowedTools Bash` pre-approves the call. It also works as root, unlike
    // `--permission-mode bypassPermissions`, which the CLI refuses under root without
    // IS_SANDBOX=1 (docs: claude-cli.md §3.1).
    let run = run_claude(
        &bin,
        &fake.base,
        "[[tool:Bash:echo hi]]",
        &["--allowedTools", "Bash"],
    )
    .await;

    let tool_use = run
        .lines
        .iter()
        .filter(|l| l["type"] == "assistant")
        .flat_map(|l| {
            l["message"]["content"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .find(|b| b["type"] == "tool_use")
        .expect("assistant tool_use line");
    assert_eq!(tool_use["name"], "Bash");
    assert_eq!(tool_use["input"]["command"], "echo hi");

    let tool_result = run
        .lines
        .iter()
        .filter(|l| l["type"] == "user")
        .flat_map(|l| {
            l["message"]["content"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .find(|b| b["type"] == "tool_result")
        .unwrap_or_else(|| panic!("no tool_result line; stderr:\n{}", run.stderr));
    assert_eq!(tool_result["tool_use_id"], tool_use["id"]);
    assert_eq!(tool_result["is_error"], false, "{tool_result}");
    assert_eq!(reply::text_of(Some(&tool_result["content"])).trim(), "hi");

    let result = run.result();
    assert_eq!(result["is_error"], false, "{result}");
    assert_eq!(result["num_turns"], 2, "{result}");
    let text = result["result"].as_str().expect("result text");
    assert!(
        text.ends_with("Bash result (is_error: false): hi"),
        "{text}"
    );

    // The second API call carried the tool result back to the model.
    let requests = message_requests(&fake).await;
    let scenarios: Vec<&str> = requests
        .iter()
        .map(|r| r["scenario"].as_str().expect("scenario"))
        .collect();
    assert_eq!(scenarios, ["tool:Bash", "tool-result"]);
}
