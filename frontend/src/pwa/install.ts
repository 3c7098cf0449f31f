/**
 * "Install app": Chromium fires `beforeinstallprompt` once the app is installable; keeping the
 * event lets the user menu offer installation later. The listener must be attached at startup
 * (main.tsx), before React renders, or the event can be missed.
 */
import { useSyncExternalStore } from "react";

/** Not in TypeScript's DOM library (a Chromium-only API). */
export interface BeforeInstallPromptEvent extends Event {
  prompt(): Promise<void>;
  readonly userChoice: Promise<{ outcome: "accepted" | "dismissed" }>;
}

let deferred: BeforeInstallPromptEvent | null = null;
const listeners = new Set<() => void>();

function emit() {
  for (const listener of listeners) listener();
}

export function captureInstallPrompt(win: Window = window): void {
  win.addEventListener("beforeinstallprompt", (event) => {
    // Keep the browser's own mini-infobar away; the user menu offers installation instead.
    event.preventDefault();
    deferred = event as BeforeInstallPromptEvent;
    emit();
  });
  win.addEventListener("appinstalled", () => {
    deferred = null;
    emit();
  });
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/** Whether the browser offered installation, and the action that shows its prompt. */
export function useInstallPrompt(): { canInstall: boolean; install: () => Promise<void> } {
  const event = useSyncExternalStore(
    subscribe,
    () => deferred,
    () => null,
  );
  return {
    canInstall: event !== null,
    install: async () => {
      if (!deferred) return;
      const prompt = deferred;
      await prompt.prompt();
      // The event can be used once, whatever the user chose.
      await prompt.userChoice;
      if (deferred === prompt) {
        deferred = null;
        emit();
      }
    },
  };
}
