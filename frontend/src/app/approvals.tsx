/**
 * The pending permission requests on every session the user can see in the selected
 * organisation (`GET /api/v1/approvals`), shared by the header badge and the approvals page so a
 * decision made on the page lowers the badge at once. Polls every 10 s while the tab is visible
 * and refreshes when it regains focus.
 */
import { createContext, type ReactNode, useCallback, useContext, useMemo, useRef, useState } from "react";
import { type ApiError, asApiError, isAbortError, unwrap } from "../api/client";
import type { Approval } from "../components/approvals/decide";
import { useApi } from "./auth";
import { useVisiblePolling } from "./polling";

export const APPROVALS_POLL_MS = 10_000;

export interface PendingApprovalsState {
  /** Oldest first; null until the first answer. */
  approvals: Approval[] | null;
  error: ApiError | null;
  /** False when this api has no approvals endpoint (404): the badge hides itself. */
  available: boolean;
  refresh: () => void;
  /** Drops a request decided here, without waiting for the next poll. */
  remove: (approvalId: string) => void;
}

const Context = createContext<PendingApprovalsState | null>(null);

/** Only pending ones, minus those decided from this tab (a poll that started earlier may still list them). */
export function visiblePending(list: readonly Approval[], decided: ReadonlySet<string>): Approval[] {
  return list.filter((a) => a.state === "pending" && !decided.has(a.id));
}

export function PendingApprovalsProvider({ children, enabled }: { children: ReactNode; enabled: boolean }) {
  const client = useApi();
  const [raw, setRaw] = useState<Approval[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [decided, setDecided] = useState<ReadonlySet<string>>(() => new Set());
  const inFlight = useRef<AbortController | null>(null);

  const refresh = useCallback(() => {
    // A slow answer must not overwrite a newer one: the newest request wins.
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    unwrap(client.GET("/api/v1/approvals", { signal: controller.signal })).then(
      (list) => {
        if (controller.signal.aborted) return;
        setRaw(list);
        setError(null);
      },
      (e: unknown) => {
        if (isAbortError(e) || controller.signal.aborted) return;
        setError(asApiError(e));
      },
    );
  }, [client]);

  useVisiblePolling(refresh, APPROVALS_POLL_MS, enabled);

  const remove = useCallback((approvalId: string) => {
    setDecided((prev) => new Set(prev).add(approvalId));
  }, []);

  const value = useMemo<PendingApprovalsState>(
    () => ({
      approvals: raw ? visiblePending(raw, decided) : null,
      error,
      available: error?.status !== 404,
      refresh,
      remove,
    }),
    [raw, decided, error, refresh, remove],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function usePendingApprovals(): PendingApprovalsState {
  const value = useContext(Context);
  if (!value) throw new Error("usePendingApprovals outside <PendingApprovalsProvider>");
  return value;
}
