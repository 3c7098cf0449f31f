/**
 * The terminal WebSocket protocol (`GET /api/v1/sessions/{id}/terminal`, docs/live-sessions.md)
 * and the connection that keeps one terminal attached across dropped sockets. No React and no
 * xterm here, so all of it is unit-tested with a fake socket and fake timers.
 *
 * Frames: binary both ways are terminal bytes; text frames are JSON control messages. Client →
 * `{"type":"resize","cols","rows"}` and `{"type":"close"}` (hang up); server →
 * `{"type":"opened"|"attached","pty_id"}`, `{"type":"exit","code","signal"}`,
 * `{"type":"error","message"}`. Terminals belong to the sandbox agent: a closed socket leaves
 * them running, and re-connecting with `pty_id` repaints from their scrollback.
 */

export type Program = "bash" | "claude";

export interface TerminalSize {
  cols: number;
  rows: number;
}

export interface TerminalUrlOptions {
  /** The page's origin (`location.origin`): the api serves the app, so the socket is same-origin. */
  origin: string;
  sessionId: string;
  /** The selected organisation: browsers cannot set `X-Org-Id` on a WebSocket upgrade. */
  orgId: string | null;
  program: Program;
  size: TerminalSize;
  /** Re-attach to this running terminal instead of opening a new one. */
  ptyId?: number | null;
}

/** `ws(s)://host/api/v1/sessions/{id}/terminal?program=…&cols=…&rows=…[&pty_id=…][&org_id=…]`. */
export function terminalUrl(options: TerminalUrlOptions): string {
  const url = new URL(`/api/v1/sessions/${encodeURIComponent(options.sessionId)}/terminal`, options.origin);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("program", options.program);
  // Sent on re-attach too: the server ignores them there, and the resize after `attached`
  // corrects the size anyway.
  url.searchParams.set("cols", String(clampSize(options.size.cols, 10, 500)));
  url.searchParams.set("rows", String(clampSize(options.size.rows, 5, 300)));
  if (options.ptyId != null) url.searchParams.set("pty_id", String(options.ptyId));
  if (options.orgId) url.searchParams.set("org_id", options.orgId);
  return url.toString();
}

/** The server clamps to these ranges too; clamping here keeps the URL and frames honest. */
function clampSize(value: number, min: number, max: number): number {
  if (!Number.isFinite(value)) return min;
  return Math.min(max, Math.max(min, Math.round(value)));
}

export type ServerControl =
  | { type: "opened"; ptyId: number }
  | { type: "attached"; ptyId: number }
  | { type: "exit"; code: number | null; signal: number | null }
  | { type: "error"; message: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** A server text frame, or null when it is not one this client understands (ignored). */
export function parseControl(text: string): ServerControl | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(value)) return null;
  switch (value.type) {
    case "opened":
    case "attached": {
      const ptyId = numberOrNull(value.pty_id);
      return ptyId === null ? null : { type: value.type, ptyId };
    }
    case "exit":
      return { type: "exit", code: numberOrNull(value.code), signal: numberOrNull(value.signal) };
    case "error":
      return { type: "error", message: typeof value.message === "string" ? value.message : "Terminal error." };
    default:
      return null;
  }
}

export function resizeFrame(size: TerminalSize): string {
  return JSON.stringify({ type: "resize", cols: clampSize(size.cols, 10, 500), rows: clampSize(size.rows, 5, 300) });
}

export const CLOSE_FRAME = JSON.stringify({ type: "close" });

/** "exited with code 0", "killed by signal 9", for the status line. */
export function describeExit(code: number | null, signal: number | null): string {
  if (signal !== null) return `killed by signal ${signal}`;
  if (code !== null) return `exited with code ${code}`;
  return "exited";
}

export interface ReconnectPolicy {
  /** Delay before the first retry. */
  baseMs: number;
  /** Upper bound of one delay. */
  maxMs: number;
  /** Consecutive failed attempts before giving up (the user can still retry by hand). */
  maxAttempts: number;
}

/** The agent's message when a newer stream attached to the same terminal (sandbox-agent pty/channel.rs). */
const TAKEN_OVER = /another stream attached/i;

export const DEFAULT_RECONNECT: ReconnectPolicy = { baseMs: 500, maxMs: 15_000, maxAttempts: 8 };

/**
 * Delay before retry number `attempt` (1-based): exponential, capped, with up to 25 % of random
 * jitter below the cap so that many tabs dropped by one api restart do not return in lockstep.
 * `random` is injectable for tests. Null once the policy gives up.
 */
export function reconnectDelay(
  attempt: number,
  policy: ReconnectPolicy = DEFAULT_RECONNECT,
  random: () => number = Math.random,
): number | null {
  if (attempt < 1 || attempt > policy.maxAttempts) return null;
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  return Math.round(exp * (0.75 + 0.25 * random()));
}

export type ConnectionStatus =
  | { kind: "connecting" }
  | { kind: "open"; ptyId: number }
  | { kind: "reconnecting"; attempt: number; delayMs: number }
  /** The terminal's process ended; nothing to re-attach to. */
  | { kind: "exited"; code: number | null; signal: number | null }
  /** The server ended the terminal with an error (e.g. it no longer exists). */
  | { kind: "error"; message: string }
  /** Gave up reconnecting; `retry()` starts again. */
  | { kind: "failed" }
  /**
   * Another socket (another window) attached to the terminal, which detaches this one; the
   * terminal still runs, and `retry()` takes it back.
   */
  | { kind: "detached" }
  /** Disposed by the page. */
  | { kind: "closed" };

/** What the connection needs of a WebSocket (the browser's, or a fake in tests). */
export interface SocketLike {
  binaryType: BinaryType;
  readonly readyState: number;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
}

const OPEN = 1;

export interface TerminalConnectionOptions {
  /** Builds the URL for a new terminal (`ptyId` null) or a re-attach. */
  url: (ptyId: number | null, size: TerminalSize) => string;
  /** The terminal's current size, read at every (re)connect. */
  size: () => TerminalSize;
  /** Terminal output. */
  onData: (bytes: Uint8Array) => void;
  onStatus: (status: ConnectionStatus) => void;
  /**
   * The server is about to repaint an existing terminal from its scrollback (`attached`):
   * clear the screen first, or the repaint would follow what is already shown.
   */
  onReattach?: () => void;
  /** A server error that did not end the terminal (e.g. a refused control message). */
  onNotice?: (message: string) => void;
  /** A terminal to re-attach to from the start (it survived a page change). */
  ptyId?: number | null;
  policy?: ReconnectPolicy;
  createSocket?: (url: string) => SocketLike;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/**
 * One terminal: opens it, forwards bytes both ways, and after a dropped socket re-attaches by
 * `pty_id` with backoff until the process exits, the server reports an error, or the policy
 * gives up.
 */
export class TerminalConnection {
  readonly #options: TerminalConnectionOptions;
  readonly #encoder = new TextEncoder();
  #socket: SocketLike | null = null;
  #ptyId: number | null;
  #attempt = 0;
  #timer: unknown = null;
  /** Set by exit, a fatal error or dispose: no more reconnects. */
  #ended = false;
  /** An `error` frame arrived; if the socket then closes, the terminal is gone. */
  #lastError: string | null = null;
  #status: ConnectionStatus = { kind: "connecting" };

  constructor(options: TerminalConnectionOptions) {
    this.#options = options;
    this.#ptyId = options.ptyId ?? null;
  }

  get ptyId(): number | null {
    return this.#ptyId;
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  start(): void {
    this.#connect();
  }

  /** Keyboard input (xterm's `onData` strings are UTF-16; the pty wants UTF-8 bytes). */
  sendText(text: string): void {
    this.#send(this.#encoder.encode(text));
  }

  /** Raw bytes (xterm's `onBinary`: one char per byte). */
  sendBinaryString(data: string): void {
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
    this.#send(bytes);
  }

  resize(size: TerminalSize): void {
    this.#send(resizeFrame(size));
  }

  /** Hangs the terminal up (SIGHUP); an `exit` frame follows and ends the connection. */
  hangUp(): void {
    this.#send(CLOSE_FRAME);
  }

  /** Starts over after `failed` (a manual "Reconnect") or `detached` (take the terminal back). */
  retry(): void {
    if (this.#status.kind !== "failed" && this.#status.kind !== "detached") return;
    this.#attempt = 0;
    this.#ended = false;
    this.#connect();
  }

  /** Leaves: closes the socket but not the terminal, which stays re-attachable. */
  dispose(): void {
    this.#ended = true;
    this.#cancelTimer();
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      socket.close(1000, "closed by the page");
    }
    this.#setStatus({ kind: "closed" });
  }

  #send(data: string | Uint8Array): void {
    const socket = this.#socket;
    // Input typed while reconnecting is dropped, as a real terminal would lose it on a cut line.
    if (socket?.readyState === OPEN) socket.send(data);
  }

  #setStatus(status: ConnectionStatus): void {
    this.#status = status;
    this.#options.onStatus(status);
  }

  #cancelTimer(): void {
    if (this.#timer !== null) {
      (this.#options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>)))(this.#timer);
      this.#timer = null;
    }
  }

  #connect(): void {
    this.#cancelTimer();
    this.#lastError = null;
    this.#setStatus({ kind: "connecting" });
    const create = this.#options.createSocket ?? ((url: string) => new WebSocket(url));
    let socket: SocketLike;
    try {
      socket = create(this.#options.url(this.#ptyId, this.#options.size()));
    } catch {
      this.#scheduleReconnect();
      return;
    }
    socket.binaryType = "arraybuffer";
    this.#socket = socket;
    socket.onmessage = (event) => {
      this.#onMessage(event.data);
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#onClosed();
    };
    // `error` is always followed by `close`, which decides what happens next.
    socket.onerror = null;
  }

  #onMessage(data: unknown): void {
    if (data instanceof ArrayBuffer) {
      this.#options.onData(new Uint8Array(data));
      return;
    }
    if (typeof data !== "string") return;
    const control = parseControl(data);
    if (!control) return;
    switch (control.type) {
      case "opened":
      case "attached":
        if (control.type === "attached") this.#options.onReattach?.();
        this.#ptyId = control.ptyId;
        // A healthy connection resets the backoff: the next drop starts with a short delay.
        this.#attempt = 0;
        this.#setStatus({ kind: "open", ptyId: control.ptyId });
        // The page may have been resized while the socket was away.
        this.resize(this.#options.size());
        break;
      case "exit":
        this.#ended = true;
        this.#setStatus({ kind: "exited", code: control.code, signal: control.signal });
        this.#socket?.close(1000);
        break;
      case "error":
        this.#lastError = control.message;
        this.#options.onNotice?.(control.message);
        break;
    }
  }

  #onClosed(): void {
    if (this.#ended) return;
    if (this.#lastError !== null) {
      // The server ends a terminal it cannot serve (gone after a restart, agent refused) with
      // an error frame and a close: retrying would only repeat it. Re-attaching after another
      // window took the terminal over would just take it back from that window, so that
      // waits for the user too.
      this.#ended = true;
      this.#setStatus(TAKEN_OVER.test(this.#lastError) ? { kind: "detached" } : { kind: "error", message: this.#lastError });
      return;
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    this.#attempt += 1;
    const delay = reconnectDelay(this.#attempt, this.#options.policy, this.#options.random);
    if (delay === null) {
      this.#setStatus({ kind: "failed" });
      return;
    }
    this.#setStatus({ kind: "reconnecting", attempt: this.#attempt, delayMs: delay });
    const set = this.#options.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
    this.#timer = set(() => {
      this.#timer = null;
      if (!this.#ended) this.#connect();
    }, delay);
  }
}
