import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeWebSocket } from "../../test/fakeWebSocket";
import { backoffDelay, type ConnectionStatus, EventConnection } from "./connection";
import { applyEvents, type EventsState, initialEventsState } from "./reducer";
import type { SessionEvent } from "./types";

function afterSeq(socket: FakeWebSocket | undefined): string | null {
  return socket ? new URL(socket.url).searchParams.get("after_seq") : null;
}

describe("EventConnection", () => {
  let state: EventsState;
  let statuses: ConnectionStatus[];
  let conn: EventConnection;

  beforeEach(() => {
    vi.useFakeTimers();
    FakeWebSocket.all = [];
    state = initialEventsState;
    statuses = [];
    conn = new EventConnection({
      sessionId: "s1",
      orgId: "org-1",
      origin: "wss://rc.example",
      afterSeq: () => state.lastSeq,
      onEvent: (event: SessionEvent) => {
        state = applyEvents(state, [event]);
      },
      onStatus: (s) => statuses.push(s),
      socket: (url) => new FakeWebSocket(url),
      random: () => 0.5,
    });
  });

  afterEach(() => {
    conn.stop();
    vi.useRealTimers();
  });

  it("connects to the session's events with after_seq and org_id", () => {
    conn.start();
    expect(FakeWebSocket.all[0]?.url).toBe("wss://rc.example/api/v1/sessions/s1/events?after_seq=0&org_id=org-1");
    FakeWebSocket.all[0]?.open();
    expect(statuses).toEqual(["live"]);
  });

  it("reconnects after a close (1012 api restart) resuming after the last applied seq", () => {
    conn.start();
    const first = FakeWebSocket.all[0];
    first?.open();
    first?.event(1);
    first?.event(2);
    first?.event(3);
    first?.serverClose(1012);
    expect(statuses.at(-1)).toBe("reconnecting");
    expect(FakeWebSocket.all).toHaveLength(1);

    vi.advanceTimersByTime(backoffDelay(1, () => 0.5));
    expect(FakeWebSocket.all).toHaveLength(2);
    expect(afterSeq(FakeWebSocket.all[1])).toBe("3");
    FakeWebSocket.all[1]?.open();
    expect(statuses.at(-1)).toBe("live");
  });

  it("resumes from the last applied seq, not the last received, when an event arrived ahead of a gap", () => {
    conn.start();
    const first = FakeWebSocket.all[0];
    first?.open();
    first?.event(1);
    first?.event(2);
    first?.event(4); // 3 lost: held, not applied
    expect(state.lastSeq).toBe(2);
    first?.serverClose(1006);
    vi.advanceTimersByTime(1000);
    expect(afterSeq(FakeWebSocket.all[1])).toBe("2");
  });

  it("treats an error frame as a reason to reconnect, but not a reply to a client message", () => {
    conn.start();
    const first = FakeWebSocket.all[0];
    first?.open();
    first?.event(1);
    first?.frame({ type: "error", error: { code: "conflict", message: "already decided" }, approval_id: "a1" });
    expect(first?.closedByClient).toBe(false);

    first?.frame({ type: "error", error: { code: "internal", message: "feed failed" } });
    expect(first?.closedByClient).toBe(true);
    expect(statuses.at(-1)).toBe("reconnecting");
    vi.advanceTimersByTime(1000);
    expect(afterSeq(FakeWebSocket.all[1])).toBe("1");
  });

  it("stops, with the reason, when the server ends the feed because access ended", () => {
    const denied: string[] = [];
    conn.stop();
    statuses = [];
    conn = new EventConnection({
      sessionId: "s1",
      orgId: "org-1",
      origin: "wss://rc.example",
      afterSeq: () => state.lastSeq,
      onEvent: (event: SessionEvent) => {
        state = applyEvents(state, [event]);
      },
      onStatus: (s) => statuses.push(s),
      onDenied: (m) => denied.push(m),
      socket: (url) => new FakeWebSocket(url),
      random: () => 0.5,
    });
    conn.start();
    const first = FakeWebSocket.all[0];
    first?.open();
    first?.event(1);
    first?.frame({ type: "error", error: { code: "unauthenticated", message: "invalid, expired or revoked API token" } });
    expect(first?.closedByClient).toBe(true);
    expect(statuses.at(-1)).toBe("denied");
    expect(denied).toEqual(["invalid, expired or revoked API token"]);
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.all).toHaveLength(1);
    // Hiding the page (stop) keeps the reason visible; the user may still try again (e.g.
    // after being added back), from where they were.
    conn.stop();
    expect(statuses.at(-1)).toBe("denied");
    conn.retry();
    conn.start();
    expect(FakeWebSocket.all).toHaveLength(2);
    expect(afterSeq(FakeWebSocket.all[1])).toBe("1");

    // A 1008 close without the error frame means the same.
    FakeWebSocket.all[1]?.open();
    FakeWebSocket.all[1]?.serverClose(1008, "invalid, expired or revoked API token");
    expect(statuses.at(-1)).toBe("denied");
    expect(denied.at(-1)).toBe("invalid, expired or revoked API token");
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.all).toHaveLength(2);
  });

  it("backs off with a cap, gives up after the attempt limit, and retry() starts over at once", () => {
    conn.start();
    for (let i = 0; i < 12; i += 1) {
      FakeWebSocket.all.at(-1)?.serverClose(1006);
      vi.advanceTimersByTime(30_000);
    }
    expect(FakeWebSocket.all).toHaveLength(13);
    FakeWebSocket.all.at(-1)?.serverClose(1006);
    expect(statuses.at(-1)).toBe("closed");
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.all).toHaveLength(13);

    conn.retry();
    expect(FakeWebSocket.all).toHaveLength(14);
  });

  it("stop() closes the socket and never reconnects", () => {
    conn.start();
    const first = FakeWebSocket.all[0];
    first?.open();
    conn.stop();
    expect(first?.closedByClient).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.all).toHaveLength(1);
    expect(statuses.at(-1)).toBe("closed");
  });
});

describe("backoffDelay", () => {
  it("grows exponentially with jitter and is capped", () => {
    expect(backoffDelay(1, () => 0)).toBe(250);
    expect(backoffDelay(1, () => 1)).toBe(500);
    expect(backoffDelay(3, () => 1)).toBe(2000);
    expect(backoffDelay(30, () => 1)).toBe(30_000);
    expect(backoffDelay(30, () => 0)).toBe(15_000);
  });
});
