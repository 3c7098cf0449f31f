/** The chat's personal toggles (kept per browser), the queue-drained beep and the wake lock. */
import { useCallback, useEffect, useState } from "react";

export type ChatPref = "sound" | "autoScroll" | "wakeLock";

const DEFAULTS: Record<ChatPref, boolean> = { sound: false, autoScroll: true, wakeLock: false };

function key(pref: ChatPref): string {
  return `rc.chat.${pref}`;
}

export function readPref(pref: ChatPref): boolean {
  try {
    const value = localStorage.getItem(key(pref));
    return value === null ? DEFAULTS[pref] : value === "1";
  } catch {
    return DEFAULTS[pref];
  }
}

export function usePref(pref: ChatPref): [boolean, (value: boolean) => void] {
  const [value, setValue] = useState(() => readPref(pref));
  const set = useCallback(
    (next: boolean) => {
      setValue(next);
      try {
        localStorage.setItem(key(pref), next ? "1" : "0");
      } catch {
        // Storage unavailable (private mode): the choice lasts for this page.
      }
    },
    [pref],
  );
  return [value, set];
}

let audio: AudioContext | null = null;

/**
 * A short beep. Browsers only let a page start audio after a user gesture, so the context is
 * created when the user turns the sound on (`primeAudio`) and reused afterwards.
 */
export function primeAudio(): void {
  const Ctor = globalThis.AudioContext as typeof AudioContext | undefined;
  if (!audio && Ctor) audio = new Ctor();
  void audio?.resume();
}

export function beep(): void {
  if (!audio) primeAudio();
  const ctx = audio;
  if (!ctx) return;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = "sine";
  osc.frequency.value = 880;
  gain.gain.setValueAtTime(0.0001, ctx.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  osc.stop(ctx.currentTime + 0.3);
}

interface WakeLockSentinelLike {
  released: boolean;
  release: () => Promise<void>;
}
interface WakeLockLike {
  request: (type: "screen") => Promise<WakeLockSentinelLike>;
}

function wakeLockApi(): WakeLockLike | null {
  // Typed as always present, but Firefox before 126 and insecure origins lack it.
  return "wakeLock" in navigator ? navigator.wakeLock : null;
}

export function wakeLockSupported(): boolean {
  return wakeLockApi() !== null;
}

/** Keeps the screen on while `enabled`; the browser drops the lock when the tab hides, so it is taken again on return. */
export function useWakeLock(enabled: boolean): void {
  useEffect(() => {
    const api = wakeLockApi();
    if (!enabled || !api) return;
    let sentinel: WakeLockSentinelLike | null = null;
    let active = true;
    const acquire = () => {
      if (document.visibilityState !== "visible" || (sentinel && !sentinel.released)) return;
      api.request("screen").then(
        (s) => {
          if (active) sentinel = s;
          else void s.release();
        },
        () => undefined, // Refused (battery saver, policy): the toggle simply has no effect.
      );
    };
    acquire();
    document.addEventListener("visibilitychange", acquire);
    return () => {
      active = false;
      document.removeEventListener("visibilitychange", acquire);
      void sentinel?.release();
    };
  }, [enabled]);
}
