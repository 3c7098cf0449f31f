import { type SubmitEvent, type MouseEvent, useCallback, useState } from "react";
import { unwrap } from "../../api/client";
import type { AuditEntry } from "../../api/types";
import { useApi } from "../../app/auth";
import { ErrorAlert } from "../../components/ErrorAlert";
import { EmptyState, LoadMore, Loading, PageHeader } from "../../components/Page";
import { Time } from "../../components/Time";
import { localInputToIso } from "../../lib/format";
import { useAction, usePaged } from "../../lib/hooks";
import { useMembers } from "../../lib/members";

interface Draft {
  actor_id: string;
  action: string;
  from: string;
  to: string;
}

interface AuditQuery {
  actor_id?: string;
  action?: string;
  from?: string;
  to?: string;
}

function toQuery(draft: Draft): AuditQuery {
  const from = localInputToIso(draft.from);
  const to = localInputToIso(draft.to);
  return {
    ...(draft.actor_id ? { actor_id: draft.actor_id } : {}),
    ...(draft.action.trim() ? { action: draft.action.trim() } : {}),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
  };
}

export function exportHref(query: AuditQuery, format: "csv" | "json"): string {
  const params = new URLSearchParams({ format, ...query });
  return `/api/v1/audit-logs/export?${params.toString()}`;
}

function filenameFrom(disposition: string | null, fallback: string): string {
  const match = disposition ? /filename="?([^";]+)"?/i.exec(disposition) : null;
  return match?.[1] ?? fallback;
}

export function AuditLogPage() {
  const api = useApi();
  const members = useMembers();
  const [draft, setDraft] = useState<Draft>({ actor_id: "", action: "", from: "", to: "" });
  const [query, setQuery] = useState<AuditQuery>({});

  const entries = usePaged<AuditEntry>(
    useCallback(
      (cursor: string | undefined, signal: AbortSignal) =>
        unwrap(
          api.GET("/api/v1/audit-logs", {
            params: { query: { ...query, limit: 50, ...(cursor ? { cursor } : {}) } },
            signal,
          }),
        ),
      [api, query],
    ),
  );

  // A plain link cannot send X-Org-Id, so the download goes through the client; the href stays
  // for what links are good at (showing the target, copying it).
  const download = useAction(
    useCallback(
      async (format: "csv" | "json") => {
        const pending = api.GET("/api/v1/audit-logs/export", {
          params: { query: { ...query, format } },
          parseAs: "blob",
        });
        const data = await unwrap(pending);
        const { response } = await pending;
        const url = URL.createObjectURL(data);
        const link = document.createElement("a");
        link.href = url;
        link.download = filenameFrom(response.headers.get("content-disposition"), `audit.${format}`);
        document.body.append(link);
        link.click();
        link.remove();
        window.setTimeout(() => {
          URL.revokeObjectURL(url);
        }, 10_000);
      },
      [api, query],
    ),
  );

  function onSubmit(event: SubmitEvent) {
    event.preventDefault();
    setQuery(toQuery(draft));
  }

  function onExport(format: "csv" | "json") {
    return (event: MouseEvent<HTMLAnchorElement>) => {
      event.preventDefault();
      void download.run(format);
    };
  }

  function set<K extends keyof Draft>(key: K, value: Draft[K]) {
    setDraft((d) => ({ ...d, [key]: value }));
  }

  return (
    <div>
      <PageHeader
        title="Audit log"
        level={2}
        actions={
          <>
            <a className="button" href={exportHref(query, "csv")} onClick={onExport("csv")} aria-busy={download.busy}>
              Export CSV
            </a>
            <a className="button" href={exportHref(query, "json")} onClick={onExport("json")} aria-busy={download.busy}>
              Export JSON
            </a>
          </>
        }
      />
      <ErrorAlert error={download.error} title="Could not export the audit log." />
      <form className="toolbar toolbar-wrap" onSubmit={onSubmit} aria-label="Filter the audit log">
        <div className="field field-inline">
          <label htmlFor="audit-actor" className="field-label">
            Actor
          </label>
          <select
            id="audit-actor"
            className="input input-compact"
            value={draft.actor_id}
            onChange={(e) => {
              set("actor_id", e.target.value);
            }}
          >
            <option value="">Anyone</option>
            {(members.data ?? []).map((m) => (
              <option key={m.user_id} value={m.user_id}>
                {m.display_name || m.email}
              </option>
            ))}
          </select>
        </div>
        <div className="field field-inline">
          <label htmlFor="audit-action" className="field-label">
            Action
          </label>
          <input
            id="audit-action"
            className="input input-compact"
            placeholder="session.*"
            value={draft.action}
            aria-describedby="audit-action-hint"
            onChange={(e) => {
              set("action", e.target.value);
            }}
          />
          <span id="audit-action-hint" className="visually-hidden">
            Exact action, or a prefix ending in .* such as session.*
          </span>
        </div>
        <div className="field field-inline">
          <label htmlFor="audit-from" className="field-label">
            From
          </label>
          <input
            id="audit-from"
            type="datetime-local"
            className="input input-compact"
            value={draft.from}
            onChange={(e) => {
              set("from", e.target.value);
            }}
          />
        </div>
        <div className="field field-inline">
          <label htmlFor="audit-to" className="field-label">
            To
          </label>
          <input
            id="audit-to"
            type="datetime-local"
            className="input input-compact"
            value={draft.to}
            onChange={(e) => {
              set("to", e.target.value);
            }}
          />
        </div>
        <button type="submit" className="button">
          Apply filters
        </button>
      </form>

      <ErrorAlert error={entries.error} title="Could not load the audit log." onRetry={entries.reload} />
      {entries.loading && entries.items.length === 0 ? <Loading label="Loading the audit log…" /> : null}
      {!entries.loading && !entries.error && entries.items.length === 0 ? (
        <EmptyState>No entries match.</EmptyState>
      ) : null}
      {entries.items.length > 0 ? (
        <table className="table table-cards">
          <caption className="visually-hidden">Audit log entries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {entries.items.map((e) => (
              <tr key={e.id}>
                <td data-label="Time">
                  <Time value={e.created_at} />
                </td>
                <td data-label="Actor">
                  {e.actor_label}
                  {e.ip ? <div className="muted small mono">{e.ip}</div> : null}
                </td>
                <td data-label="Action" className="mono">
                  {e.action}
                </td>
                <td data-label="Target" className="break">
                  {e.target_type}
                  {e.target_id ? <span className="mono small"> {e.target_id}</span> : null}
                </td>
                <td data-label="Details">
                  {Object.keys(e.details).length > 0 ? (
                    <details>
                      <summary>Show</summary>
                      <pre className="small">{JSON.stringify(e.details, null, 2)}</pre>
                    </details>
                  ) : (
                    "—"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <LoadMore hasMore={entries.hasMore} loading={entries.loadingMore} onLoadMore={entries.loadMore} />
    </div>
  );
}
