//! The Claude process and its output log.
//!
//! [`Supervisor`] owns at most one child at a time and outlives every connection. Each stdout
//! line and the final exit become numbered entries in the [`ring::Ring`]; `claude` channels
//! read them from there ([`channel`]).
//!
//! Why replay never loses or doubles an entry: sequence numbers are assigned and entries
//! appended to the ring under one mutex, and a channel never receives entries any other way
//! than by asking the ring for "everything after my cursor". Replay and live streaming are
//! the same loop; a line produced while a replay is being sent simply is the next entry after
//! the cursor. The `pushed` watch only wakes idle readers up; it carries no data.

pub mod channel;
pub mod lines;
pub mod ring;

use bytes::Bytes;
use lines::{Line, LineReader};
use rc_agent_protocol::frame::encode;
use rc_agent_protocol::{ClaudeEvent, MAX_LINE_BYTES};
use ring::{Ring, RingLimits};
use std::os::unix::process::ExitStatusExt as _;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWriteExt as _};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

/// Stderr lines are warnings for humans; longer ones are cut off.
const MAX_STDERR_LINE_BYTES: usize = 64 * 1024;
/// After the child exits, how long its output pipes may stay open (a background grandchild
/// can inherit them) before the exit is reported anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// Stderr lines queued for a slow controller before further ones are dropped.
const STDERR_QUEUE: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("a claude process is already running (pid {pid})")]
    AlreadyRunning { pid: u32 },
    #[error("no claude process is running")]
    NotRunning,
    #[error("failed to start {program:?}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("the claude process's stdin is closed")]
    StdinClosed,
    #[error("input lines must not contain a newline")]
    NewlineInInput,
    #[error(
        "after_seq {after_seq} is ahead of this agent's last entry {last} \
         (sequence numbers restart when the agent restarts: compare boot_id)"
    )]
    AheadOfAgent { after_seq: u64, last: u64 },
    #[error("signalling process group {pid} failed: {source}")]
    Signal { pid: u32, source: std::io::Error },
}

/// What `Start` asks for.
#[derive(Debug, Clone)]
pub struct StartSpec {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: String,
}

pub struct Supervisor {
    state: Mutex<State>,
    /// The `next_seq` after every append; only a wake-up signal for readers.
    pushed: watch::Sender<u64>,
}

struct State {
    ring: Ring,
    next_seq: u64,
    process: Option<Running>,
    /// Numbers the processes, so a late SIGKILL or exit report cannot hit a successor.
    generation: u64,
    subscriber: Option<Subscriber>,
    next_subscriber: u64,
}

struct Running {
    pid: u32,
    generation: u64,
    /// `None` once the controller closed the child's stdin.
    stdin: Option<mpsc::UnboundedSender<String>>,
}

/// The channel currently attached to the output.
struct Subscriber {
    id: u64,
    cancel: CancellationToken,
    stderr: mpsc::Sender<String>,
}

/// The result of a successful `Attach`.
pub struct Attachment {
    pub id: u64,
    /// Cancelled when a newer `Attach` replaces this one.
    pub cancel: CancellationToken,
    pub attached: ClaudeEvent,
}

impl Supervisor {
    pub fn new(limits: RingLimits) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                ring: Ring::new(limits),
                next_seq: 1,
                process: None,
                generation: 0,
                subscriber: None,
                next_subscriber: 1,
            }),
            pushed: watch::Sender::new(1),
        })
    }

    /// Nothing here can leave the state half-updated, so a panic elsewhere while the lock was
    /// held does not make it unusable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `stderr` the live stderr destination and acknowledges `after_seq`; the caller
    /// then streams entries after `after_seq` (see [`channel`]).
    pub fn attach(
        &self,
        after_seq: u64,
        stderr: mpsc::Sender<String>,
    ) -> Result<Attachment, SupervisorError> {
        let mut state = self.lock();
        let last = state.next_seq - 1;
        if after_seq > last {
            return Err(SupervisorError::AheadOfAgent { after_seq, last });
        }
        state.ring.ack(after_seq);
        let id = state.next_subscriber;
        state.next_subscriber += 1;
        let cancel = CancellationToken::new();
        let previous = state.subscriber.replace(Subscriber {
            id,
            cancel: cancel.clone(),
            stderr,
        });
        if let Some(previous) = previous {
            previous.cancel.cancel();
        }
        let attached = ClaudeEvent::Attached {
            running: state.process.is_some(),
            pid: state.process.as_ref().map(|p| p.pid),
            next_seq: state.next_seq,
            oldest_buffered_seq: state.ring.oldest_seq(),
        };
        Ok(Attachment {
            id,
            cancel,
            attached,
        })
    }

    /// Forgets the subscriber `id` unless a newer one replaced it already.
    pub fn detach(&self, id: u64) {
        let mut state = self.lock();
        if state.subscriber.as_ref().is_some_and(|s| s.id == id) {
            state.subscriber = None;
        }
    }

    pub fn ack(&self, seq: u64) {
        self.lock().ring.ack(seq);
    }

    /// Up to `max` buffered entries after `cursor`, as encoded frames.
    pub fn entries_after(&self, cursor: u64, max: usize) -> Vec<(u64, Bytes)> {
        self.lock().ring.after(cursor, max)
    }

    pub fn watch_pushes(&self) -> watch::Receiver<u64> {
        self.pushed.subscribe()
    }

    /// Spawns the child. Its output is read only once `go` fires (or is dropped), so the
    /// caller can send `Started` before the first `Output`.
    pub fn start(
        self: &Arc<Self>,
        spec: StartSpec,
    ) -> Result<(u32, oneshot::Sender<()>), SupervisorError> {
        let mut state = self.lock();
        if let Some(running) = &state.process {
            return Err(SupervisorError::AlreadyRunning { pid: running.pid });
        }
        let spawn_error = |source| SupervisorError::Spawn {
            program: spec.program.clone(),
            source,
        };
        // Spawned under the lock, so two concurrent Starts cannot both pass the check above.
        let mut child = Command::new(&spec.program)
            .args(&spec.args)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&spec.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: Stop signals the CLI and the tools it runs together.
            .process_group(0)
            .spawn()
            .map_err(spawn_error)?;
        let (Some(pid), Some(stdin), Some(stdout), Some(stderr)) = (
            child.id(),
            child.stdin.take(),
            child.stdout.take(),
            child.stderr.take(),
        ) else {
            // Cannot happen for a just-spawned child with piped stdio.
            let _ = child.start_kill();
            return Err(spawn_error(std::io::Error::other("child stdio missing")));
        };
        state.generation += 1;
        let generation = state.generation;
        let (stdin_tx, stdin_rx) = mpsc::unbounded_channel();
        state.process = Some(Running {
            pid,
            generation,
            stdin: Some(stdin_tx),
        });
        drop(state);
        tracing::info!(pid, program = %spec.program, "claude process started");
        tokio::spawn(write_stdin(stdin, stdin_rx));
        let (go, go_rx) = oneshot::channel();
        tokio::spawn(supervise(
            self.clone(),
            generation,
            child,
            stdout,
            stderr,
            go_rx,
        ));
        Ok((pid, go))
    }

    pub fn input(&self, line: String) -> Result<(), SupervisorError> {
        if line.contains('\n') {
            return Err(SupervisorError::NewlineInInput);
        }
        let state = self.lock();
        let running = state.process.as_ref().ok_or(SupervisorError::NotRunning)?;
        let stdin = running.stdin.as_ref().ok_or(SupervisorError::StdinClosed)?;
        stdin.send(line).map_err(|_| SupervisorError::StdinClosed)
    }

    pub fn close_input(&self) -> Result<(), SupervisorError> {
        let mut state = self.lock();
        let running = state.process.as_mut().ok_or(SupervisorError::NotRunning)?;
        running.stdin = None;
        Ok(())
    }

    /// SIGTERM now, SIGKILL after `grace` if the same process is still running. The exit
    /// arrives as an `Exited` entry.
    pub fn stop(self: &Arc<Self>, grace: Duration) -> Result<(), SupervisorError> {
        let (pid, generation) = {
            let state = self.lock();
            let running = state.process.as_ref().ok_or(SupervisorError::NotRunning)?;
            (running.pid, running.generation)
        };
        signal_group(pid, rustix::process::Signal::TERM)?;
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            if this.is_running(generation) {
                tracing::warn!(pid, ?grace, "claude ignored SIGTERM; sending SIGKILL");
                if let Err(err) = signal_group(pid, rustix::process::Signal::KILL) {
                    tracing::warn!(error = %err, "SIGKILL failed");
                }
            }
        });
        Ok(())
    }

    /// Stops the running child (if any) and waits for its exit, at most `grace` plus a little.
    pub async fn shutdown(self: &Arc<Self>, grace: Duration) {
        let mut pushes = self.watch_pushes();
        match self.stop(grace) {
            Ok(()) => {}
            Err(SupervisorError::NotRunning) => return,
            Err(err) => tracing::warn!(error = %err, "stopping claude at shutdown"),
        }
        let exited = async {
            loop {
                let running = self.lock().process.is_some();
                if !running || pushes.changed().await.is_err() {
                    return;
                }
            }
        };
        if tokio::time::timeout(grace + DRAIN_TIMEOUT + Duration::from_secs(1), exited)
            .await
            .is_err()
        {
            tracing::warn!("claude did not exit in time");
        }
    }

    fn is_running(&self, generation: u64) -> bool {
        self.lock()
            .process
            .as_ref()
            .is_some_and(|p| p.generation == generation)
    }

    /// Appends a numbered entry built from its sequence number.
    fn push(&self, event: impl FnOnce(u64) -> ClaudeEvent, finish: impl FnOnce(&mut State)) {
        let next = {
            let mut state = self.lock();
            let seq = state.next_seq;
            match encode(&event(seq)) {
                Ok(frame) => {
                    state.next_seq += 1;
                    let dropped = state.ring.push(seq, frame);
                    if dropped > 0 {
                        tracing::warn!(
                            dropped,
                            seq,
                            "replay buffer full: dropped the oldest unacknowledged entries"
                        );
                    }
                }
                Err(err) => tracing::error!(error = %err, "encoding an output entry"),
            }
            finish(&mut state);
            state.next_seq
        };
        self.pushed.send_replace(next);
    }

    fn push_output(&self, line: String) {
        self.push(|seq| ClaudeEvent::Output { seq, line }, |_| {});
    }

    fn push_exited(&self, generation: u64, status: Option<ExitStatus>) {
        let code = status.and_then(|s| s.code());
        let signal = status.and_then(|s| s.signal());
        tracing::info!(?code, ?signal, "claude process exited");
        self.push(
            |seq| ClaudeEvent::Exited { seq, code, signal },
            |state| {
                if state
                    .process
                    .as_ref()
                    .is_some_and(|p| p.generation == generation)
                {
                    state.process = None;
                }
            },
        );
    }

    /// Live only: to the attached channel if there is one and it keeps up.
    fn push_stderr(&self, line: String) {
        if let Some(subscriber) = &self.lock().subscriber {
            let _ = subscriber.stderr.try_send(line);
        }
    }
}

fn signal_group(pid: u32, signal: rustix::process::Signal) -> Result<(), SupervisorError> {
    let group = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(|| SupervisorError::Signal {
            pid,
            source: std::io::Error::other("not a valid pid"),
        })?;
    match rustix::process::kill_process_group(group, signal) {
        // Already gone: its exit is being reported.
        Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
        Err(errno) => Err(SupervisorError::Signal {
            pid,
            source: errno.into(),
        }),
    }
}

async fn write_stdin(mut stdin: ChildStdin, mut lines: mpsc::UnboundedReceiver<String>) {
    while let Some(mut line) = lines.recv().await {
        line.push('\n');
        if let Err(err) = async {
            stdin.write_all(line.as_bytes()).await?;
            stdin.flush().await
        }
        .await
        {
            tracing::warn!(error = %err, "writing to claude's stdin failed");
            return;
        }
    }
    // Every sender is gone (CloseInput or exit): dropping `stdin` closes the pipe.
}

async fn supervise(
    supervisor: Arc<Supervisor>,
    generation: u64,
    mut child: Child,
    stdout: impl AsyncRead + Unpin + Send + 'static,
    stderr: impl AsyncRead + Unpin + Send + 'static,
    go: oneshot::Receiver<()>,
) {
    let _ = go.await;
    let out = supervisor.clone();
    let mut stdout_task = tokio::spawn(async move {
        read_lines(stdout, MAX_LINE_BYTES, |line| match line {
            Line::Text(line) => out.push_output(line),
            Line::TooLong(len) => {
                tracing::warn!(
                    len,
                    limit = MAX_LINE_BYTES,
                    "dropped an overlong stdout line"
                );
                out.push_stderr(format!(
                    "sandbox-agent: dropped a stdout line of {len} bytes (limit {MAX_LINE_BYTES})"
                ));
            }
        })
        .await;
    });
    let err = supervisor.clone();
    let mut stderr_task = tokio::spawn(async move {
        read_lines(stderr, MAX_STDERR_LINE_BYTES, |line| match line {
            Line::Text(line) => err.push_stderr(line),
            Line::TooLong(len) => err.push_stderr(format!("[{len}-byte stderr line omitted]")),
        })
        .await;
    });
    let status = match child.wait().await {
        Ok(status) => Some(status),
        Err(err) => {
            tracing::error!(error = %err, "waiting for the claude process failed");
            None
        }
    };
    if tokio::time::timeout(DRAIN_TIMEOUT, &mut stdout_task)
        .await
        .is_err()
    {
        tracing::warn!("claude's stdout stayed open after it exited (inherited by a child?)");
        stdout_task.abort();
    }
    if tokio::time::timeout(DRAIN_TIMEOUT, &mut stderr_task)
        .await
        .is_err()
    {
        stderr_task.abort();
    }
    supervisor.push_exited(generation, status);
}

async fn read_lines(reader: impl AsyncRead + Unpin, max: usize, mut each: impl FnMut(Line)) {
    let mut lines = LineReader::new(reader, max);
    loop {
        match lines.next_line().await {
            Ok(Some(line)) => each(line),
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(error = %err, "reading claude output failed");
                return;
            }
        }
    }
}

/// Queue for the stderr lines of one attached channel.
pub fn stderr_queue() -> (mpsc::Sender<String>, mpsc::Receiver<String>) {
    mpsc::channel(STDERR_QUEUE)
}
