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

/**
 * Merges a fresh first page into the rows shown: fresh rows replace theirs, newer sessions go
 * on top. With `prune` (after a resync: changes may have been missed) rows the fresh page
 * should contain but does not are dropped (deleted, or no longer matching the filter); `prune`
 * is the page's `next_cursor` (null: the page is the whole list).
 */
export function mergeFirstPage(items: Session[], fresh: Session[], prune?: string | null): Session[] {
  const byId = new Map(fresh.map((s) => [s.id, s]));
  const known = new Set(items.map((i) => i.id));
  const added = fresh.filter((s) => !known.has(s.id) && s.created_at > (items[0]?.created_at ?? ""));
  // Ids are time-ordered (UUIDv7) and the list is newest first: the fresh page covers every
  // id from its last one up (everything, when it is the whole list).
  const oldest = fresh.at(-1)?.id;
  const covered = (id: string) => prune === null || (oldest !== undefined && id >= oldest);
  const kept = items.filter((i) => prune === undefined || byId.has(i.id) || !covered(i.id));
  return [...added, ...kept.map((i) => byId.get(i.id) ?? i)];
}

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
  // visible. Live changes (below) trigger it; polling is the fallback.
  const changing = sessions.items.some((s) => TRANSITIONAL.has(s.state));
  const { loading } = sessions;
  /** Responses of older refreshes are ignored (they may land after newer ones). */
  const refreshes = useRef(0);
  /** A refresh asked for while the list was loading runs once it has loaded. */
  const deferred = useRef(false);
  const refresh = useCallback(
    (prune = false) => {
      if (loading) {
        deferred.current = true;
        return;
      }
      const seq = ++refreshes.current;
      api
        .GET("/api/v1/sessions", { params: { query: { limit: PAGE_SIZE, ...(state ? { state } : {}) } } })
        .then(({ data }) => {
          if (!data || seq !== refreshes.current) return;
          update((items) => mergeFirstPage(items, data.items, prune ? (data.next_cursor ?? null) : undefined));
        })
        // A failed background refresh is not worth an alert: the next one retries, and the
        // Refresh button reports errors.
        .catch(() => undefined);
    },
    [api, loading, state, update],
  );
  useEffect(() => {
    if (!loading && deferred.current) {
      deferred.current = false;
      refresh(true);
    }
  }, [loading, refresh]);
  /** The latest `refresh`, for timers set by an earlier render. */
  const latestRefresh = useRef(refresh);
  useEffect(() => {
    latestRefresh.current = refresh;
  }, [refresh]);

  // Live: the server names each session as it changes. Badges and deletions apply at once;
  // the rest (new sessions, other fields) come from one re-read per burst. A resync (connect,
  // reconnect, a role change) re-reads and drops rows that are gone.
  const pending = useRef<{ timer: ReturnType<typeof setTimeout>; prune: boolean } | null>(null);
  useEffect(
    () => () => {
      if (pending.current !== null) clearTimeout(pending.current.timer);
    },
    [],
  );
  const live = useSessionChanges(org?.id ?? null, (change) => {
    if (!change.resync) {
      const { sessionId, deleted } = change;
      const next = change.state;
      update((items) =>
        deleted || (state !== "" && next !== null && next !== state)
          ? items.filter((i) => i.id !== sessionId)
          : items.map((i) => (i.id === sessionId && next !== null ? { ...i, state: next } : i)),
      );
      if (deleted) return;
    }
    if (pending.current) {
      pending.current.prune ||= change.resync;
      return;
    }
    pending.current = {
      prune: change.resync,
      timer: setTimeout(() => {
        const prune = pending.current?.prune ?? false;
        pending.current = null;
        latestRefresh.current(prune);
      }, REFRESH_DEBOUNCE_MS),
    };
  });
  useVisiblePolling(
    () => {
      refresh();
    },
    changing ? FAST_POLL_MS : live ? LIVE_POLL_MS : SLOW_POLL_MS,
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
