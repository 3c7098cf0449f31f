import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useNavigate } from "react-router";
import { unwrap } from "../api/client";
import { SESSION_STATES, type Session, type SessionState } from "../api/types";
import { useApi, useAuth } from "../app/auth";
import { useVisiblePolling } from "../app/polling";
import { ErrorAlert } from "../components/ErrorAlert";
import { EmptyState, LoadMore, Loading, PageHeader } from "../components/Page";
import { StateBadge } from "../components/StateBadge";
import { Time } from "../components/Time";
import { useAction, usePaged } from "../lib/hooks";
import { useMembers } from "../lib/members";
import { can } from "../lib/roles";
import { useSessionChanges } from "../lib/sessionChanges";
import { CreateSessionDialog } from "./sessions/CreateSessionDialog";
import { STOPPABLE, TRANSITIONAL, useSessionActions } from "./sessions/sessionActions";

const PAGE_SIZE = 25;
/** Badge refresh while a listed sandbox is starting or stopping, and otherwise, when the live
 * list (`/sessions/changes`) is not connected. */
const FAST_POLL_MS = 2000;
const SLOW_POLL_MS = 15000;
/** While the live list is connected: a safety net only. */
const LIVE_POLL_MS = 120_000;
/** Changes arriving together (a burst of state changes) cause one re-read. */
const REFRESH_DEBOUNCE_MS = 150;
/** Sessions that can be started again (resume: the same workspace and conversation). */
const STARTABLE: ReadonlySet<SessionState> = new Set(["stopped", "failed"]);

export function SessionsPage() {
  const api = useApi();
  const { role, org } = useAuth();
  const navigate = useNavigate();
  const canWrite = can(role, "sessions.write");
  const seesOthers = role !== "member";
  const [state, setState] = useState<SessionState | "">("");
  const [creating, setCreating] = useState(false);
  const { names } = useMembers();

  const sessions = usePaged<Session>(
    useCallback(
      (cursor: string | undefined, signal: AbortSignal) =>
        unwrap(
          api.GET("/api/v1/sessions", {
            params: { query: { limit: PAGE_SIZE, ...(state ? { state } : {}), ...(cursor ? { cursor } : {}) } },
            signal,
          }),
        ),
      [api, state],
    ),
  );

  const { update } = sessions;

  // Keep the badges current without resetting pagination: re-read the first page and merge
  // fresh rows into what is shown (new sessions appear at the top). Only while the tab is
  // visible; fast while some sandbox is changing state by itself.
  const changing = sessions.items.some((s) => TRANSITIONAL.has(s.state));
  const { loading } = sessions;
  const refresh = useCallback(() => {
    if (loading) return;
    api
      .GET("/api/v1/sessions", { params: { query: { limit: PAGE_SIZE, ...(state ? { state } : {}) } } })
      .then(({ data }) => {
        if (!data) return;
        const fresh = new Map(data.items.map((s) => [s.id, s]));
        update((items) => {
          const known = new Set(items.map((i) => i.id));
          const added = data.items.filter((s) => !known.has(s.id) && s.created_at > (items[0]?.created_at ?? ""));
          return [...added, ...items.map((i) => fresh.get(i.id) ?? i)];
        });
      })
      // A failed background refresh is not worth an alert: the next one retries, and the
      // Refresh button reports errors.
      .catch(() => undefined);
  }, [api, loading, state, update]);

  // Live: the server names each session as it changes; deletions are applied at once, the
  // rest re-read the first page (once per burst).
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (pending.current !== null) clearTimeout(pending.current);
    },
    [],
  );
  const live = useSessionChanges(
    org?.id ?? null,
    (change) => {
      if (!change.resync && change.deleted) {
        update((items) => items.filter((i) => i.id !== change.sessionId));
        return;
      }
      pending.current ??= setTimeout(() => {
        pending.current = null;
        refresh();
      }, REFRESH_DEBOUNCE_MS);
    },
    { enabled: sessions.items.length > 0 || !loading },
  );
  useVisiblePolling(
    refresh,
    live ? LIVE_POLL_MS : changing ? FAST_POLL_MS : SLOW_POLL_MS,
    sessions.items.length > 0,
  );

  const start = useAction(
    useCallback(
      async (s: Session) => {
        const started = await unwrap(api.POST("/api/v1/sessions/{id}/start", { params: { path: { id: s.id } } }));
        update((items) => items.map((i) => (i.id === started.id ? started : i)));
      },
      [api, update],
    ),
  );

  const { ask, dialog } = useSessionActions({
    onStopped: useCallback(
      (s: Session) => {
        update((items) => items.map((i) => (i.id === s.id ? s : i)));
      },
      [update],
    ),
    onDeleted: useCallback(
      (s: Session) => {
        update((items) => items.filter((i) => i.id !== s.id));
      },
      [update],
    ),
  });

  const onCreated = useCallback(
    (s: Session) => {
      setCreating(false);
      void navigate(`/sessions/${s.id}`);
    },
    [navigate],
  );

  return (
    <section className="page">
      <PageHeader
        title="Sessions"
        actions={
          canWrite ? (
            <button
              type="button"
              className="button button-primary"
              onClick={() => {
                setCreating(true);
              }}
            >
              New session
            </button>
          ) : null
        }
      />
      <div className="toolbar" role="search" aria-label="Filter sessions">
        <div className="field field-inline">
          <label htmlFor="session-state-filter" className="field-label">
            State
          </label>
          <select
            id="session-state-filter"
            className="input input-compact"
            value={state}
            onChange={(e) => {
              setState(e.target.value as SessionState | "");
            }}
          >
            <option value="">All states</option>
            {SESSION_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <button type="button" className="button" onClick={sessions.reload} disabled={sessions.loading}>
          Refresh
        </button>
      </div>

      <ErrorAlert error={sessions.error} title="Could not load sessions." onRetry={sessions.reload} />
      <ErrorAlert error={start.error} title="Could not start the session." />
      {sessions.loading && sessions.items.length === 0 ? <Loading label="Loading sessions…" /> : null}
      {!sessions.loading && !sessions.error && sessions.items.length === 0 ? (
        <EmptyState>
          {state ? `No ${state} sessions.` : "No sessions yet."}
          {canWrite && !state ? " Create one to start working with Claude." : null}
        </EmptyState>
      ) : null}

      {sessions.items.length > 0 ? (
        <table className="table table-cards">
          <caption className="visually-hidden">Sessions{state ? ` in state ${state}` : ""}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              {seesOthers ? <th scope="col">Owner</th> : null}
              <th scope="col">Model</th>
              <th scope="col">Created</th>
              {canWrite ? (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {sessions.items.map((s) => (
              <tr key={s.id}>
                <td data-label="Name">
                  <Link to={`/sessions/${s.id}`} className="strong-link">
                    {s.name}
                  </Link>
                  {s.repository_url ? <div className="muted small truncate">{s.repository_url}</div> : null}
                </td>
                <td data-label="State">
                  <StateBadge state={s.state} />
                  {s.state === "pending" || s.state === "starting" ? (
                    <span className="session-progress muted small">
                      <span className="spinner" aria-hidden="true" />
                      {s.state === "pending" ? "Waiting for a sandbox…" : "Starting the sandbox…"}
                    </span>
                  ) : null}
                  {s.state === "failed" && s.state_reason ? (
                    <div className="muted small">{s.state_reason}</div>
                  ) : null}
                </td>
                {seesOthers ? <td data-label="Owner">{names.get(s.owner_id) ?? "—"}</td> : null}
                <td data-label="Model" className="mono small">
                  {s.model}
                </td>
                <td data-label="Created">
                  <Time value={s.created_at} />
                </td>
                {canWrite ? (
                  <td className="row-actions">
                    {STARTABLE.has(s.state) ? (
                      <button
                        type="button"
                        className="button button-small"
                        disabled={start.busy}
                        onClick={() => void start.run(s)}
                        aria-label={`Start ${s.name}`}
                      >
                        Start
                      </button>
                    ) : null}
                    {STOPPABLE.has(s.state) ? (
                      <button
                        type="button"
                        className="button button-small"
                        onClick={() => {
                          ask("stop", s);
                        }}
                        aria-label={`Stop ${s.name}`}
                      >
                        Stop
                      </button>
                    ) : null}
                    <button
                      type="button"
                      className="button button-small button-danger-outline"
                      onClick={() => {
                        ask("delete", s);
                      }}
                      aria-label={`Delete ${s.name}`}
                    >
                      Delete
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <LoadMore hasMore={sessions.hasMore} loading={sessions.loadingMore} onLoadMore={sessions.loadMore} />

      {creating ? (
        <CreateSessionDialog
          onClose={() => {
            setCreating(false);
          }}
          onCreated={onCreated}
        />
      ) : null}
      {dialog}
    </section>
  );
}
