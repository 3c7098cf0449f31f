import { type KeyboardEvent, type ReactNode, useCallback, useEffect, useId, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { unwrap } from "../api/client";
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
import { useSessionEvents } from "../lib/events/useSessionEvents";
import { can, isAdmin } from "../lib/roles";
import { ChatTab } from "./session/chat/ChatTab";
import { FilesTab } from "./session/files/FilesTab";
import { TerminalTab } from "./session/terminal/TerminalTab";
import { STOPPABLE, TRANSITIONAL, useSessionActions } from "./sessions/sessionActions";

/** How often the page re-reads a session or its tasks while they change by themselves. */
const POLL_MS = 3000;
const ACTIVE_TASK: ReadonlySet<Task["state"]> = new Set(["queued", "running"]);

const TABS = [
  { id: "chat", label: "Chat" },
  { id: "terminal", label: "Terminal" },
  { id: "files", label: "Files" },
  { id: "details", label: "Details" },
] as const;
type TabId = (typeof TABS)[number]["id"];

function isTab(value: string | null): value is TabId {
  return TABS.some((t) => t.id === value);
}

/**
 * ARIA tabs (automatic activation): arrows, Home and End move between tabs; the selected tab is
 * the only one in the Tab order. Panels mount on first visit and then stay mounted (hidden), so
 * a terminal or an unsent message survives switching tabs.
 */
function SessionTabs({
  selected,
  onSelect,
  panels,
}: {
  selected: TabId;
  onSelect: (tab: TabId) => void;
  panels: Record<TabId, () => ReactNode>;
}) {
  const base = useId();
  const refs = useRef<Partial<Record<TabId, HTMLButtonElement | null>>>({});
  const [visited, setVisited] = useState<ReadonlySet<TabId>>(() => new Set([selected]));
  if (!visited.has(selected)) setVisited(new Set([...visited, selected]));

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    const i = TABS.findIndex((t) => t.id === selected);
    const moves: Record<string, number> = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 };
    const target = moves[event.key];
    if (target === undefined) return;
    event.preventDefault();
    const tab = TABS[(target + TABS.length) % TABS.length];
    if (!tab) return;
    onSelect(tab.id);
    refs.current[tab.id]?.focus();
  }

  return (
    <>
      <div className="tabs">
        <div role="tablist" aria-label="Session views" className="session-tablist" onKeyDown={onKeyDown}>
          {TABS.map((tab) => (
            <button
              key={tab.id}
              ref={(el) => {
                refs.current[tab.id] = el;
              }}
              type="button"
              role="tab"
              id={`${base}-tab-${tab.id}`}
              aria-controls={`${base}-panel-${tab.id}`}
              aria-selected={tab.id === selected}
              tabIndex={tab.id === selected ? 0 : -1}
              className={`tab session-tab${tab.id === selected ? " active" : ""}`}
              onClick={() => {
                onSelect(tab.id);
              }}
            >
              {tab.label}
            </button>
          ))}
        </div>
      </div>
      {TABS.map((tab) =>
        visited.has(tab.id) ? (
          <div
            key={tab.id}
            role="tabpanel"
            id={`${base}-panel-${tab.id}`}
            aria-labelledby={`${base}-tab-${tab.id}`}
            hidden={tab.id !== selected}
          >
            {panels[tab.id]()}
          </div>
        ) : null,
      )}
    </>
  );
}

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

export function SessionDetailPage() {
  const { sessionId = "" } = useParams();
  const api = useApi();
  const { role, me, org } = useAuth();
  const navigate = useNavigate();
  const [search, setSearch] = useSearchParams();
  const { names } = useMembers();
  const canWriteTasks = can(role, "tasks.write");
  const canWriteSessions = can(role, "sessions.write");

  const requested = search.get("tab");
  const tab: TabId = isTab(requested) ? requested : "chat";
  const selectTab = useCallback(
    (next: TabId) => {
      setSearch(
        (prev) => {
          const params = new URLSearchParams(prev);
          params.set("tab", next);
          return params;
        },
        { replace: true },
      );
    },
    [setSearch],
  );

  const session = useAsync(
    useCallback(
      (signal: AbortSignal) =>
        unwrap(api.GET("/api/v1/sessions/{id}", { params: { path: { id: sessionId } }, signal })),
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

  // The one event stream of this view: the chat renders it, the Files tab reads its file changes.
  const stream = useSessionEvents(sessionId, org?.id ?? null, { enabled: session.data !== undefined });
  const { model } = stream.state;

  const current = session.data;
  const { reload: reloadSession } = session;
  const { reload: reloadTasks } = tasks;
  // Session state changes and controls arrive as events; re-read the row (and the task list) then.
  const sessionSignal = `${model.sessionState?.state ?? ""}|${model.settings.model ?? ""}|${model.settings.permissionMode ?? ""}`;
  const taskSignal = `${model.runningTaskId ?? ""}|${model.queue?.join(",") ?? ""}`;
  const firstSignal = useRef({ sessionSignal, taskSignal });
  useEffect(() => {
    if (sessionSignal !== firstSignal.current.sessionSignal) reloadSession();
  }, [sessionSignal, reloadSession]);
  useEffect(() => {
    if (taskSignal !== firstSignal.current.taskSignal) reloadTasks();
  }, [taskSignal, reloadTasks]);

  // Poll while something changes on its own and the live stream is not connected.
  const busy =
    (current !== undefined && TRANSITIONAL.has(current.state)) || tasks.items.some((t) => ACTIVE_TASK.has(t.state));
  // A denied feed will not come back; the page's own requests tell the user the rest.
  const polling = busy && stream.status !== "live" && stream.status !== "denied";
  useEffect(() => {
    if (!polling) return;
    const timer = window.setInterval(() => {
      if (document.visibilityState === "visible") {
        reloadSession();
        reloadTasks();
      }
    }, POLL_MS);
    return () => {
      window.clearInterval(timer);
    };
  }, [polling, reloadSession, reloadTasks]);

  const { setData } = session;
  const onSessionChange = useCallback(
    (s: Session) => {
      setData(() => s);
    },
    [setData],
  );
  const { ask, dialog } = useSessionActions({
    onStopped: onSessionChange,
    onDeleted: useCallback(() => {
      void navigate("/sessions", { replace: true });
    }, [navigate]),
  });
  const start = useAction(
    useCallback(
      async (id: string) => {
        onSessionChange(await unwrap(api.POST("/api/v1/sessions/{id}/start", { params: { path: { id } } })));
      },
      [api, onSessionChange],
    ),
  );

  const { update: updateTasks } = tasks;
  const onQueued = useCallback(
    (task: Task) => {
      updateTasks((items) => [task, ...items]);
    },
    [updateTasks],
  );
  const prompts = useMemo(() => new Map(tasks.items.map((t) => [t.id, t.prompt])), [tasks.items]);

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

  // The api lets the session's owner and admins act on it; members see only their own sessions.
  const canWrite = canWriteTasks && (me?.user.id === current.owner_id || isAdmin(role));

  const details = () => (
    <>
      <SessionFacts session={current} ownerName={names.get(current.owner_id)} />
      <h2>Tasks</h2>
      <ErrorAlert error={tasks.error} title="Could not load tasks." onRetry={tasks.reload} />
      {tasks.loading && tasks.items.length === 0 ? <Loading label="Loading tasks…" /> : null}
      {!tasks.loading && !tasks.error && tasks.items.length === 0 ? <EmptyState>No tasks yet.</EmptyState> : null}
      {tasks.items.length > 0 ? (
        <ol className="task-list" aria-label="Tasks, newest first">
          {tasks.items.map((t) => (
            <TaskItem
              key={t.id}
              task={t}
              canCancel={canWrite}
              onCancel={(task) => {
                cancel.reset();
                setCancelling(task);
              }}
            />
          ))}
        </ol>
      ) : null}
      <LoadMore hasMore={tasks.hasMore} loading={tasks.loadingMore} onLoadMore={tasks.loadMore} />
    </>
  );

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
              {current.state === "stopped" || current.state === "failed" ? (
                <button
                  type="button"
                  className="button"
                  disabled={start.busy}
                  aria-busy={start.busy}
                  onClick={() => void start.run(current.id)}
                >
                  {start.busy ? "Starting…" : "Start"}
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
      <ErrorAlert error={start.error} title="Could not start the session." />

      <SessionTabs
        selected={tab}
        onSelect={selectTab}
        panels={{
          chat: () => (
            <ChatTab
              session={current}
              canWrite={canWrite}
              events={stream.state}
              status={stream.status}
              denied={stream.denied}
              onRetry={stream.retry}
              onSessionChange={onSessionChange}
              canDecideForOrg={isAdmin(role)}
              names={names}
              prompts={prompts}
              onQueued={onQueued}
            />
          ),
          terminal: () => <TerminalTab session={current} canWrite={canWrite} />,
          files: () => (
            <FilesTab session={current} canWrite={canWrite} fileChanges={model.fileChanges} turns={model.turnFiles} />
          ),
          details,
        }}
      />

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
