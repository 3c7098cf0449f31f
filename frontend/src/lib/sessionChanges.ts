/**
 * The session list, live: one WebSocket to `/api/v1/sessions/changes` that names each session
 * of the organisation the caller may list as it is created, changes state or is deleted. A
 * `resync` (first, and whenever the server may have missed changes) means "read the list
 * again". Reconnected with backoff while wanted; the list page polls slowly meanwhile.
 */
import { useEffect, useEffectEvent, useState } from "react";
import type { SessionState } from "../api/types";
import { backoffDelay, detachAndClose, type SocketFactory, type SocketLike } from "./events/connection";

export type SessionChange =
  | { resync: true }
  | { resync: false; sessionId: string; state: SessionState | null; deleted: boolean };

/** A server frame, or null for anything else (an error frame precedes a close). */
export function parseChange(text: string): SessionChange | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (v.resync === true) return { resync: true };
  if (v.resync !== false || typeof v.session_id !== "string") return null;
  return {
    resync: false,
    sessionId: v.session_id,
    state: typeof v.state === "string" ? (v.state as SessionState) : null,
    deleted: v.deleted === true,
  };
}

export function changesUrl(origin: string, orgId: string | null): string {
  const query = orgId ? `?${new URLSearchParams({ org_id: orgId }).toString()}` : "";
  return `${origin}/api/v1/sessions/changes${query}`;
}

export interface ChangesOptions {
  orgId: string | null;
  onChange: (change: SessionChange) => void;
  /** Whether changes are being heard (a resync arrived on the current socket). */
  onLive: (live: boolean) => void;
  socket?: SocketFactory;
  origin?: string;
  random?: () => number;
}

/** Closes on 1008: access ended, retrying would be refused too. */
const POLICY_VIOLATION = 1008;
/** Attempts without a resync before giving up (a refused upgrade looks like a network error
 * to a browser); polling carries on, and the next page visit tries again. */
const MAX_ATTEMPTS = 12;

export class SessionChangesConnection {
  #options: ChangesOptions;
  #socket: SocketLike | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #attempts = 0;
  #stopped = true;

  constructor(options: ChangesOptions) {
    this.#options = options;
  }

  start(): void {
    this.#stopped = false;
    this.#attempts = 0;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#drop();
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#drop();
    this.#options.onLive(false);
  }

  #drop(): void {
    const socket = this.#socket;
    this.#socket = null;
    if (socket) detachAndClose(socket);
  }

  #connect(): void {
    const origin =
      this.#options.origin ??
      `${globalThis.location.protocol === "https:" ? "wss:" : "ws:"}//${globalThis.location.host}`;
    const factory = this.#options.socket ?? ((u: string) => new WebSocket(u));
    let socket: SocketLike;
    try {
      socket = factory(changesUrl(origin, this.#options.orgId));
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.#socket = socket;
    socket.onmessage = (message) => {
      if (typeof message.data !== "string") return;
      const change = parseChange(message.data);
      if (!change) return;
      if (change.resync) {
        this.#attempts = 0;
        this.#options.onLive(true);
      }
      this.#options.onChange(change);
    };
    socket.onerror = () => {
      // Always followed by close.
    };
    socket.onclose = (event) => {
      this.#socket = null;
      this.#options.onLive(false);
      if (event.code === POLICY_VIOLATION) return;
      this.#scheduleReconnect();
    };
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    this.#attempts += 1;
    if (this.#attempts > MAX_ATTEMPTS) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        if (!this.#stopped) this.#connect();
      },
      backoffDelay(this.#attempts, this.#options.random),
    );
  }
}

/**
 * Calls `onChange` for each change to the organisation's session list while `enabled` and
 * the page is visible; returns whether changes are being heard (poll slowly then).
 */
export function useSessionChanges(
  orgId: string | null,
  onChange: (change: SessionChange) => void,
  options: { enabled?: boolean; socket?: SocketFactory } = {},
): boolean {
  const { enabled = true, socket } = options;
  const [live, setLive] = useState(false);
  const handle = useEffectEvent(onChange);
  useEffect(() => {
    if (!enabled) return;
    const conn = new SessionChangesConnection({
      orgId,
      onChange: (change) => {
        handle(change);
      },
      onLive: setLive,
      socket,
    });
    // A hidden tab holds no socket; coming back starts with a resync (a fresh read).
    const onVisibility = () => {
      if (document.visibilityState === "visible") conn.start();
      else conn.stop();
    };
    if (document.visibilityState === "visible") conn.start();
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      document.removeEventListener("visibilitychange", onVisibility);
      conn.stop();
    };
  }, [orgId, enabled, socket]);
  return live;
}
