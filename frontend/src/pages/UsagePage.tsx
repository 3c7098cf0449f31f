import { type SubmitEvent, useCallback, useState } from "react";
import { Link } from "react-router";
import { unwrap } from "../api/client";
import type { UsageGroup, UsageRow } from "../api/types";
import { useApi, useAuth } from "../app/auth";
import { ErrorAlert } from "../components/ErrorAlert";
import { EmptyState, Loading, PageHeader } from "../components/Page";
import { dateInputToIso, formatInteger, formatMicros, shortId } from "../lib/format";
import { useAsync } from "../lib/hooks";
import { useMembers } from "../lib/members";
import { can } from "../lib/roles";

const GROUP_LABELS: Record<UsageGroup, string> = { day: "Day", user: "User", session: "Session" };

interface Filters {
  group_by: UsageGroup;
  from: string;
  to: string;
}

function total(rows: UsageRow[], key: Exclude<keyof UsageRow, "key">): number {
  return rows.reduce((sum, r) => sum + r[key], 0);
}

export function UsagePage() {
  const api = useApi();
  const { role } = useAuth();
  const { names } = useMembers();
  const [draft, setDraft] = useState<Filters>({ group_by: "day", from: "", to: "" });
  const [filters, setFilters] = useState<Filters>(draft);

  const usage = useAsync(
    useCallback(
      (signal: AbortSignal) => {
        const from = dateInputToIso(filters.from);
        const to = dateInputToIso(filters.to, true);
        return unwrap(
          api.GET("/api/v1/usage", {
            params: { query: { group_by: filters.group_by, ...(from ? { from } : {}), ...(to ? { to } : {}) } },
            signal,
          }),
        );
      },
      [api, filters],
    ),
  );

  function onSubmit(event: SubmitEvent) {
    event.preventDefault();
    setFilters(draft);
  }

  const rows = usage.data ?? [];
  const group = filters.group_by;

  function keyCell(row: UsageRow) {
    if (group === "user") return names.get(row.key) ?? <span className="mono">{shortId(row.key)}</span>;
    if (group === "session") {
      return (
        <Link to={`/sessions/${row.key}`} className="mono">
          {shortId(row.key)}
        </Link>
      );
    }
    return row.key;
  }

  return (
    <section className="page">
      <PageHeader title="Usage">
        <p className="page-subtitle muted">
          {can(role, "usage.read_all")
            ? "Model tokens and cost of everyone in this organisation."
            : "Your model tokens and cost in this organisation."}{" "}
          Defaults to the last 30 days.
        </p>
      </PageHeader>
      <form className="toolbar" onSubmit={onSubmit} aria-label="Usage report options">
        <div className="field field-inline">
          <label htmlFor="usage-group" className="field-label">
            Group by
          </label>
          <select
            id="usage-group"
            className="input input-compact"
            value={draft.group_by}
            onChange={(e) => {
              setDraft((d) => ({ ...d, group_by: e.target.value as UsageGroup }));
            }}
          >
            {(Object.keys(GROUP_LABELS) as UsageGroup[]).map((g) => (
              <option key={g} value={g}>
                {GROUP_LABELS[g]}
              </option>
            ))}
          </select>
        </div>
        <div className="field field-inline">
          <label htmlFor="usage-from" className="field-label">
            From
          </label>
          <input
            id="usage-from"
            type="date"
            className="input input-compact"
            value={draft.from}
            onChange={(e) => {
              setDraft((d) => ({ ...d, from: e.target.value }));
            }}
          />
        </div>
        <div className="field field-inline">
          <label htmlFor="usage-to" className="field-label">
            To (inclusive)
          </label>
          <input
            id="usage-to"
            type="date"
            className="input input-compact"
            value={draft.to}
            onChange={(e) => {
              setDraft((d) => ({ ...d, to: e.target.value }));
            }}
          />
        </div>
        <button type="submit" className="button">
          Show
        </button>
      </form>

      <ErrorAlert error={usage.error} title="Could not load usage." onRetry={usage.reload} />
      {usage.loading && !usage.data ? <Loading label="Loading usage…" /> : null}
      {usage.data && rows.length === 0 ? <EmptyState>No usage in this period.</EmptyState> : null}
      {rows.length > 0 ? (
        <div className="table-scroll" role="region" aria-label="Usage table" tabIndex={0}>
          <table className="table table-numeric">
            <caption className="visually-hidden">Usage grouped by {GROUP_LABELS[group].toLowerCase()}</caption>
            <thead>
              <tr>
                <th scope="col">{GROUP_LABELS[group]}</th>
                <th scope="col">Calls</th>
                <th scope="col">Input tokens</th>
                <th scope="col">Output tokens</th>
                <th scope="col">Cache write</th>
                <th scope="col">Cache read</th>
                <th scope="col">Cost</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.key}>
                  <th scope="row">{keyCell(r)}</th>
                  <td>{formatInteger(r.model_calls)}</td>
                  <td>{formatInteger(r.input_tokens)}</td>
                  <td>{formatInteger(r.output_tokens)}</td>
                  <td>{formatInteger(r.cache_creation_tokens)}</td>
                  <td>{formatInteger(r.cache_read_tokens)}</td>
                  <td>{formatMicros(r.cost_micros)}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row">Total</th>
                <td>{formatInteger(total(rows, "model_calls"))}</td>
                <td>{formatInteger(total(rows, "input_tokens"))}</td>
                <td>{formatInteger(total(rows, "output_tokens"))}</td>
                <td>{formatInteger(total(rows, "cache_creation_tokens"))}</td>
                <td>{formatInteger(total(rows, "cache_read_tokens"))}</td>
                <td>{formatMicros(total(rows, "cost_micros"))}</td>
              </tr>
            </tfoot>
          </table>
        </div>
      ) : null}
    </section>
  );
}
