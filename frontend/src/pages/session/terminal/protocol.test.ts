import { describe, expect, it, vi } from "vitest";
import {
  CLOSE_FRAME,
  type ConnectionStatus,
  describeExit,
  parseControl,
  reconnectDelay,
  resizeFrame,
  type SocketLike,
  TerminalConnection,
  type TerminalSize,
  terminalUrl,
} from "./protocol";

const SESSION = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const ORG = "0b6d6c3e-8f0c-4a3e-9d1e-2f1f6f1d0a01";

describe("terminalUrl", () => {
  it("builds a same-origin wss URL for a new terminal with the org and size", () => {
    const url = new URL(
      terminalUrl({
        origin: "https://rc.example.com",
        sessionId: SESSION,
        orgId: ORG,
        program: "claude",
        size: { cols: 120, rows: 40 },
      }),
    );
    expect(url.protocol).toBe("wss:");
    expect(url.host).toBe("rc.example.com");
    expect(url.pathname).toBe(`/api/v1/sessions/${SESSION}/terminal`);
    expect(url.searchParams.get("program")).toBe("claude");
    expect(url.searchParams.get("cols")).toBe("120");
    expect(url.searchParams.get("rows")).toBe("40");
    expect(url.searchParams.get("org_id")).toBe(ORG);
    expect(url.searchParams.has("pty_id")).toBe(false);
  });

  it("uses ws on http, adds pty_id to re-attach, clamps sizes and omits a missing org", () => {
    const url = new URL(
      terminalUrl({
        origin: "http://localhost:5173",
        sessionId: SESSION,
        orgId: null,
        program: "bash",
        size: { cols: 2, rows: 1000 },
        ptyId: 7,
      }),
    );
    expect(url.protocol).toBe("ws:");
    expect(url.searchParams.get("pty_id")).toBe("7");
    expect(url.searchParams.get("cols")).toBe("10");
    expect(url.searchParams.get("rows")).toBe("300");
    expect(url.searchParams.has("org_id")).toBe(false);
  });
});

describe("control frames", () => {
  it("parses the server's control messages", () => {
    expect(parseControl('{"type":"opened","pty_id":3}')).toEqual({ type: "opened", ptyId: 3 });
    expect(parseControl('{"type":"attached","pty_id":4}')).toEqual({ type: "attached", ptyId: 4 });
    expect(parseControl('{"type":"exit","code":0,"signal":null}')).toEqual({ type: "exit", code: 0, signal: null });
    expect(parseControl('{"type":"exit","code":null,"signal":9}')).toEqual({ type: "exit", code: null, signal: 9 });
    expect(parseControl('{"type":"error","message":"no such terminal"}')).toEqual({
      type: "error",
      message: "no such terminal",
    });
  });

  it("ignores what it does not understand", () => {
    expect(parseControl("not json")).toBeNull();
    expect(parseControl("[1]")).toBeNull();
    expect(parseControl('{"type":"opened"}')).toBeNull();
    expect(parseControl('{"type":"bell"}')).toBeNull();
  });

  it("encodes resize and close", () => {
    expect(JSON.parse(resizeFrame({ cols: 100, rows: 30 }))).toEqual({ type: "resize", cols: 100, rows: 30 });
    expect(JSON.parse(CLOSE_FRAME)).toEqual({ type: "close" });
  });

  it("describes exits", () => {
    expect(describeExit(0, null)).toBe("exited with code 0");
    expect(describeExit(null, 9)).toBe("killed by signal 9");
  });
});

describe("reconnectDelay", () => {
  const policy = { baseMs: 500, maxMs: 4000, maxAttempts: 5 };
  it("grows exponentially up to the cap, with jitter below it, then gives up", () => {
    const top = () => 1;
    expect([1, 2, 3, 4, 5].map((n) => reconnectDelay(n, policy, top))).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(reconnectDelay(1, policy, () => 0)).toBe(375);
    expect(reconnectDelay(6, policy, top)).toBeNull();
  });
});

class FakeSocket implements SocketLike {
  binaryType: BinaryType = "blob";
  readyState = 0;
  sent: (string | Uint8Array)[] = [];
  closed = false;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string | ArrayBufferLike | ArrayBufferView): void {
    this.sent.push(typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer));
  }
  close(): void {
    this.closed = true;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  text(value: unknown): void {
    this.onmessage?.(new MessageEvent("message", { data: JSON.stringify(value) }));
  }
  binary(bytes: number[]): void {
    this.onmessage?.(new MessageEvent("message", { data: new Uint8Array(bytes).buffer }));
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code: 1006 }));
  }
}

function harness(options: { ptyId?: number; maxAttempts?: number } = {}) {
  const sockets: FakeSocket[] = [];
  const statuses: ConnectionStatus[] = [];
  const data: number[][] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const reattach = vi.fn();
  let size: TerminalSize = { cols: 80, rows: 24 };
  const conn = new TerminalConnection({
    url: (ptyId, s) =>
      terminalUrl({ origin: "http://h", sessionId: SESSION, orgId: ORG, program: "bash", size: s, ptyId }),
    size: () => size,
    onData: (bytes) => data.push(Array.from(bytes)),
    onStatus: (s) => statuses.push(s),
    onReattach: reattach,
    ptyId: options.ptyId ?? null,
    policy: { baseMs: 100, maxMs: 1000, maxAttempts: options.maxAttempts ?? 3 },
    random: () => 1,
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    setTimer: (fn, ms) => {
      timers.push({ fn, ms });
      return timers.length;
    },
    clearTimer: () => undefined,
  });
  return {
    conn,
    sockets,
    statuses,
    data,
    timers,
    reattach,
    setSize: (s: TerminalSize) => (size = s),
    last: () => {
      const socket = sockets.at(-1);
      if (!socket) throw new Error("no socket yet");
      return socket;
    },
    runTimer: () => timers.shift()?.fn(),
  };
}

describe("TerminalConnection", () => {
  it("opens a new terminal, forwards bytes both ways and sends resizes", () => {
    const h = harness();
    h.conn.start();
    const socket = h.last();
    expect(new URL(socket.url).searchParams.has("pty_id")).toBe(false);
    expect(socket.binaryType).toBe("arraybuffer");
    socket.open();
    socket.text({ type: "opened", pty_id: 5 });
    expect(h.statuses.at(-1)).toEqual({ kind: "open", ptyId: 5 });
    socket.binary([104, 105]);
    expect(h.data).toEqual([[104, 105]]);
    h.conn.sendText("é");
    expect(socket.sent).toContainEqual(new Uint8Array([0xc3, 0xa9]));
    h.conn.resize({ cols: 90, rows: 30 });
    expect(socket.sent.at(-1)).toBe(resizeFrame({ cols: 90, rows: 30 }));
    expect(h.reattach).not.toHaveBeenCalled();
  });

  it("re-attaches by pty_id after a dropped socket, with backoff, and resizes to the current size", () => {
    const h = harness();
    h.conn.start();
    h.last().open();
    h.last().text({ type: "opened", pty_id: 12 });
    h.last().drop();
    expect(h.statuses.at(-1)).toEqual({ kind: "reconnecting", attempt: 1, delayMs: 100 });
    expect(h.sockets).toHaveLength(1);
    h.setSize({ cols: 100, rows: 50 });
    h.runTimer();
    expect(h.sockets).toHaveLength(2);
    const url = new URL(h.last().url);
    expect(url.searchParams.get("pty_id")).toBe("12");
    h.last().open();
    h.last().text({ type: "attached", pty_id: 12 });
    expect(h.reattach).toHaveBeenCalledTimes(1);
    expect(h.last().sent).toContain(resizeFrame({ cols: 100, rows: 50 }));
    expect(h.statuses.at(-1)).toEqual({ kind: "open", ptyId: 12 });
  });

  it("backs off on repeated failures and gives up after the policy's attempts; retry starts again", () => {
    const h = harness({ maxAttempts: 2 });
    h.conn.start();
    h.last().drop();
    h.runTimer();
    h.last().drop();
    expect(h.statuses.at(-1)).toEqual({ kind: "reconnecting", attempt: 2, delayMs: 200 });
    h.runTimer();
    h.last().drop();
    expect(h.statuses.at(-1)).toEqual({ kind: "failed" });
    expect(h.timers).toHaveLength(0);
    h.conn.retry();
    expect(h.sockets).toHaveLength(4);
  });

  it("starts by re-attaching when it already knows the terminal", () => {
    const h = harness({ ptyId: 3 });
    h.conn.start();
    expect(new URL(h.last().url).searchParams.get("pty_id")).toBe("3");
  });

  it("stops at exit and does not reconnect", () => {
    const h = harness();
    h.conn.start();
    h.last().open();
    h.last().text({ type: "opened", pty_id: 1 });
    h.last().text({ type: "exit", code: 2, signal: null });
    h.last().drop();
    expect(h.statuses.at(-1)).toEqual({ kind: "exited", code: 2, signal: null });
    expect(h.timers).toHaveLength(0);
  });

  it("ends with the server's error when the socket closes after one", () => {
    const h = harness({ ptyId: 9 });
    h.conn.start();
    h.last().open();
    h.last().text({ type: "error", message: "no terminal 9" });
    h.last().drop();
    expect(h.statuses.at(-1)).toEqual({ kind: "error", message: "no terminal 9" });
    expect(h.timers).toHaveLength(0);
  });

  it("stops when another window takes the terminal over, and takes it back on retry", () => {
    const h = harness();
    h.conn.start();
    h.last().open();
    h.last().text({ type: "opened", pty_id: 6 });
    h.last().text({ type: "error", message: "another stream attached to this terminal" });
    h.last().drop();
    expect(h.statuses.at(-1)).toEqual({ kind: "detached" });
    expect(h.timers).toHaveLength(0);
    h.conn.retry();
    expect(new URL(h.last().url).searchParams.get("pty_id")).toBe("6");
    expect(h.statuses.at(-1)).toEqual({ kind: "connecting" });
  });

  it("hangs up with a close frame, and dispose leaves without reconnecting", () => {
    const h = harness();
    h.conn.start();
    const socket = h.last();
    socket.open();
    h.conn.hangUp();
    expect(socket.sent.at(-1)).toBe(CLOSE_FRAME);
    h.conn.dispose();
    expect(socket.closed).toBe(true);
    socket.drop();
    expect(h.statuses.at(-1)).toEqual({ kind: "closed" });
    expect(h.timers).toHaveLength(0);
  });
});
