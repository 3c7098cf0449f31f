import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeWebSocket } from "../test/fakeWebSocket";
import { changesUrl, parseChange, type SessionChange, SessionChangesConnection } from "./sessionChanges";

describe("parseChange", () => {
  it("reads resyncs and changes, and nothing else", () => {
    expect(parseChange('{"resync":true,"session_id":null,"state":null,"deleted":false}')).toEqual({ resync: true });
    expect(parseChange('{"resync":false,"session_id":"s1","state":"running","deleted":false}')).toEqual({
      resync: false,
      sessionId: "s1",
      state: "running",
      deleted: false,
    });
    expect(parseChange('{"type":"error","error":{"code":"unauthenticated","message":"x"}}')).toBeNull();
    expect(parseChange("not json")).toBeNull();
    expect(parseChange('{"resync":false}')).toBeNull();
  });

  it("asks for the organisation in the query (browsers cannot set headers on a WebSocket)", () => {
    expect(changesUrl("wss://rc.example", "org-1")).toBe("wss://rc.example/api/v1/sessions/changes?org_id=org-1");
    expect(changesUrl("wss://rc.example", null)).toBe("wss://rc.example/api/v1/sessions/changes");
  });
});

describe("SessionChangesConnection", () => {
  let changes: SessionChange[];
  let live: boolean[];
  let conn: SessionChangesConnection;

  beforeEach(() => {
    vi.useFakeTimers();
    FakeWebSocket.all = [];
    changes = [];
    live = [];
    conn = new SessionChangesConnection({
      orgId: "org-1",
      origin: "wss://rc.example",
      onChange: (c) => changes.push(c),
      onLive: (l) => live.push(l),
      socket: (url) => new FakeWebSocket(url),
      random: () => 0.5,
    });
  });

  afterEach(() => {
    conn.stop();
    vi.useRealTimers();
  });

  it("is live from the first resync and hands every change on", () => {
    conn.start();
    const socket = FakeWebSocket.all[0];
    socket?.open();
    expect(live).toEqual([]);
    socket?.frame({ resync: true, session_id: null, state: null, deleted: false });
    socket?.frame({ resync: false, session_id: "s1", state: "stopped", deleted: true });
    expect(live).toEqual([true]);
    expect(changes).toEqual([
      { resync: true },
      { resync: false, sessionId: "s1", state: "stopped", deleted: true },
    ]);
  });

  it("reconnects after a drop, but not once access ended (1008)", () => {
    conn.start();
    FakeWebSocket.all[0]?.open();
    FakeWebSocket.all[0]?.serverClose(1006);
    expect(live.at(-1)).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(FakeWebSocket.all).toHaveLength(2);
    FakeWebSocket.all[1]?.open();
    FakeWebSocket.all[1]?.serverClose(1008, "invalid, expired or revoked API token");
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.all).toHaveLength(2);
  });

  it("gives up after repeated failures without a resync (e.g. a refused upgrade)", () => {
    conn.start();
    for (let i = 0; i < 12; i += 1) {
      FakeWebSocket.all.at(-1)?.serverClose(1006);
      vi.advanceTimersByTime(30_000);
    }
    expect(FakeWebSocket.all).toHaveLength(13);
    FakeWebSocket.all.at(-1)?.serverClose(1006);
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.all).toHaveLength(13);
  });

  it("stop() closes the socket and never reconnects", () => {
    conn.start();
    const socket = FakeWebSocket.all[0];
    socket?.open();
    conn.stop();
    expect(socket?.closedByClient).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.all).toHaveLength(1);
  });
});
