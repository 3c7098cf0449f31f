import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startVisiblePoller } from "./polling";

class FakeDocument extends EventTarget {
  visibilityState: DocumentVisibilityState = "visible";
  set(state: DocumentVisibilityState) {
    this.visibilityState = state;
    this.dispatchEvent(new Event("visibilitychange"));
  }
}

describe("startVisiblePoller", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function start(doc = new FakeDocument()) {
    const run = vi.fn();
    const stop = startVisiblePoller({
      intervalMs: 10_000,
      run,
      doc: doc as unknown as Document,
      win: window,
      now: () => Date.now(),
    });
    return { run, stop, doc };
  }

  it("runs at once and then every interval while visible", () => {
    const { run, stop } = start();
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(9_999);
    expect(run).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(run).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(20_000);
    expect(run).toHaveBeenCalledTimes(4);
    stop();
    vi.advanceTimersByTime(60_000);
    expect(run).toHaveBeenCalledTimes(4);
  });

  it("pauses while hidden and refreshes when the tab comes back", () => {
    const { run, doc, stop } = start();
    doc.set("hidden");
    vi.advanceTimersByTime(60_000);
    expect(run).toHaveBeenCalledTimes(1);
    doc.set("visible");
    expect(run).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(10_000);
    expect(run).toHaveBeenCalledTimes(3);
    stop();
  });

  it("does not poll a tab that starts hidden", () => {
    const doc = new FakeDocument();
    doc.visibilityState = "hidden";
    const { run, stop } = start(doc);
    vi.advanceTimersByTime(60_000);
    expect(run).not.toHaveBeenCalled();
    stop();
  });

  it("refreshes on focus, once when focus and visibility arrive together", () => {
    const { run, doc, stop } = start();
    vi.advanceTimersByTime(5_000);
    window.dispatchEvent(new Event("focus"));
    expect(run).toHaveBeenCalledTimes(2);
    doc.set("visible");
    expect(run).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(2_000);
    window.dispatchEvent(new Event("focus"));
    expect(run).toHaveBeenCalledTimes(3);
    stop();
    window.dispatchEvent(new Event("focus"));
    expect(run).toHaveBeenCalledTimes(3);
  });
});
