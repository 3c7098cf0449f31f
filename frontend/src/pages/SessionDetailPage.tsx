import { type SubmitEvent, type KeyboardEvent, useCallback, useEffect, useId, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { fieldMessage, unwrap } from "../api/client";
import type { Session, Task } from "../api/types";
import { useApi, useAuth } from "../app/auth";
import { ConfirmDialog } from "../components/Dialog";
import { ErrorAlert } from "../components/ErrorAlert";
import { EmptyState, LoadMore, Loading, PageHeader } from "../components/Page";
import { StateBadge } from "../components/StateBadge";
import { Time } from "../components/Time";
import { formatDuration, formatInteger } from "../lib/format";
import { useAction, useAsync, usePaged } from "../lib/hooks";
import { useMembers } from "../lib/members";
import { can } from "../lib/roles";
import { STOPPABLE, TRANSITIONAL, useSessionActions } from "./sessions/sessionActions";

/** How often the page re-reads a session or its tasks while they change by themselves. */
const POLL_MS = 3000;
const ACTIVE_TASK: ReadonlySet<Task["state"]> = new Set(["queued", "running"]);

function SessionFacts({ session, ownerName }: { session: Session; ownerName: string | undefined }) {
  const { limits } = session;
  return (
    <dl className="facts">
      <div>
        <dt>Owner</dt>
        <dd>{ownerName ?? <span className="mono">{session.owner_id}</span>}</dd>
      </div>
      <div>
        <dt>Repository</dt>
        <dd className="mono break">{session.repository_url ?? "Empty workspace"}</dd>
      </div>
      <div>
        <dt>Model</dt>
        <dd className="mono">{session.model}</dd>
      </div>
      <div>
        <dt>Permission mode</dt>
        <dd className="mono">{session.permission_mode}</dd>
      </div>
      <div>
        <dt>Network policy</dt>
        <dd className="mono">{session.network_policy}</dd>
      </div>
      <div>
        <dt>Image</dt>
        <dd className="mono break">{session.image}</dd>
      </div>
      <div>
        <dt>Limits</dt>
        <dd>
          {formatInteger(limits.cpu_millis)} mCPU · {formatInteger(limits.memory_mb)} MB · {formatInteger(limits.pids)}{" "}
          PIDs · idle {formatDuration(limits.idle_timeout_secs)} · max {formatDuration(limits.max_duration_secs)}
        </dd>
      </div>
      <div>
        <dt>Created</dt>
        <dd>
          <Time value={session.created_at} />
        </dd>
      </div>
      <div>
        <dt>Started</dt>
        <dd>
          <Time value={session.started_at} />
        </dd>
      </div>
      <div>
        <dt>Stopped</dt>
        <dd>
          <Time value={session.stopped_at} />
        </dd>
      </div>
      <div>
        <dt>Session id</dt>
        <dd className="mono break">{session.id}</dd>
      </div>
    </dl>
  );
}

/** The final text of a finished task, when its result carries one. */
function resultText(result: Task["result"]): string | null {
  if (!result) return null;
  for (const key of ["result", "text"]) {
    const value = (result as Record<string, unknown>)[key];
    if (typeof value === "string" && value) return value;
  }
  return null;
}

function TaskItem({ task, canCancel, onCancel }: { task: Task; canCancel: boolean; onCancel: (t: Task) => void }) {
  const text = resultText(task.result);
  return (
    <li className="task">
      <div className="task-head">
        <StateBadge state={task.state} />
        <span className="muted small">
          #{task.position} · queued <Time value={task.created_at} />
          {task.finished_at ? (
            <>
              {" "}
              · finished <Time value={task.finished_at} />
            </>
          ) : null}
        </span>
        {canCancel && ACTIVE_TASK.has(task.state) ? (
          <button
            type="button"
            className="button button-small"
            onClick={() => {
              onCancel(task);
            }}
          >
            {task.state === "running" ? "Interrupt" : "Cancel"}
          </button>
        ) : null}
      </div>
      <p className="task-prompt">{task.prompt}</p>
      {task.error ? <p className="field-error">Error: {task.error}</p> : null}
      {text ? <p className="task-result">{text}</p> : null}
      {task.result ? (
        <details className="task-details">
          <summary>Result details</summary>
          <pre>{JSON.stringify(task.result, null, 2)}</pre>
        </details>
      ) : null}
    </li>
  );
}

function QueuePrompt({ sessionId, onQueued }: { sessionId: string; onQueued: (task: Task) => void }) {
  const api = useApi();
  const id = useId();
  const [prompt, setPrompt] = useState("");
  const queue = useAction(
    useCallback(
      async (text: string) => {
        onQueued(await unwrap(api.POST("/api/v1/sessions/{id}/tasks", { params: { path: { id: sessionId } }, body: { prompt: text } })));
        setPrompt("");
      },
      [api, onQueued, sessionId],
    ),
  );

  function submit(event?: SubmitEvent) {
    event?.preventDefault();
    if (prompt.trim() && !queue.busy) void queue.run(prompt);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) submit();
  }

  const fieldError = queue.error?.field === "prompt" ? fieldMessage(queue.error) : null;
  return (
    <form className="card form" onSubmit={submit} noValidate>
      <div className={`field${fieldError ? " field-invalid" : ""}`}>
        <label htmlFor={id} className="field-label">
          Prompt
        </label>
        <textarea
          id={id}
          className="input"
          rows={4}
          value={prompt}
          aria-invalid={fieldError ? true : undefined}
          aria-describedby={`${id}-hint${fieldError ? ` ${id}-error` : ""}`}
          onChange={(e) => {
            setPrompt(e.target.value);
          }}
          onKeyDown={onKeyDown}
        />
        <p id={`${id}-hint`} className="field-hint">
          Queued prompts run one after another. Ctrl+Enter (⌘+Enter) queues.
        </p>
        {fieldError ? (
          <p id={`${id}-error`} className="field-error">
            {fieldError}
          </p>
        ) : null}
      </div>
      {fieldError ? null : <ErrorAlert error={queue.error} title="Could not queue the prompt." />}
      <div className="form-actions">
        <button type="submit" className="button button-primary" disabled={queue.busy || !prompt.trim()}>
          {queue.busy ? "Queueing…" : "Queue prompt"}
        </button>
      </div>
    </form>
  );
}

export function SessionDetailPage() {
  const { sessionId = "" } = useParams();
  const api = useApi();
  const { role } = useAuth();
  const navigate = useNavigate();
  const { names } = useMembers();
  const canWriteTasks = can(role, "tasks.write");
  const canWriteSessions = can(role, "sessions.write");

  const session = useAsync(
    useCallback(
      (signal: AbortSignal) => unwrap(api.GET("/api/v1/sessions/{id}", { params: { path: { id: sessionId } }, signal })),
      [api, sessionId],
    ),
  );
  const tasks = usePaged<Task>(
    useCallback(
      (cursor: string | undefined, signal: AbortSignal) =>
        unwrap(
          api.GET("/api/v1/sessions/{id}/tasks", {
            params: { path: { id: sessionId }, query: { limit: 25, ...(cursor ? { cursor } : {}) } },
            signal,
          }),
        ),
      [api, sessionId],
    ),
  );

  // Poll while something changes on its own; live events replace this later.
  const current = session.data;
  const busy =
    (current !== undefined && TRANSITIONAL.has(current.state)) || tasks.items.some((t) => ACTIVE_TASK.has(t.state));
  const { reload: reloadSession } = session;
  const { reload: reloadTasks } = tasks;
  useEffect(() => {
    if (!busy) return;
    const timer = window.setInterval(() => {
      if (document.visibilityState === "visible") {
        reloadSession();
        reloadTasks();
      }
    }, POLL_MS);
    return () => {
      window.clearInterval(timer);
    };
  }, [busy, reloadSession, reloadTasks]);

  const { setData } = session;
  const { ask, dialog } = useSessionActions({
    onStopped: useCallback(
      (s: Session) => {
        setData(() => s);
      },
      [setData],
    ),
    onDeleted: useCallback(() => {
      void navigate("/sessions", { replace: true });
    }, [navigate]),
  });

  const { update: updateTasks } = tasks;
  const onQueued = useCallback(
    (task: Task) => {
      updateTasks((items) => [task, ...items]);
    },
    [updateTasks],
  );

  const [cancelling, setCancelling] = useState<Task | null>(null);
  const cancel = useAction(
    useCallback(
      async (task: Task) => {
        const updated = await unwrap(api.POST("/api/v1/tasks/{id}/cancel", { params: { path: { id: task.id } } }));
        updateTasks((items) => items.map((t) => (t.id === updated.id ? updated : t)));
        setCancelling(null);
      },
      [api, updateTasks],
    ),
  );

  if (!current) {
    if (session.error) {
      return (
        <section className="page">
          <PageHeader title={session.error.status === 404 ? "Session not found" : "Session"} />
          <ErrorAlert error={session.error} onRetry={session.error.status === 404 ? undefined : session.reload} />
          <p>
            <Link to="/sessions">Back to sessions</Link>
          </p>
        </section>
      );
    }
    return (
      <section className="page">
        <Loading label="Loading session…" />
      </section>
    );
  }

  return (
    <section className="page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/sessions">Sessions</Link> <span aria-hidden="true">/</span>
      </nav>
      <PageHeader
        title={current.name}
        actions={
          canWriteSessions ? (
            <>
              {STOPPABLE.has(current.state) ? (
                <button
                  type="button"
                  className="button"
                  onClick={() => {
                    ask("stop", current);
                  }}
                >
                  Stop
                </button>
              ) : null}
              <button
                type="button"
                className="button button-danger-outline"
                onClick={() => {
                  ask("delete", current);
                }}
              >
                Delete
              </button>
            </>
          ) : null
        }
      >
        <p className="page-subtitle">
          <StateBadge state={current.state} />
          <span className="muted small">
            Updated <Time value={current.updated_at} />
          </span>
        </p>
      </PageHeader>
      {current.state_reason ? (
        <div className={`alert ${current.state === "failed" ? "alert-error" : "alert-info"}`} role="status">
          <p>{current.state_reason}</p>
        </div>
      ) : null}
      <ErrorAlert error={session.error} title="Could not refresh the session." />

      <SessionFacts session={current} ownerName={names.get(current.owner_id)} />

      <h2>Tasks</h2>
      {canWriteTasks ? <QueuePrompt sessionId={current.id} onQueued={onQueued} /> : null}
      <ErrorAlert error={tasks.error} title="Could not load tasks." onRetry={tasks.reload} />
      {tasks.loading && tasks.items.length === 0 ? <Loading label="Loading tasks…" /> : null}
      {!tasks.loading && !tasks.error && tasks.items.length === 0 ? <EmptyState>No tasks yet.</EmptyState> : null}
      {tasks.items.length > 0 ? (
        <ol className="task-list" aria-label="Tasks, newest first">
          {tasks.items.map((t) => (
            <TaskItem
              key={t.id}
              task={t}
              canCancel={canWriteTasks}
              onCancel={(task) => {
                cancel.reset();
                setCancelling(task);
              }}
            />
          ))}
        </ol>
      ) : null}
      <LoadMore hasMore={tasks.hasMore} loading={tasks.loadingMore} onLoadMore={tasks.loadMore} />

      {cancelling ? (
        <ConfirmDialog
          title={cancelling.state === "running" ? "Interrupt the running task?" : "Cancel the queued task?"}
          message={<span className="clamp">{cancelling.prompt}</span>}
          confirmLabel={cancelling.state === "running" ? "Interrupt task" : "Cancel task"}
          cancelLabel="Keep task"
          busy={cancel.busy}
          error={<ErrorAlert error={cancel.error} title="Could not cancel the task." />}
          onConfirm={() => void cancel.run(cancelling)}
          onCancel={() => {
            setCancelling(null);
          }}
        />
      ) : null}
      {dialog}
    </section>
  );
}
