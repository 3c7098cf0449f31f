import { type SubmitEvent, useCallback, useRef, useState } from "react";
import { ApiError, fieldMessage, unwrap } from "../api/client";
import type { ApiToken, CreatedToken, Scope } from "../api/types";
import { useApi, useAuth } from "../app/auth";
import { SecretValue } from "../components/CopyButton";
import { ConfirmDialog, Dialog } from "../components/Dialog";
import { ErrorAlert } from "../components/ErrorAlert";
import { Field } from "../components/Field";
import { EmptyState, Loading, PageHeader } from "../components/Page";
import { Time } from "../components/Time";
import { useAction, useAsync } from "../lib/hooks";
import { grantableScopes } from "../lib/roles";

const SCOPE_HELP: Record<Scope, string> = {
  read: "read sessions, tasks, usage and members",
  write: "also create and change sessions and tasks",
  admin: "also manage members, tokens and the audit log (as your role allows)",
};
const EXPIRY_DAYS = [7, 30, 90, 180, 365] as const;

function tokenStatus(t: ApiToken): "revoked" | "expired" | "active" {
  if (t.revoked_at) return "revoked";
  if (t.expires_at && new Date(t.expires_at).getTime() <= Date.now()) return "expired";
  return "active";
}

function CreateTokenDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (t: CreatedToken) => void }) {
  const api = useApi();
  const { role } = useAuth();
  const scopes = grantableScopes(role);
  const nameRef = useRef<HTMLInputElement>(null);
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<Scope[]>(["read"]);
  const [days, setDays] = useState<number>(90);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});

  const create = useAction(
    useCallback(
      async (body: { name: string; scopes: Scope[]; expires_in_days: number }) => {
        try {
          onCreated(await unwrap(api.POST("/api/v1/tokens", { body })));
        } catch (error) {
          if (error instanceof ApiError && error.field && ["name", "scopes", "expires_in_days"].includes(error.field)) {
            setFieldErrors({ [error.field]: fieldMessage(error) });
            return;
          }
          throw error;
        }
      },
      [api, onCreated],
    ),
  );

  function onSubmit(event: SubmitEvent) {
    event.preventDefault();
    const errors: Record<string, string> = {};
    if (!name.trim()) errors.name = "Enter a name.";
    if (chosen.length === 0) errors.scopes = "Choose at least one scope.";
    setFieldErrors(errors);
    if (Object.keys(errors).length > 0) {
      if (errors.name) nameRef.current?.focus();
      return;
    }
    void create.run({ name: name.trim(), scopes: chosen, expires_in_days: days });
  }

  return (
    <Dialog title="New API token" onClose={onClose} initialFocus={nameRef} busy={create.busy}>
      <form className="form" onSubmit={onSubmit} noValidate>
        <Field label="Name" hint="What the token is for, e.g. “CI pipeline”." error={fieldErrors.name}>
          <input
            ref={nameRef}
            className="input"
            value={name}
            maxLength={100}
            autoComplete="off"
            onChange={(e) => {
              setName(e.target.value);
            }}
          />
        </Field>
        <fieldset className="fieldset" aria-describedby={fieldErrors.scopes ? "token-scopes-error" : undefined}>
          <legend>Scopes</legend>
          {scopes.map((scope) => (
            <label key={scope} className="check">
              <input
                type="checkbox"
                checked={chosen.includes(scope)}
                onChange={(e) => {
                  setChosen((current) =>
                    e.target.checked ? [...current, scope] : current.filter((s) => s !== scope),
                  );
                }}
              />
              <span>
                <strong>{scope}</strong>: {SCOPE_HELP[scope]}
              </span>
            </label>
          ))}
          {fieldErrors.scopes ? (
            <p id="token-scopes-error" className="field-error">
              {fieldErrors.scopes}
            </p>
          ) : null}
        </fieldset>
        <Field label="Expires after" error={fieldErrors.expires_in_days}>
          <select
            className="input"
            value={days}
            onChange={(e) => {
              setDays(Number(e.target.value));
            }}
          >
            {EXPIRY_DAYS.map((d) => (
              <option key={d} value={d}>
                {d} days
              </option>
            ))}
          </select>
        </Field>
        <ErrorAlert error={create.error} title="Could not create the token." />
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose} disabled={create.busy}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={create.busy} aria-busy={create.busy}>
            {create.busy ? "Creating…" : "Create token"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function TokensPage() {
  const api = useApi();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);

  const tokens = useAsync(
    useCallback((signal: AbortSignal) => unwrap(api.GET("/api/v1/tokens", { signal })), [api]),
  );
  const { setData } = tokens;

  const revoke = useAction(
    useCallback(
      async (token: ApiToken) => {
        await unwrap(api.DELETE("/api/v1/tokens/{id}", { params: { path: { id: token.id } } }));
        const now = new Date().toISOString();
        setData((list) => list?.map((t) => (t.id === token.id ? { ...t, revoked_at: now } : t)));
        setRevoking(null);
      },
      [api, setData],
    ),
  );

  const onCreated = useCallback(
    (result: CreatedToken) => {
      setCreating(false);
      setCreated(result);
      setData((list) => [result.token, ...(list ?? [])]);
    },
    [setData],
  );

  const list = tokens.data ?? [];
  return (
    <section className="page">
      <PageHeader
        title="API tokens"
        actions={
          <button
            type="button"
            className="button button-primary"
            onClick={() => {
              setCreating(true);
            }}
          >
            New token
          </button>
        }
      >
        <p className="page-subtitle muted">
          Tokens act as you in this organisation, limited to their scopes. Send one as{" "}
          <code>Authorization: Bearer …</code>.
        </p>
      </PageHeader>

      <ErrorAlert error={tokens.error} title="Could not load tokens." onRetry={tokens.reload} />
      {tokens.loading && !tokens.data ? <Loading label="Loading tokens…" /> : null}
      {tokens.data && list.length === 0 ? <EmptyState>No tokens yet.</EmptyState> : null}
      {list.length > 0 ? (
        <table className="table table-cards">
          <caption className="visually-hidden">Your API tokens</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Scopes</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((t) => {
              const status = tokenStatus(t);
              return (
                <tr key={t.id}>
                  <td data-label="Name">{t.name}</td>
                  <td data-label="Prefix" className="mono">
                    {t.prefix}…
                  </td>
                  <td data-label="Scopes">{t.scopes.join(", ")}</td>
                  <td data-label="Created">
                    <Time value={t.created_at} />
                  </td>
                  <td data-label="Last used">
                    <Time value={t.last_used_at} />
                  </td>
                  <td data-label="Expires">
                    <Time value={t.expires_at} />
                  </td>
                  <td data-label="Status">
                    <span className={`badge badge-${status === "active" ? "ok" : "muted"}`}>{status}</span>
                  </td>
                  <td className="row-actions">
                    {status === "active" ? (
                      <button
                        type="button"
                        className="button button-small button-danger-outline"
                        aria-label={`Revoke ${t.name}`}
                        onClick={() => {
                          revoke.reset();
                          setRevoking(t);
                        }}
                      >
                        Revoke
                      </button>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}

      {creating ? (
        <CreateTokenDialog
          onClose={() => {
            setCreating(false);
          }}
          onCreated={onCreated}
        />
      ) : null}

      {created ? (
        <Dialog
          title="Token created"
          description="Copy the secret now. It is shown only this once and cannot be recovered."
          onClose={() => {
            setCreated(null);
          }}
        >
          <SecretValue value={created.secret} label={`Secret of “${created.token.name}”`} />
          <div className="dialog-actions">
            <button
              type="button"
              className="button button-primary"
              onClick={() => {
                setCreated(null);
              }}
            >
              I have stored it
            </button>
          </div>
        </Dialog>
      ) : null}

      {revoking ? (
        <ConfirmDialog
          title={`Revoke “${revoking.name}”?`}
          message="Anything using this token loses access immediately. This cannot be undone."
          confirmLabel="Revoke token"
          danger
          busy={revoke.busy}
          error={<ErrorAlert error={revoke.error} title="Could not revoke the token." />}
          onConfirm={() => void revoke.run(revoking)}
          onCancel={() => {
            setRevoking(null);
          }}
        />
      ) : null}
    </section>
  );
}
