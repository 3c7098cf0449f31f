import type { SocketLike } from "../lib/events/connection";

/**
 * Stands in for the browser's WebSocket on the session events feed; the test plays the server.
 * Pass `(url) => new FakeWebSocket(url)` as a socket factory, or stub the global `WebSocket` with
 * the class. Every instance is kept in `FakeWebSocket.all` (reset it before each test), so a test
 * can reach the sockets the code under test opened and reconnected.
 */
export class FakeWebSocket implements SocketLike {
  static all: FakeWebSocket[] = [];
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  /** What the client sent, in order. */
  sent: string[] = [];
  /** Whether the client closed it (as opposed to `serverClose`). */
  closedByClient = false;

  constructor(readonly url: string) {
    FakeWebSocket.all.push(this);
  }

  send(data: string) {
    this.sent.push(data);
  }

  close() {
    this.closedByClient = true;
    this.readyState = 3;
  }

  open() {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }

  /** An event frame; `body` carries the kind and may override `task_id` and `at`. */
  event(seq: number, body: Record<string, unknown> = { kind: "queue_changed", queued: [] }) {
    const data = JSON.stringify({ type: "event", event: { seq, task_id: null, at: "2026-01-01T00:00:00Z", ...body } });
    this.onmessage?.(new MessageEvent("message", { data }));
  }

  /** Any frame, as is. */
  frame(value: unknown) {
    this.onmessage?.(new MessageEvent("message", { data: JSON.stringify(value) }));
  }

  serverClose(code: number, reason = "") {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code, reason }));
  }
}
