/**
 * The session's live event feed: one WebSocket to `/api/v1/sessions/{id}/events`, reconnected
 * until closed on purpose. Every (re)connect asks for `after_seq` = the last event the caller
 * applied, so the server replays exactly what is missing (the reducer drops any overlap).
 */
import { parseFrame, type SessionEvent } from "./types";

/** `denied`: the server ended the feed because the caller lost access (removed, demoted, token
 * revoked, logged out, session deleted); reconnecting would only be refused again. */
export type ConnectionStatus = "connecting" | "live" | "reconnecting" | "closed" | "denied";

/** Error codes with which the server ends a feed whose caller may no longer follow it. */
const ACCESS_ENDED = new Set(["unauthenticated", "forbidden", "not_found"]);

/** The part of the browser's WebSocket this module uses; tests pass a fake class. */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface ConnectionOptions {
  sessionId: string;
  /** Sent as `org_id`: browsers cannot set `X-Org-Id` on a WebSocket. */
  orgId: string | null;
  /** The resume point, read at every (re)connect. */
  afterSeq: () => number;
  onEvent: (event: SessionEvent) => void;
  onStatus: (status: ConnectionStatus) => void;
  /** An error frame that answers a client message (it names an approval); the socket stays open. */
  onReplyError?: (approvalId: string, message: string) => void;
  /** The server ended the feed because the caller lost access; the reason, before status `denied`. */
  onDenied?: (message: string) => void;
  socket?: SocketFactory;
  /** `ws(s)://host`; defaults to this page's origin. */
  origin?: string;
  random?: () => number;
  /** Consecutive failed attempts before giving up (status `closed`) until `retry()`. */
  maxAttempts?: number;
}

const BASE_DELAY_MS = 500;
const POLICY_VIOLATION = 1008;
const MAX_DELAY_MS = 30_000;
const OPEN = 1;

/** Exponential backoff with "full jitter", so many tabs do not reconnect in lockstep. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** Closes a socket after detaching its callbacks, so its late events cannot act. */
export function detachAndClose(socket: SocketLike): void {
  socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
  try {
    socket.close(1000, "client closed");
  } catch {
    // Closing a socket that never opened may throw in some engines; it is gone either way.
  }
}

export function eventsUrl(origin: string, sessionId: string, afterSeq: number, orgId: string | null): string {
  const params = new URLSearchParams({ after_seq: String(afterSeq) });
  if (orgId) params.set("org_id", orgId);
  return `${origin}/api/v1/sessions/${encodeURIComponent(sessionId)}/events?${params.toString()}`;
}

function pageOrigin(): string {
  const { protocol, host } = globalThis.location;
  return `${protocol === "https:" ? "wss:" : "ws:"}//${host}`;
}

export class EventConnection {
  #options: ConnectionOptions;
  #socket: SocketLike | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Failed attempts since the last connection that delivered something. */
  #attempts = 0;
  #status: ConnectionStatus = "connecting";
  #stopped = false;

  constructor(options: ConnectionOptions) {
    this.#options = options;
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  start(): void {
    this.#stopped = false;
    this.#attempts = 0;
    this.#clearTimer();
    this.#drop();
    this.#connect();
  }

  /** Reconnects now, forgetting the backoff (the user pressed Retry, or the network came back). */
  retry(): void {
    if (this.#stopped) return;
    this.#attempts = 0;
    this.#clearTimer();
    this.#drop();
    this.#connect();
  }

  /** Closes the socket for good (the view went away). A feed whose access ended stays
   * `denied`, so hiding and showing the page does not reconnect it. */
  stop(): void {
    this.#stopped = true;
    this.#clearTimer();
    this.#drop();
    if (this.#status !== "denied") this.#setStatus("closed");
  }

  /** Sends a client message when the socket is open; returns whether it was sent. */
  send(message: unknown): boolean {
    if (this.#socket?.readyState !== OPEN) return false;
    this.#socket.send(JSON.stringify(message));
    return true;
  }

  #setStatus(status: ConnectionStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    this.#options.onStatus(status);
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Detaches and closes the current socket, so its late callbacks cannot act. */
  #drop(): void {
    const socket = this.#socket;
    this.#socket = null;
    if (socket) detachAndClose(socket);
  }

  #connect(): void {
    const { sessionId, orgId, afterSeq } = this.#options;
    const url = eventsUrl(this.#options.origin ?? pageOrigin(), sessionId, afterSeq(), orgId);
    const factory = this.#options.socket ?? ((u: string) => new WebSocket(u));
    let socket: SocketLike;
    try {
      socket = factory(url);
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.#socket = socket;
    this.#setStatus(this.#attempts === 0 && this.#status === "connecting" ? "connecting" : "reconnecting");
    socket.onopen = () => {
      this.#setStatus("live");
    };
    socket.onmessage = (message) => {
      if (typeof message.data !== "string") return;
      const frame = parseFrame(message.data);
      if (!frame) return;
      if (frame.type === "event") {
        // Only a connection that delivers proves the server is fine; an upgrade that opens and
        // fails at once must keep backing off.
        this.#attempts = 0;
        this.#options.onEvent(frame.event);
      } else if (frame.type === "error") {
        if (frame.approvalId) {
          this.#options.onReplyError?.(frame.approvalId, frame.message);
          return;
        }
        this.#drop();
        if (ACCESS_ENDED.has(frame.code)) {
          this.#deny(frame.message);
          return;
        }
        // The feed failed server-side; it closes next. Reconnect from our own resume point.
        this.#scheduleReconnect();
      }
    };
    socket.onerror = () => {
      // Always followed by close, which decides what happens next.
    };
    socket.onclose = (event) => {
      this.#socket = null;
      // 1008: access ended (normally announced by an error frame first, handled above).
      if (event.code === POLICY_VIOLATION) {
        this.#deny(event.reason || "Your access to this session has ended.");
        return;
      }
      // Every other close we did not ask for (1001 silent, 1006 network, 1011 feed error, 1012
      // api restart, 1013 rights not checkable, an HTTP error at the upgrade) is retried; the
      // server resumes exactly.
      this.#scheduleReconnect();
    };
  }

  /** Access ended: retrying would be refused too. retry() or start() still may (the user was
   * added back, or signed in again). */
  #deny(message: string): void {
    this.#clearTimer();
    this.#options.onDenied?.(message);
    this.#setStatus("denied");
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    this.#clearTimer();
    this.#attempts += 1;
    const max = this.#options.maxAttempts ?? 12;
    if (this.#attempts > max) {
      this.#setStatus("closed");
      return;
    }
    this.#setStatus("reconnecting");
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.#connect();
      },
      backoffDelay(this.#attempts, this.#options.random),
    );
  }
}
