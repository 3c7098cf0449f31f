//! Terminals for the web terminal. Like the Claude process, a terminal belongs to the agent,
//! not to a stream: it keeps running while no controller is attached, and a new `pty`
//! stream re-attaches to it by id, repainting from the last [`SCROLLBACK_BYTES`] of output.
//!
//! One stream at a time is attached to a terminal (the newest wins). Output is not numbered:
//! a terminal repaints, so the scrollback replaces replay. The scrollback snapshot and the
//! switch to the new stream happen under one lock, and the new stream's `Attached` is queued
//! before that lock is released, so output is in the snapshot or after `Attached`, never lost
//! in between (a chunk read just before the switch may appear in both: terminals tolerate
//! that, and it is at most one read).

pub mod channel;

use rc_agent_protocol::PtyEvent;
use std::collections::{HashMap, VecDeque};
use std::os::unix::process::ExitStatusExt as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::Child;
use tokio::sync::mpsc;

/// Output kept for repainting after a re-attach.
pub const SCROLLBACK_BYTES: usize = 64 * 1024;
/// One `Data` event carries at most this much output (well under the frame limit in base64).
const READ_CHUNK: usize = 16 * 1024;
/// Events queued for a slow stream; when full, reading the terminal waits (flow control).
const EVENT_QUEUE: usize = 64;
/// After the program exits, how long its terminal may keep producing output (background
/// jobs holding it open) before the exit is reported anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    #[error("no terminal {0} (it exited, or was never opened)")]
    NotFound(u64),
    #[error("failed to start {program:?} on a terminal: {source}")]
    Spawn {
        program: String,
        source: pty_process::Error,
    },
    #[error("resizing the terminal failed: {0}")]
    Resize(pty_process::Error),
    #[error("the terminal's input is closed")]
    InputClosed,
    #[error("this stream is already bound to terminal {0}")]
    AlreadyBound(u64),
    #[error("signalling the terminal failed: {0}")]
    Signal(std::io::Error),
}

/// What `Open` asks for.
#[derive(Debug, Clone)]
pub struct OpenSpec {
    pub cols: u16,
    pub rows: u16,
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: String,
}

/// Every terminal of this agent.
#[derive(Default)]
pub struct Terminals {
    all: Mutex<HashMap<u64, Arc<Terminal>>>,
    next_id: AtomicU64,
}

pub struct Terminal {
    pub id: u64,
    pub pid: u32,
    input: mpsc::UnboundedSender<Vec<u8>>,
    /// Shared with the input task; resizing needs it too.
    writer: Arc<tokio::sync::Mutex<pty_process::OwnedWritePty>>,
    shared: Mutex<Shared>,
}

struct Shared {
    scrollback: VecDeque<u8>,
    subscriber: Option<(u64, mpsc::Sender<PtyEvent>)>,
    next_subscriber: u64,
}

/// A stream's hold on a terminal: its events, until a newer stream takes over (then the
/// receiver ends).
pub struct Subscription {
    pub id: u64,
    pub events: mpsc::Receiver<PtyEvent>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Terminals {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            all: Mutex::default(),
            next_id: AtomicU64::new(1),
        })
    }

    /// Starts a program on a new terminal, subscribed to by the caller (`Opened` first).
    pub fn open(
        self: &Arc<Self>,
        spec: OpenSpec,
    ) -> Result<(Arc<Terminal>, Subscription), PtyError> {
        let (argv0, args) = match spec.command.split_first() {
            Some((program, args)) => (program.clone(), args.to_vec()),
            None => {
                let shell = spec
                    .env
                    .iter()
                    .find(|(key, _)| key == "SHELL")
                    .map_or_else(|| "/bin/sh".to_owned(), |(_, value)| value.clone());
                (shell, Vec::new())
            }
        };
        let spawn_error = |source| PtyError::Spawn {
            program: argv0.clone(),
            source,
        };
        let (pty, pts) = pty_process::open().map_err(spawn_error)?;
        pty.resize(pty_process::Size::new(spec.rows, spec.cols))
            .map_err(spawn_error)?;
        let child = pty_process::Command::new(&argv0)
            .args(&args)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&spec.cwd)
            .spawn(pts)
            .map_err(spawn_error)?;
        let pid = child
            .id()
            .ok_or_else(|| spawn_error(std::io::Error::other("exited at once").into()))?;
        let (reader, writer) = pty.into_split();
        let writer = Arc::new(tokio::sync::Mutex::new(writer));
        let (input, input_rx) = mpsc::unbounded_channel();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let terminal = Arc::new(Terminal {
            id,
            pid,
            input,
            writer: writer.clone(),
            shared: Mutex::new(Shared {
                scrollback: VecDeque::new(),
                subscriber: None,
                next_subscriber: 1,
            }),
        });
        // Subscribed before any output is read: nothing can slip past the first stream.
        let subscription = terminal.subscribe(|_| PtyEvent::Opened { pty_id: id, pid });
        lock(&self.all).insert(id, terminal.clone());
        tracing::info!(pty_id = id, pid, program = %argv0, "terminal opened");
        tokio::spawn(write_input(writer, input_rx));
        tokio::spawn(pump(self.clone(), terminal.clone(), reader, child));
        Ok((terminal, subscription))
    }

    /// Takes a running terminal over (`Attached` with the scrollback first).
    pub fn attach(&self, pty_id: u64) -> Result<(Arc<Terminal>, Subscription), PtyError> {
        let terminal = lock(&self.all)
            .get(&pty_id)
            .cloned()
            .ok_or(PtyError::NotFound(pty_id))?;
        let pid = terminal.pid;
        let subscription = terminal.subscribe(|scrollback| PtyEvent::Attached {
            pty_id,
            pid,
            scrollback,
        });
        Ok((terminal, subscription))
    }

    /// SIGHUP every terminal (the agent is stopping).
    pub fn hangup_all(&self) {
        let all: Vec<_> = lock(&self.all).values().cloned().collect();
        for terminal in all {
            let _ = terminal.hangup();
        }
    }

    fn remove(&self, id: u64) {
        lock(&self.all).remove(&id);
    }
}

impl Terminal {
    fn subscribe(&self, first: impl FnOnce(Vec<u8>) -> PtyEvent) -> Subscription {
        let mut shared = lock(&self.shared);
        let (tx, events) = mpsc::channel(EVENT_QUEUE);
        let scrollback = shared.scrollback.iter().copied().collect();
        // A fresh queue always has room: `first` precedes everything read from now on.
        let _ = tx.try_send(first(scrollback));
        let id = shared.next_subscriber;
        shared.next_subscriber += 1;
        // Dropping the previous sender ends the previous stream's subscription.
        shared.subscriber = Some((id, tx));
        Subscription { id, events }
    }

    pub fn unsubscribe(&self, subscription_id: u64) {
        let mut shared = lock(&self.shared);
        if shared
            .subscriber
            .as_ref()
            .is_some_and(|(id, _)| *id == subscription_id)
        {
            shared.subscriber = None;
        }
    }

    /// Queues keystrokes; never blocks the caller (a program that does not read its input
    /// must not stall its output).
    pub fn input(&self, data: Vec<u8>) -> Result<(), PtyError> {
        self.input.send(data).map_err(|_| PtyError::InputClosed)
    }

    pub async fn resize(&self, cols: u16, rows: u16) -> Result<(), PtyError> {
        self.writer
            .lock()
            .await
            .resize(pty_process::Size::new(rows, cols))
            .map_err(PtyError::Resize)
    }

    /// SIGHUP the terminal's process group, as a closing terminal window would.
    pub fn hangup(&self) -> Result<(), PtyError> {
        let group = i32::try_from(self.pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .ok_or_else(|| PtyError::Signal(std::io::Error::other("not a valid pid")))?;
        match rustix::process::kill_process_group(group, rustix::process::Signal::HUP) {
            Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
            Err(errno) => Err(PtyError::Signal(errno.into())),
        }
    }

    /// Records output and hands it to the attached stream, waiting while that one lags.
    async fn output(&self, data: &[u8]) {
        let subscriber = {
            let mut shared = lock(&self.shared);
            shared.scrollback.extend(data);
            let excess = shared.scrollback.len().saturating_sub(SCROLLBACK_BYTES);
            shared.scrollback.drain(..excess);
            shared.subscriber.as_ref().map(|(_, tx)| tx.clone())
        };
        if let Some(tx) = subscriber {
            let _ = tx
                .send(PtyEvent::Data {
                    data: data.to_vec(),
                })
                .await;
        }
    }

    async fn exited(&self, event: PtyEvent) {
        let subscriber = lock(&self.shared).subscriber.take();
        if let Some((_, tx)) = subscriber {
            let _ = tx.send(event).await;
        }
    }
}

async fn write_input(
    writer: Arc<tokio::sync::Mutex<pty_process::OwnedWritePty>>,
    mut input: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    while let Some(data) = input.recv().await {
        let mut writer = writer.lock().await;
        if let Err(err) = async {
            writer.write_all(&data).await?;
            writer.flush().await
        }
        .await
        {
            tracing::debug!(error = %err, "terminal input failed");
            return;
        }
    }
}

/// Reads the terminal until its program exits, then reports the exit and forgets it.
async fn pump(
    terminals: Arc<Terminals>,
    terminal: Arc<Terminal>,
    mut reader: pty_process::OwnedReadPty,
    mut child: Child,
) {
    let output = terminal.clone();
    let mut read_task = tokio::spawn(async move {
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) => return,
                Ok(n) => output.output(&buf[..n]).await,
                // EIO: every process closed the terminal; the normal end on Linux.
                Err(_) => return,
            }
        }
    });
    let status = child.wait().await.ok();
    if tokio::time::timeout(DRAIN_TIMEOUT, &mut read_task)
        .await
        .is_err()
    {
        read_task.abort();
    }
    let code = status.and_then(|s| s.code());
    let signal = status.and_then(|s| s.signal());
    tracing::info!(
        pty_id = terminal.id,
        ?code,
        ?signal,
        "terminal program exited"
    );
    terminals.remove(terminal.id);
    terminal.exited(PtyEvent::Exit { code, signal }).await;
}
