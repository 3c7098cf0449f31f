/**
 * The session view's Terminal tab: several terminals in the session's sandbox as sub-tabs
 * (bash or the interactive Claude TUI), each an xterm.js view over the terminal WebSocket.
 * Terminals outlive this tab: leaving and coming back re-attaches them by `pty_id`.
 */
import { type KeyboardEvent, lazy, Suspense, useCallback, useEffect, useId, useRef, useState } from "react";
import { useAuth } from "../../../app/auth";
import { useTheme } from "../../../app/theme";
import { ConfirmDialog } from "../../../components/Dialog";
import { LoadBoundary } from "../../../components/LoadBoundary";
import type { SessionTabProps } from "../contracts";
import { type ConnectionStatus, describeExit, type Program } from "./protocol";
import "./terminal.css";
import { entryLabel, loadTerminals, nextNumber, saveTerminals, type TerminalEntry } from "./terminals";
import type { TerminalHandle } from "./TerminalView";

// xterm.js (~300 kB) loads with the first terminal, not with the app.
const TerminalView = lazy(() => import("./TerminalView").then((m) => ({ default: m.TerminalView })));

/** Keys a phone keyboard lacks, sent as the bytes a terminal expects. */
const SPECIAL_KEYS: { label: string; name: string; data: string }[] = [
  { label: "Esc", name: "Escape", data: "\x1b" },
  { label: "Tab", name: "Tab", data: "\t" },
  { label: "^C", name: "Control C", data: "\x03" },
  { label: "^D", name: "Control D", data: "\x04" },
  { label: "↑", name: "Up arrow", data: "\x1b[A" },
  { label: "↓", name: "Down arrow", data: "\x1b[B" },
  { label: "←", name: "Left arrow", data: "\x1b[D" },
  { label: "→", name: "Right arrow", data: "\x1b[C" },
];

function statusText(status: ConnectionStatus | undefined): string {
  switch (status?.kind) {
    case undefined:
    case "connecting":
      return "Connecting…";
    case "open":
      return "Connected";
    case "reconnecting":
      return `Connection lost. Reconnecting in ${Math.ceil(status.delayMs / 1000)} s (attempt ${status.attempt})…`;
    case "exited":
      return `The process ${describeExit(status.code, status.signal)}.`;
    case "error":
      return `The terminal ended: ${status.message}`;
    case "failed":
      return "Could not connect to the terminal. The session must be running, and the sandbox reachable.";
    case "detached":
      return "This terminal was opened in another window or tab. It is still running.";
    case "closed":
      return "Closed.";
  }
}

function isEnded(status: ConnectionStatus | undefined): boolean {
  return status?.kind === "exited" || status?.kind === "error";
}

let keySeq = 0;
function newKey(): string {
  keySeq += 1;
  return `t${Date.now().toString(36)}-${keySeq}`;
}

export function TerminalTab({ session, canWrite }: SessionTabProps) {
  if (!canWrite) {
    return (
      <div className="terminal-tab">
        <p className="alert alert-info">
          Terminals are for the session&apos;s owner and organisation admins: a terminal can run any command in the
          sandbox. You can follow the session in the other tabs.
        </p>
      </div>
    );
  }
  if (session.state !== "running") {
    return (
      <div className="terminal-tab">
        <p className="alert alert-info">
          The session is {session.state}. Terminals run inside its sandbox: start the session to open one.
        </p>
      </div>
    );
  }
  return <Terminals sessionId={session.id} />;
}

function Terminals({ sessionId }: { sessionId: string }) {
  const { org } = useAuth();
  const { theme } = useTheme();
  const [entries, setEntries] = useState<TerminalEntry[]>(() => loadTerminals(sessionId));
  const [active, setActive] = useState<string | null>(() => entries[0]?.key ?? null);
  const [statuses, setStatuses] = useState<Record<string, ConnectionStatus>>({});
  const [notices, setNotices] = useState<Record<string, string>>({});
  const [menuOpen, setMenuOpen] = useState(false);
  const [closing, setClosing] = useState<TerminalEntry | null>(null);
  const handles = useRef(new Map<string, TerminalHandle>());
  const tabRefs = useRef(new Map<string, HTMLButtonElement>());
  const menuButton = useRef<HTMLButtonElement>(null);
  const menuId = useId();
  const baseId = useId();

  useEffect(() => {
    saveTerminals(sessionId, entries);
  }, [sessionId, entries]);

  const open = useCallback((program: Program) => {
    const key = newKey();
    setEntries((list) => [...list, { key, program, number: nextNumber(list, program), ptyId: null }]);
    setActive(key);
    setMenuOpen(false);
  }, []);

  function remove(key: string) {
    handles.current.get(key)?.connection.dispose();
    const index = entries.findIndex((e) => e.key === key);
    const next = entries.filter((e) => e.key !== key);
    setEntries(next);
    if (active === key) setActive(next[Math.min(index, next.length - 1)]?.key ?? null);
    setStatuses(({ [key]: _, ...rest }) => rest);
    setNotices(({ [key]: _, ...rest }) => rest);
  }

  function requestClose(entry: TerminalEntry) {
    // Nothing to hang up without a live socket: the tab just goes (a detached terminal lives on
    // in the window that took it).
    const kind = statuses[entry.key]?.kind;
    if (isEnded(statuses[entry.key]) || kind === "failed" || kind === "detached") remove(entry.key);
    else setClosing(entry);
  }

  function confirmClose() {
    if (!closing) return;
    // Hang up first (SIGHUP to the process); closing only the socket would leave it running.
    handles.current.get(closing.key)?.connection.hangUp();
    remove(closing.key);
    setClosing(null);
  }

  function onTabKeyDown(event: KeyboardEvent<HTMLButtonElement>, index: number) {
    let target: number | null = null;
    if (event.key === "ArrowRight") target = (index + 1) % entries.length;
    else if (event.key === "ArrowLeft") target = (index - 1 + entries.length) % entries.length;
    else if (event.key === "Home") target = 0;
    else if (event.key === "End") target = entries.length - 1;
    else if (event.key === "Delete") {
      const entry = entries[index];
      if (entry) requestClose(entry);
      event.preventDefault();
      return;
    }
    if (target === null) return;
    event.preventDefault();
    const entry = entries[target];
    if (entry) {
      setActive(entry.key);
      tabRefs.current.get(entry.key)?.focus();
    }
  }

  function onMenuKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key === "Escape") {
      event.stopPropagation();
      setMenuOpen(false);
      menuButton.current?.focus();
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    event.preventDefault();
    const items = Array.from(event.currentTarget.querySelectorAll<HTMLButtonElement>("[role=menuitem]"));
    const at = items.indexOf(document.activeElement as HTMLButtonElement);
    const next = event.key === "ArrowDown" ? (at + 1) % items.length : (at - 1 + items.length) % items.length;
    items[next]?.focus();
  }

  const activeEntry = entries.find((e) => e.key === active) ?? null;
  const activeStatus = activeEntry ? statuses[activeEntry.key] : undefined;

  return (
    <div className="terminal-tab">
      <div className="terminal-bar">
        {entries.length > 0 ? (
          <div role="tablist" aria-label="Terminals" className="terminal-tabs">
            {entries.map((entry, index) => {
              const selected = entry.key === active;
              const ended = isEnded(statuses[entry.key]);
              return (
                <div key={entry.key} className={selected ? "terminal-tab-item active" : "terminal-tab-item"}>
                  <button
                    ref={(el) => {
                      if (el) tabRefs.current.set(entry.key, el);
                      else tabRefs.current.delete(entry.key);
                    }}
                    type="button"
                    role="tab"
                    id={`${baseId}-tab-${entry.key}`}
                    aria-selected={selected}
                    aria-controls={`${baseId}-panel-${entry.key}`}
                    tabIndex={selected ? 0 : -1}
                    aria-keyshortcuts="Delete"
                    className="terminal-tab-button"
                    onClick={() => setActive(entry.key)}
                    onKeyDown={(e) => onTabKeyDown(e, index)}
                  >
                    {entryLabel(entry)}
                    {ended ? <span className="terminal-tab-ended"> (ended)</span> : null}
                  </button>
                  <button
                    type="button"
                    className="terminal-tab-close"
                    aria-label={`Close ${entryLabel(entry)}`}
                    title={`Close ${entryLabel(entry)}`}
                    onClick={() => requestClose(entry)}
                  >
                    ×
                  </button>
                </div>
              );
            })}
          </div>
        ) : null}
        <div className="terminal-new">
          <button
            ref={menuButton}
            type="button"
            className="button button-small"
            aria-haspopup="menu"
            aria-expanded={menuOpen}
            aria-controls={menuOpen ? menuId : undefined}
            onClick={() => setMenuOpen((v) => !v)}
          >
            New terminal
          </button>
          {menuOpen ? (
            <div
              id={menuId}
              role="menu"
              aria-label="New terminal"
              className="terminal-menu"
              onKeyDown={onMenuKeyDown}
              ref={(el) => el?.querySelector<HTMLButtonElement>("[role=menuitem]")?.focus()}
            >
              <button type="button" role="menuitem" tabIndex={-1} onClick={() => open("bash")}>
                Bash
                <span className="muted small"> a login shell in /workspace</span>
              </button>
              <button type="button" role="menuitem" tabIndex={-1} onClick={() => open("claude")}>
                Claude TUI
                <span className="muted small"> Claude Code&apos;s interactive interface</span>
              </button>
            </div>
          ) : null}
        </div>
      </div>

      {entries.length === 0 ? (
        <div className="terminal-empty">
          <p>No terminal is open. A terminal runs in the session&apos;s sandbox, in /workspace.</p>
          <div className="toolbar">
            <button type="button" className="button button-primary" onClick={() => open("bash")}>
              Open Bash
            </button>
            <button type="button" className="button" onClick={() => open("claude")}>
              Open Claude TUI
            </button>
          </div>
        </div>
      ) : null}

      {entries.map((entry) => {
        const selected = entry.key === active;
        return (
          <div
            key={entry.key}
            role="tabpanel"
            id={`${baseId}-panel-${entry.key}`}
            aria-labelledby={`${baseId}-tab-${entry.key}`}
            hidden={!selected}
            className="terminal-panel"
          >
            <LoadBoundary what="terminal">
              <Suspense fallback={<p className="muted">Loading the terminal…</p>}>
                <TerminalView
                  sessionId={sessionId}
                  orgId={org?.id ?? null}
                  program={entry.program}
                  initialPtyId={entry.ptyId}
                  visible={selected}
                  theme={theme}
                  label={entryLabel(entry)}
                  onStatus={(status) => setStatuses((s) => ({ ...s, [entry.key]: status }))}
                  onPtyId={(ptyId) =>
                    setEntries((list) => list.map((e) => (e.key === entry.key ? { ...e, ptyId } : e)))
                  }
                  onNotice={(message) => setNotices((n) => ({ ...n, [entry.key]: message }))}
                  onReady={(handle) => {
                    if (handle) handles.current.set(entry.key, handle);
                    else handles.current.delete(entry.key);
                  }}
                />
              </Suspense>
            </LoadBoundary>
          </div>
        );
      })}

      {activeEntry ? (
        <div className="terminal-footer">
          <div className="terminal-keys" role="group" aria-label="Special keys">
            {SPECIAL_KEYS.map((key) => (
              <button
                key={key.name}
                type="button"
                className="button button-small"
                aria-label={key.name}
                disabled={activeStatus?.kind !== "open"}
                onClick={() => handles.current.get(activeEntry.key)?.input(key.data)}
              >
                {key.label}
              </button>
            ))}
          </div>
          <p
            className={isEnded(activeStatus) || activeStatus?.kind === "failed" ? "terminal-status ended" : "terminal-status"}
            role="status"
          >
            {statusText(activeStatus)}
            {notices[activeEntry.key] && activeStatus?.kind === "open" ? ` ${notices[activeEntry.key] ?? ""}` : null}
            {activeStatus?.kind === "failed" || activeStatus?.kind === "detached" ? (
              <button
                type="button"
                className="button button-small"
                onClick={() => handles.current.get(activeEntry.key)?.connection.retry()}
              >
                {activeStatus.kind === "detached" ? "Use it here" : "Reconnect"}
              </button>
            ) : null}
            {isEnded(activeStatus) ? (
              <>
                <button type="button" className="button button-small" onClick={() => open(activeEntry.program)}>
                  New {activeEntry.program === "claude" ? "Claude TUI" : "Bash"}
                </button>
                <button type="button" className="button button-small" onClick={() => remove(activeEntry.key)}>
                  Close
                </button>
              </>
            ) : null}
          </p>
        </div>
      ) : null}

      {closing ? (
        <ConfirmDialog
          title={`Close ${entryLabel(closing)}?`}
          message="The terminal's process is hung up (SIGHUP) and its output is lost. To keep it running, switch tabs instead."
          confirmLabel="Close terminal"
          danger
          onConfirm={confirmClose}
          onCancel={() => setClosing(null)}
        />
      ) : null}
    </div>
  );
}
