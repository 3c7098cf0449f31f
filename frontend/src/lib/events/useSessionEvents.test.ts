import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeWebSocket } from "../../test/fakeWebSocket";
import { useSessionEvents } from "./useSessionEvents";

const socket = (url: string) => new FakeWebSocket(url);

describe("useSessionEvents", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeWebSocket.all = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("applies frames in batches and repairs a gap the feed left by reconnecting after the last applied seq", () => {
    const { result, unmount } = renderHook(() => useSessionEvents("s1", "org-1", { socket }));
    const first = FakeWebSocket.all[0];
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
    expect(FakeWebSocket.all).toHaveLength(2);
    expect(new URL(FakeWebSocket.all[1]?.url ?? "").searchParams.get("after_seq")).toBe("2");
    act(() => {
      FakeWebSocket.all[1]?.open();
      FakeWebSocket.all[1]?.event(3);
      FakeWebSocket.all[1]?.event(4);
      vi.advanceTimersByTime(60);
    });
    expect(result.current.state.lastSeq).toBe(4);
    expect(result.current.state.held.size).toBe(0);
    unmount();
    expect(FakeWebSocket.all[1]?.readyState).toBe(3);
  });
});
