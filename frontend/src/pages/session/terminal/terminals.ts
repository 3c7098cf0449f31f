/**
 * The list of a session's terminals as the Terminal tab keeps it. Stored in sessionStorage so
 * that leaving the tab (or reloading the page) re-attaches to the same terminals by `pty_id`:
 * they keep running in the sandbox whether or not a socket is open.
 */
import type { Program } from "./protocol";

export interface TerminalEntry {
  /** Stable React key and tab id. */
  key: string;
  program: Program;
  /** "Bash 2": numbered per session, never reused while the list lives. */
  number: number;
  /** Known once the server said `opened`. */
  ptyId: number | null;
}

const PREFIX = "rc.terminals.";

export function programLabel(program: Program): string {
  return program === "claude" ? "Claude" : "Bash";
}

export function entryLabel(entry: TerminalEntry): string {
  return `${programLabel(entry.program)} ${entry.number}`;
}

function isEntry(value: unknown): value is TerminalEntry {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.key === "string" &&
    (v.program === "bash" || v.program === "claude") &&
    typeof v.number === "number" &&
    (v.ptyId === null || typeof v.ptyId === "number")
  );
}

export function loadTerminals(sessionId: string): TerminalEntry[] {
  try {
    const raw = sessionStorage.getItem(PREFIX + sessionId);
    const parsed: unknown = raw ? JSON.parse(raw) : [];
    return Array.isArray(parsed) ? parsed.filter(isEntry) : [];
  } catch {
    return [];
  }
}

export function saveTerminals(sessionId: string, entries: readonly TerminalEntry[]): void {
  try {
    // Only terminals the server confirmed can be re-attached; the others would open anew.
    const kept = entries.filter((e) => e.ptyId !== null);
    if (kept.length === 0) sessionStorage.removeItem(PREFIX + sessionId);
    else sessionStorage.setItem(PREFIX + sessionId, JSON.stringify(kept));
  } catch {
    // Storage unavailable: terminals are not re-attached after a page change.
  }
}

export function nextNumber(entries: readonly TerminalEntry[], program: Program): number {
  return entries.filter((e) => e.program === program).reduce((max, e) => Math.max(max, e.number), 0) + 1;
}
