import type { SessionState, TaskState } from "../api/types";

const TONE: Record<SessionState | TaskState, "neutral" | "progress" | "ok" | "bad" | "muted"> = {
  pending: "neutral",
  starting: "progress",
  running: "ok",
  stopping: "progress",
  stopped: "muted",
  failed: "bad",
  queued: "neutral",
  succeeded: "ok",
  cancelled: "muted",
};

/** A session's or task's state as a coloured badge; the text carries the meaning, not the colour. */
export function StateBadge({ state }: { state: SessionState | TaskState }) {
  return <span className={`badge badge-${TONE[state]}`}>{state}</span>;
}
