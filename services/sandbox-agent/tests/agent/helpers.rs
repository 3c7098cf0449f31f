use rc_agent_protocol::{AgentClient, ClaudeChannel, ClaudeEvent, ClaudeRequest, Tunnels};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Bound on every wait: a hang fails the test instead of stalling CI.
pub const TIMEOUT: Duration = Duration::from_secs(30);

const BIN: &str = env!("CARGO_BIN_EXE_sandbox-agent");

/// Logs of the spawned processes only with TEST_LOG set.
fn log_filter() -> &'static str {
    if std::env::var_os("TEST_LOG").is_some() {
        "debug"
    } else {
        "error"
    }
}

/// A running `sandbox-agent serve` in its own temp dir, killed on drop.
pub struct TestAgent {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub model_port: u16,
    _serve: Child,
}

impl TestAgent {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    pub async fn spawn_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("agent.sock");
        let model_port = free_port();
        let serve = Command::new(BIN)
            .arg("serve")
            .arg("--socket")
            .arg(&socket)
            .arg("--model-listen")
            .arg(SocketAddr::from((Ipv4Addr::LOCALHOST, model_port)).to_string())
            .args(extra)
            .env("RUST_LOG", log_filter())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn sandbox-agent serve");
        wait_until_listening(&socket).await;
        Self {
            dir,
            socket,
            model_port,
            _serve: serve,
        }
    }

    /// A `sandbox-agent attach` process with piped stdio (see [`attach_io`]).
    pub fn spawn_attach(&self) -> Child {
        Command::new(BIN)
            .arg("attach")
            .arg("--socket")
            .arg(&self.socket)
            .env("RUST_LOG", log_filter())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn sandbox-agent attach")
    }

    /// A fresh `sandbox-agent attach` and a client over its stdio.
    pub async fn connect(&self) -> (AgentClient, Tunnels, Attach) {
        let mut child = self.spawn_attach();
        let io = attach_io(&mut child);
        let (client, tunnels) =
            tokio::time::timeout(TIMEOUT, AgentClient::connect(io, "agent-tests"))
                .await
                .expect("connect timed out")
                .expect("connect");
        (client, tunnels, Attach { child })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

pub fn attach_io(child: &mut Child) -> tokio::io::Join<ChildStdout, ChildStdin> {
    let stdout = child.stdout.take().expect("attach stdout");
    let stdin = child.stdin.take().expect("attach stdin");
    tokio::io::join(stdout, stdin)
}

/// The `docker exec` stand-in; killing it is how a controller "crashes".
pub struct Attach {
    child: Child,
}

impl Attach {
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill attach");
    }
}

/// The kernel hands out the port; it is free again once the listener is dropped.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind :0");
    listener.local_addr().expect("local addr").port()
}

/// Polls (bounded) until `serve` accepts on its socket.
async fn wait_until_listening(socket: &Path) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while tokio::net::UnixStream::connect(socket).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sandbox-agent serve did not listen on {} in time",
            socket.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The next event that is not stderr.
pub async fn next_event(channel: &mut ClaudeChannel) -> ClaudeEvent {
    loop {
        let event = tokio::time::timeout(TIMEOUT, channel.recv())
            .await
            .expect("timed out waiting for a claude event")
            .expect("claude channel closed")
            .expect("malformed claude event");
        if !matches!(event, ClaudeEvent::Stderr { .. }) {
            return event;
        }
    }
}

pub async fn send(channel: &mut ClaudeChannel, request: ClaudeRequest) {
    channel.send(request).await.expect("send claude request");
}

/// `Output` expected next; returns `(seq, line)`.
pub async fn next_output(channel: &mut ClaudeChannel) -> (u64, String) {
    match next_event(channel).await {
        ClaudeEvent::Output { seq, line } => (seq, line),
        other => panic!("expected output, got {other:?}"),
    }
}

pub fn start(program: &str, args: &[&str], env: &[(&str, &str)], cwd: &Path) -> ClaudeRequest {
    ClaudeRequest::Start {
        program: program.to_owned(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        cwd: cwd.to_string_lossy().into_owned(),
    }
}

/// Opens a claude channel and attaches it after `after_seq`; returns it with `Attached`.
pub async fn attach_claude(client: &AgentClient, after_seq: u64) -> (ClaudeChannel, ClaudeEvent) {
    let mut channel = client.open_claude().await.expect("open claude channel");
    send(&mut channel, ClaudeRequest::Attach { after_seq }).await;
    let attached = next_event(&mut channel).await;
    assert!(
        matches!(attached, ClaudeEvent::Attached { .. }),
        "expected attached, got {attached:?}"
    );
    (channel, attached)
}
