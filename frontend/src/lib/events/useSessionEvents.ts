/**
 * One live event stream per session view: connects, feeds the reducer and exposes the chat model.
 * The page holds it so that every tab (chat, files) reads the same stream.
 */
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { type ConnectionStatus, EventConnection, type SocketFactory } from "./connection";
import { applyEvents, type EventsState, gapAt, initialEventsState } from "./reducer";
import type { SessionEvent } from "./types";

/** Frames are applied together at most this often, so a fast stream renders once per batch. */
const BATCH_MS = 50;
/** A gap that the live feed has not filled after this long is repaired by a reconnect. */
const GAP_REPAIR_MS = 3000;
/** A tab hidden this long lets its socket go; it resumes from the last seq when shown again. */
const HIDDEN_CLOSE_MS = 5 * 60_000;

type Action = { type: "events"; events: SessionEvent[] } | { type: "reset" };

function reduce(state: EventsState, action: Action): EventsState {
  return action.type === "reset" ? initialEventsState : applyEvents(state, action.events);
}

export interface SessionEventsResult {
  state: EventsState;
  status: ConnectionStatus;
  /** Why the server ended the feed, while `status` is `denied`. */
  denied: string | null;
  retry: () => void;
  /** Sends a client message on the socket (e.g. `decide_approval`); false when not connected. */
  send: (message: unknown) => boolean;
}

export function useSessionEvents(
  sessionId: string,
  orgId: string | null,
  options: { socket?: SocketFactory; enabled?: boolean } = {},
): SessionEventsResult {
  const { socket, enabled = true } = options;
  const [state, dispatch] = useReducer(reduce, initialEventsState);
  const [status, setStatus] = useState<ConnectionStatus>("connecting");
  const [denied, setDenied] = useState<string | null>(null);
  const lastSeq = useRef(0);
  const connection = useRef<EventConnection | null>(null);

  useEffect(() => {
    lastSeq.current = state.lastSeq;
  }, [state.lastSeq]);

  useEffect(() => {
    if (!enabled) return;
    dispatch({ type: "reset" });
    lastSeq.current = 0;
    let buffer: SessionEvent[] = [];
    let flush: ReturnType<typeof setTimeout> | null = null;
    const conn = new EventConnection({
      sessionId,
      orgId,
      // The reducer's resume point, not the last frame received: held events past a gap are
      // asked for again, which is what fills the gap.
      afterSeq: () => lastSeq.current,
      onStatus: (next) => {
        if (next !== "denied") setDenied(null);
        setStatus(next);
      },
      onDenied: setDenied,
      onEvent: (event) => {
        buffer.push(event);
        flush ??= setTimeout(() => {
          flush = null;
          const events = buffer;
          buffer = [];
          dispatch({ type: "events", events });
        }, BATCH_MS);
      },
      socket,
    });
    connection.current = conn;
    conn.start();

    let hiddenTimer: ReturnType<typeof setTimeout> | null = null;
    const onVisibility = () => {
      if (document.visibilityState === "hidden") {
        hiddenTimer ??= setTimeout(() => {
          conn.stop();
        }, HIDDEN_CLOSE_MS);
      } else {
        if (hiddenTimer !== null) clearTimeout(hiddenTimer);
        hiddenTimer = null;
        if (conn.status === "closed") conn.start();
      }
    };
    const onOnline = () => {
      if (conn.status !== "live" && conn.status !== "denied") conn.retry();
    };
    document.addEventListener("visibilitychange", onVisibility);
    window.addEventListener("online", onOnline);
    return () => {
      document.removeEventListener("visibilitychange", onVisibility);
      window.removeEventListener("online", onOnline);
      if (hiddenTimer !== null) clearTimeout(hiddenTimer);
      if (flush !== null) clearTimeout(flush);
      conn.stop();
      connection.current = null;
    };
  }, [sessionId, orgId, socket, enabled]);

  // The server never skips a seq on one connection, so a gap means lost frames: reconnect.
  const gap = gapAt(state);
  useEffect(() => {
    if (gap === null || status === "denied") return;
    const timer = setTimeout(() => connection.current?.retry(), GAP_REPAIR_MS);
    return () => {
      clearTimeout(timer);
    };
  }, [gap, status]);

  const retry = useCallback(() => {
    const conn = connection.current;
    if (!conn) return;
    if (conn.status === "closed") conn.start();
    else conn.retry();
  }, []);
  const send = useCallback((message: unknown) => connection.current?.send(message) ?? false, []);

  return { state, status, denied, retry, send };
}
