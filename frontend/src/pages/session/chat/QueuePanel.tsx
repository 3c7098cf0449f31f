/**
 * The prompts waiting behind the running turn. The list comes from `GET /queue` (it has the
 * prompts), re-read whenever a `queue_changed` event says the order or membership changed.
 */
import { useCallback, useEffect, useState } from "react";
import { ApiError, unwrap } from "../../../api/client";
import type { Task } from "../../../api/types";
import { useApi } from "../../../app/auth";
import { ErrorAlert } from "../../../components/ErrorAlert";
import { useAction, useAsync } from "../../../lib/hooks";

export interface QueuePanelProps {
  sessionId: string;
  /** Waiting task ids from the event stream; a change triggers a reload. */
  queuedIds: readonly string[] | null;
  canWrite: boolean;
}

export function QueuePanel({ sessionId, queuedIds, canWrite }: QueuePanelProps) {
  const api = useApi();
  const queue = useAsync(
    useCallback(
      (signal: AbortSignal) =>
        unwrap(api.GET("/api/v1/sessions/{id}/queue", { params: { path: { id: sessionId } }, signal })),
      [api, sessionId],
    ),
  );
  const [message, setMessage] = useState<string | null>(null);
  const { reload, setData } = queue;

  const signature = queuedIds?.join(",") ?? null;
  useEffect(() => {
    if (signature !== null) reload();
  }, [signature, reload]);

  const cancel = useAction(
    useCallback(
      async (task: Task) => {
        await unwrap(api.POST("/api/v1/tasks/{id}/cancel", { params: { path: { id: task.id } } }));
        setData((tasks) => tasks?.filter((t) => t.id !== task.id));
        setMessage("Cancelled.");
      },
      [api, setData],
    ),
  );

  const move = useAction(
    useCallback(
      async (tasks: Task[], from: number, to: number) => {
        const order = tasks.map((t) => t.id);
        const [moved] = order.splice(from, 1);
        if (moved === undefined) return;
        order.splice(to, 0, moved);
        try {
          const updated = await unwrap(
            api.PUT("/api/v1/sessions/{id}/queue", { params: { path: { id: sessionId } }, body: { task_ids: order } }),
          );
          setData(() => updated);
          setMessage(`Moved to position ${to + 1}.`);
        } catch (e) {
          if (e instanceof ApiError && e.status === 409) {
            reload();
            setMessage("The queue changed meanwhile; it was reloaded. Try again.");
            return;
          }
          throw e;
        }
      },
      [api, sessionId, setData, reload],
    ),
  );

  // The event stream is newer than any GET: a task it no longer lists as waiting (started,
  // cancelled) is hidden at once, even while a reload is in flight or if one raced the change.
  const tasks = (queue.data ?? []).filter(
    (t) => t.state === "queued" && (queuedIds === null || queuedIds.includes(t.id)),
  );
  if (tasks.length === 0 && !queue.error) return null;
  const busy = cancel.busy || move.busy;
  return (
    <section className="chat-queue" aria-labelledby={`${sessionId}-queue-title`}>
      <h3 id={`${sessionId}-queue-title`} className="chat-queue-title">
        Queue <span className="muted small">({tasks.length} waiting)</span>
      </h3>
      <ErrorAlert error={queue.error} title="Could not load the queue." onRetry={reload} />
      <ErrorAlert error={cancel.error ?? move.error} title="Could not change the queue." />
      <p className="small muted" role="status">
        {message}
      </p>
      <ol className="chat-queue-list">
        {tasks.map((task, i) => (
          <li key={task.id} className="chat-queue-item">
            <span className="chat-queue-prompt clamp">{task.prompt}</span>
            {canWrite ? (
              <span className="chat-queue-actions">
                <button
                  type="button"
                  className="button button-small"
                  disabled={busy || i === 0}
                  aria-label={`Move up: ${task.prompt.slice(0, 40)}`}
                  onClick={() => void move.run(tasks, i, i - 1)}
                >
                  ↑
                </button>
                <button
                  type="button"
                  className="button button-small"
                  disabled={busy || i === tasks.length - 1}
                  aria-label={`Move down: ${task.prompt.slice(0, 40)}`}
                  onClick={() => void move.run(tasks, i, i + 1)}
                >
                  ↓
                </button>
                <button
                  type="button"
                  className="button button-small button-danger-outline"
                  disabled={busy}
                  aria-label={`Cancel: ${task.prompt.slice(0, 40)}`}
                  onClick={() => void cancel.run(task)}
                >
                  Cancel
                </button>
              </span>
            ) : null}
          </li>
        ))}
      </ol>
    </section>
  );
}
