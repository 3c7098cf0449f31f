/**
 * The session's conversation, live: turns built from the event stream (held by the page), the
 * queue, the composer and the session's chat controls.
 */
import { useEffect, useId, useLayoutEffect, useMemo, useRef, useState } from "react";
import type { Session, Task } from "../../../api/types";
import type { ConnectionStatus } from "../../../lib/events/connection";
import { type EventsState, pendingApprovals } from "../../../lib/events/reducer";
import type { SessionTabProps } from "../contracts";
import { Composer } from "./Composer";
import { beep, primeAudio, usePref, useWakeLock, wakeLockSupported } from "./prefs";
import { QueuePanel } from "./QueuePanel";
import { SessionControls } from "./SessionControls";
import { TurnView } from "./TurnView";
import "./chat.css";

export interface ChatTabProps extends SessionTabProps {
  events: EventsState;
  status: ConnectionStatus;
  /** Why the feed was ended (status `denied`). */
  denied?: string | null;
  onRetry: () => void;
  onSessionChange: (session: Session) => void;
  /** Owners and admins may make an "Always" apply to the organisation. */
  canDecideForOrg: boolean;
  /** User id → display name, for who decided an approval. */
  names: ReadonlyMap<string, string>;
  /** Prompts by task id, for turns whose stream has no echo of the prompt. */
  prompts?: ReadonlyMap<string, string>;
  onQueued?: (task: Task) => void;
}

const STATUS_TEXT: Record<ConnectionStatus, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  closed: "Offline",
  denied: "Access ended",
};

/** The queue drained this recently counts as "now" (not a replay of old history). */
const FRESH_MS = 60_000;
/** Distance from the bottom (px) still counted as "at the bottom". */
const STICK_PX = 48;

function ConnectionIndicator({
  status,
  denied,
  onRetry,
}: {
  status: ConnectionStatus;
  denied: string | null;
  onRetry: () => void;
}) {
  return (
    <div className={`chat-connection chat-connection-${status}`}>
      <span role="status">
        <span className="chat-connection-dot" aria-hidden="true" />
        <span className="visually-hidden">Event stream: </span>
        {STATUS_TEXT[status]}
        {status === "denied" && denied ? `: ${denied}` : null}
      </span>
      {status !== "live" && status !== "connecting" ? (
        <button type="button" className="button button-small" onClick={onRetry}>
          Retry now
        </button>
      ) : null}
    </div>
  );
}

function Toggle({ label, checked, onChange }: { label: string; checked: boolean; onChange: (v: boolean) => void }) {
  return (
    <label className="check chat-toggle small">
      <input
        type="checkbox"
        checked={checked}
        onChange={(e) => {
          onChange(e.target.checked);
        }}
      />
      {label}
    </label>
  );
}

export function ChatTab({
  session,
  canWrite,
  events,
  status,
  denied,
  onRetry,
  onSessionChange,
  canDecideForOrg,
  names,
  prompts,
  onQueued,
}: ChatTabProps) {
  const { model } = events;
  const logId = useId();
  const log = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const [showJump, setShowJump] = useState(false);
  const [sound, setSound] = usePref("sound");
  const [autoScroll, setAutoScroll] = usePref("autoScroll");
  const [wakeLock, setWakeLock] = usePref("wakeLock");
  const [canWakeLock] = useState(wakeLockSupported);
  // Phones get the conversation first; the settings stay one tap away.
  const [settingsOpen] = useState(() =>
    typeof window.matchMedia === "function" ? window.matchMedia("(min-width: 48rem)").matches : true,
  );
  useWakeLock(canWakeLock && wakeLock);

  const waiting = useMemo(() => pendingApprovals(model), [model]);
  const running = model.runningTaskId;
  const queued = model.queue?.length ?? 0;
  const idle = running === null && queued === 0;

  // Stick to the bottom while new content arrives, unless the user scrolled up to read.
  useLayoutEffect(() => {
    const el = log.current;
    if (el && autoScroll && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [events.applied, autoScroll]);

  function onScroll() {
    const el = log.current;
    if (!el) return;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight <= STICK_PX;
    atBottom.current = bottom;
    setShowJump(!bottom);
  }

  // Beep when the last queued prompt finished, but not for history replayed on load.
  const wasIdle = useRef(idle);
  useEffect(() => {
    const drained = idle && !wasIdle.current;
    wasIdle.current = idle;
    if (!drained || !sound || status !== "live") return;
    const age = Date.now() - Date.parse(events.lastAt);
    if (Number.isFinite(age) && age < FRESH_MS) beep();
  }, [idle, sound, status, events.lastAt]);

  const activity =
    waiting.length > 0
      ? `Claude is waiting for approval: ${waiting.map((w) => w.toolName).join(", ")}.`
      : running
        ? "Claude is working…"
        : queued > 0
          ? `${queued} prompt${queued === 1 ? "" : "s"} waiting.`
          : "Idle.";

  const loading = events.lastSeq === 0 && (status === "connecting" || status === "reconnecting");
  return (
    <div className="chat">
      <div className="chat-toolbar">
        <ConnectionIndicator status={status} denied={denied ?? null} onRetry={onRetry} />
        <details className="chat-settings" open={settingsOpen}>
          <summary>Settings</summary>
          <div className="chat-settings-body">
            {canWrite ? <SessionControls session={session} disabled={false} onChange={onSessionChange} /> : null}
            <div className="chat-toggles" role="group" aria-label="Chat preferences">
              <Toggle label="Auto-scroll" checked={autoScroll} onChange={setAutoScroll} />
              <Toggle
                label="Sound when done"
                checked={sound}
                onChange={(on) => {
                  if (on) primeAudio();
                  setSound(on);
                }}
              />
              {canWakeLock ? <Toggle label="Keep screen on" checked={wakeLock} onChange={setWakeLock} /> : null}
            </div>
          </div>
        </details>
      </div>

      <div className="chat-log-wrap">
        <div
          ref={log}
          id={logId}
          className="chat-log"
          onScroll={onScroll}
          tabIndex={0}
          role="region"
          aria-label="Conversation"
        >
          {loading ? <p className="loading">Loading the conversation…</p> : null}
          {!loading && model.turns.length === 0 ? (
            <p className="empty">No messages yet.{canWrite ? " Ask Claude something below." : ""}</p>
          ) : null}
          <ol className="chat-turns">
            {model.turns.map((turn) => (
              <TurnView
                key={turn.key}
                turn={turn}
                fallbackPrompt={turn.taskId ? prompts?.get(turn.taskId) : undefined}
                sessionId={session.id}
                canWrite={canWrite}
                canDecideForOrg={canDecideForOrg}
                names={names}
              />
            ))}
          </ol>
        </div>
        {showJump ? (
          <button
            type="button"
            className="button button-small chat-jump"
            aria-controls={logId}
            onClick={() => {
              const el = log.current;
              if (el) el.scrollTop = el.scrollHeight;
              atBottom.current = true;
              setShowJump(false);
            }}
          >
            ↓ Latest
          </button>
        ) : null}
      </div>

      <p className="chat-activity small" role="status" aria-live="polite">
        {running ? <span className="chat-spinner" aria-hidden="true" /> : null}
        {activity}
      </p>

      {canWrite ? (
        <Composer sessionId={session.id} runningTaskId={running} onQueued={onQueued} onCleared={onSessionChange} />
      ) : (
        <p className="muted small">You can read this session; only its owner and admins can send messages.</p>
      )}
      <QueuePanel sessionId={session.id} queuedIds={model.queue} canWrite={canWrite} />
    </div>
  );
}
