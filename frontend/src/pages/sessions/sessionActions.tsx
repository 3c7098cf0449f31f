import { useCallback, useState } from "react";
import { unwrap } from "../../api/client";
import type { Session } from "../../api/types";
import { useApi } from "../../app/auth";
import { ConfirmDialog } from "../../components/Dialog";
import { ErrorAlert } from "../../components/ErrorAlert";
import { useAction } from "../../lib/hooks";

export const STOPPABLE: ReadonlySet<Session["state"]> = new Set(["pending", "starting", "running"]);
/** States that change by themselves; pages refresh while a session is in one. */
export const TRANSITIONAL: ReadonlySet<Session["state"]> = new Set(["pending", "starting", "stopping"]);

type Pending = { kind: "stop" | "delete"; session: Session } | null;

/**
 * Stop and delete, each behind a confirmation. Returns `ask` to open a confirmation and the
 * dialog element to render.
 */
export function useSessionActions(handlers: { onStopped: (s: Session) => void; onDeleted: (s: Session) => void }) {
  const api = useApi();
  const [pending, setPending] = useState<Pending>(null);
  const { onStopped, onDeleted } = handlers;

  const action = useAction(
    useCallback(
      async (p: NonNullable<Pending>) => {
        const path = { params: { path: { id: p.session.id } } };
        if (p.kind === "stop") {
          onStopped(await unwrap(api.POST("/api/v1/sessions/{id}/stop", path)));
        } else {
          await unwrap(api.DELETE("/api/v1/sessions/{id}", path));
          onDeleted(p.session);
        }
        setPending(null);
      },
      [api, onStopped, onDeleted],
    ),
  );

  const { reset } = action;
  const ask = useCallback(
    (kind: "stop" | "delete", session: Session) => {
      reset();
      setPending({ kind, session });
    },
    [reset],
  );

  const dialog = pending ? (
    <ConfirmDialog
      title={pending.kind === "stop" ? `Stop “${pending.session.name}”?` : `Delete “${pending.session.name}”?`}
      message={
        pending.kind === "stop"
          ? "The sandbox shuts down and running tasks are interrupted. The workspace is kept."
          : "The session, its sandbox and its workspace are removed for good. This cannot be undone."
      }
      confirmLabel={pending.kind === "stop" ? "Stop session" : "Delete session"}
      danger
      busy={action.busy}
      error={
        <ErrorAlert
          error={action.error}
          title={pending.kind === "stop" ? "Could not stop the session." : "Could not delete the session."}
        />
      }
      onConfirm={() => void action.run(pending)}
      onCancel={() => {
        setPending(null);
      }}
    />
  ) : null;

  return { ask, dialog };
}
