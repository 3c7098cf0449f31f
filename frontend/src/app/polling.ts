/**
 * Polling that respects the page's visibility: a hidden tab makes no requests (phones keep
 * installed apps alive in the background), and coming back refreshes at once.
 */
import { useEffect, useEffectEvent } from "react";

/** Focus and visibilitychange both fire when a tab comes back; one refresh is enough. */
const MIN_GAP_MS = 1000;

export interface VisiblePollerOptions {
  intervalMs: number;
  run: () => void;
  /** Injectable for tests. */
  doc?: Document;
  win?: Window;
  now?: () => number;
}

/**
 * Runs `run` now (when visible), every `intervalMs` while the document is visible, and again when
 * it becomes visible or the window gets focus. Returns the stop function.
 */
export function startVisiblePoller({
  intervalMs,
  run,
  doc = document,
  win = window,
  now = () => Date.now(),
}: VisiblePollerOptions): () => void {
  let timer: ReturnType<typeof setInterval> | undefined;
  let last = Number.NEGATIVE_INFINITY;

  const tick = (force: boolean) => {
    const t = now();
    if (!force && t - last < MIN_GAP_MS) return;
    last = t;
    run();
  };
  const startTimer = () => {
    timer ??= win.setInterval(() => {
      tick(true);
    }, intervalMs);
  };
  const stopTimer = () => {
    if (timer !== undefined) win.clearInterval(timer);
    timer = undefined;
  };
  const onVisibility = () => {
    if (doc.visibilityState === "visible") {
      tick(false);
      startTimer();
    } else {
      stopTimer();
    }
  };
  const onFocus = () => {
    tick(false);
  };

  if (doc.visibilityState === "visible") {
    tick(true);
    startTimer();
  }
  doc.addEventListener("visibilitychange", onVisibility);
  win.addEventListener("focus", onFocus);
  return () => {
    stopTimer();
    doc.removeEventListener("visibilitychange", onVisibility);
    win.removeEventListener("focus", onFocus);
  };
}

/** {@link startVisiblePoller} bound to a component; `run` may change without restarting it. */
export function useVisiblePolling(run: () => void, intervalMs: number, enabled = true): void {
  const onTick = useEffectEvent(run);
  useEffect(() => {
    if (!enabled) return;
    return startVisiblePoller({
      intervalMs,
      run: () => {
        onTick();
      },
    });
  }, [intervalMs, enabled]);
}
