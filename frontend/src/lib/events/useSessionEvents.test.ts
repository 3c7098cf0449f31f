import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SocketLike } from "./connection";
import { useSessionEvents } from "./useSessionEvents";

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send() {
    // Not used here.
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  event(seq: number) {
    const event = { seq, task_id: null, at: "2026-01-01T00:00:00Z", kind: "queue_changed", queued: [] };
    this.onmessage?.(new MessageEvent("message", { data: JSON.stringify({ type: "event", event }) }));
  }
}

const socket = (url: string) => new FakeSocket(url);

describe("useSessionEvents", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("applies frames in batches and repairs a gap the feed left by reconnecting after the last applied seq", () => {
    const { result, unmount } = renderHook(() => useSessionEvents("s1", "org-1", { socket }));
    const first = FakeSocket.all[0];
    act(() => {
      first?.open();
      first?.event(1);
      first?.event(2);
      first?.event(4);
    });
    expect(result.current.status).toBe("live");
    expect(result.current.state.lastSeq).toBe(0); // not flushed yet
    act(() => {
      vi.advanceTimersByTime(60);
    });
    expect(result.current.state.lastSeq).toBe(2);
    expect(result.current.state.held.size).toBe(1);

    act(() => {
      vi.advanceTimersByTime(3000);
    });
    expect(FakeSocket.all).toHaveLength(2);
    expect(new URL(FakeSocket.all[1]?.url ?? "").searchParams.get("after_seq")).toBe("2");
    act(() => {
      FakeSocket.all[1]?.open();
      FakeSocket.all[1]?.event(3);
      FakeSocket.all[1]?.event(4);
      vi.advanceTimersByTime(60);
    });
    expect(result.current.state.lastSeq).toBe(4);
    expect(result.current.state.held.size).toBe(0);
    unmount();
    expect(FakeSocket.all[1]?.readyState).toBe(3);
  });
});
