/**
 * Every permission request waiting on the sessions the user can see, oldest first, each with
 * Yes / Always / No. The list is the one the header badge counts (PendingApprovalsProvider).
 */
import { useCallback, useMemo, useRef, useState } from "react";
import { unwrap } from "../api/client";
import { usePendingApprovals } from "../app/approvals";
import { useApi, useAuth } from "../app/auth";
import { ApprovalCard } from "../components/approvals/ApprovalCard";
import type { Approval, DecisionOutcome } from "../components/approvals/decide";
import { ErrorAlert } from "../components/ErrorAlert";
import { EmptyState, Loading, useDocumentTitle } from "../components/Page";
import { shortId } from "../lib/format";
import { useAsync } from "../lib/hooks";
import { can, isAdmin } from "../lib/roles";

const OUTCOME_TEXT = {
  allow: "allowed once",
  always: "always allowed",
  deny: "denied",
} as const;

/** Session names for the cards; a session that cannot be read keeps its short id. */
function useSessionNames(approvals: readonly Approval[] | null): ReadonlyMap<string, string> {
  const client = useApi();
  // One key per set of sessions, so a poll with the same sessions does not refetch the names.
  const key = useMemo(
    () => [...new Set((approvals ?? []).map((a) => a.session_id))].sort().join(","),
    [approvals],
  );
  const load = useCallback(
    async (signal: AbortSignal) => {
      const ids = key ? key.split(",") : [];
      const results = await Promise.allSettled(
        ids.map((id) => unwrap(client.GET("/api/v1/sessions/{id}", { params: { path: { id } }, signal }))),
      );
      const names = new Map<string, string>();
      results.forEach((result, i) => {
        if (result.status === "fulfilled") names.set(result.value.id, result.value.name);
        else if (ids[i]) names.set(ids[i], `Session ${shortId(ids[i])}`);
      });
      return names;
    },
    [client, key],
  );
  return useAsync(load).data ?? new Map<string, string>();
}

export function ApprovalsPage() {
  const { role } = useAuth();
  const { approvals, error, refresh, remove } = usePendingApprovals();
  const names = useSessionNames(approvals);
  const [announcement, setAnnouncement] = useState("");
  const headingRef = useRef<HTMLHeadingElement>(null);
  useDocumentTitle("Approvals");

  function onDecided(approval: Approval, outcome: DecisionOutcome) {
    const name = names.get(approval.session_id) ?? "its session";
    setAnnouncement(
      outcome.kind === "decided"
        ? `${approval.tool_name} on ${name}: ${OUTCOME_TEXT[outcome.decision]}.`
        : `${approval.tool_name} on ${name} was already decided elsewhere.`,
    );
    remove(approval.id);
    // The card and its focused button disappear; keep keyboard users at the top of the list
    // rather than on <body> (not on the next card's Yes: Enter must not approve by accident).
    headingRef.current?.focus();
    refresh();
  }

  const canDecide = can(role, "sessions.write");
  return (
    <section className="page">
      <div className="page-header">
        <div>
          {/* Focusable so focus can land here when a decided card leaves the list. */}
          <h1 ref={headingRef} tabIndex={-1}>
            Approvals
          </h1>
          <p className="page-subtitle">
            Tool calls Claude is waiting on, across the sessions you can see. Unanswered requests
            expire and are then denied.
          </p>
        </div>
        <div className="page-actions">
          <button type="button" className="button" onClick={refresh}>
            Refresh
          </button>
        </div>
      </div>
      <p role="status" className="approvals-announcement">
        {announcement}
      </p>
      <ErrorAlert error={error} title="Could not load the approvals." onRetry={refresh} />
      {approvals === null ? (
        error ? null : <Loading />
      ) : approvals.length === 0 ? (
        <EmptyState>
          <p>Nothing is waiting for a decision.</p>
        </EmptyState>
      ) : (
        <ul className="approval-list">
          {approvals.map((a) => (
            <li key={a.id}>
              <ApprovalCard
                approvalId={a.id}
                sessionId={a.session_id}
                toolName={a.tool_name}
                input={a.input}
                canDecideForOrg={isAdmin(role)}
                canDecide={canDecide}
                onDecided={(outcome) => {
                  onDecided(a, outcome);
                }}
                sessionName={names.get(a.session_id) ?? `Session ${shortId(a.session_id)}`}
                createdAt={a.created_at}
                expiresAt={a.expires_at}
              />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
