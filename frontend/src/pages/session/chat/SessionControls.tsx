/** Model and permission mode of the session (`PATCH /sessions/{id}`), switched for the next call. */
import { useCallback, useId } from "react";
import { unwrap } from "../../../api/client";
import { PERMISSION_MODES, type Session } from "../../../api/types";
import { useApi, useAuth } from "../../../app/auth";
import { ErrorAlert } from "../../../components/ErrorAlert";
import { useAction } from "../../../lib/hooks";

/** Claude Code's model aliases; the session's and the organisation's own models are added. */
const MODEL_ALIASES = ["sonnet", "opus", "haiku"];

const MODE_LABELS: Record<string, string> = {
  default: "Ask before tools",
  acceptEdits: "Accept edits",
  plan: "Plan only",
  dontAsk: "Don't ask (deny unlisted)",
  bypassPermissions: "Bypass permissions",
};

export function SessionControls({
  session,
  disabled,
  onChange,
}: {
  session: Session;
  disabled: boolean;
  onChange: (s: Session) => void;
}) {
  const api = useApi();
  const { org } = useAuth();
  const id = useId();
  const update = useAction(
    useCallback(
      async (body: { model?: string; permission_mode?: string }) => {
        onChange(await unwrap(api.PATCH("/api/v1/sessions/{id}", { params: { path: { id: session.id } }, body })));
      },
      [api, session.id, onChange],
    ),
  );
  const models = [
    ...new Set([session.model, org?.policy.default_model, ...MODEL_ALIASES].filter((m): m is string => !!m)),
  ];
  const modes: string[] = [...PERMISSION_MODES];
  if (!modes.includes(session.permission_mode)) modes.unshift(session.permission_mode);
  const off = disabled || update.busy;
  return (
    <div className="chat-controls-group">
      <div className="chat-control">
        <label htmlFor={`${id}-model`} className="small">
          Model
        </label>
        <select
          id={`${id}-model`}
          className="input input-compact"
          value={session.model}
          disabled={off}
          onChange={(e) => void update.run({ model: e.target.value })}
        >
          {models.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </div>
      <div className="chat-control">
        <label htmlFor={`${id}-mode`} className="small">
          Permissions
        </label>
        <select
          id={`${id}-mode`}
          className="input input-compact"
          value={session.permission_mode}
          disabled={off}
          onChange={(e) => void update.run({ permission_mode: e.target.value })}
        >
          {modes.map((m) => (
            <option key={m} value={m}>
              {MODE_LABELS[m] ?? m}
            </option>
          ))}
        </select>
      </div>
      <ErrorAlert error={update.error} title="Could not change the session." />
    </div>
  );
}
