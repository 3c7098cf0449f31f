import { type SubmitEvent, useCallback, useState } from "react";
import { ApiError, fieldMessage, unwrap } from "../../api/client";
import { type CreatedInvitation, type Invitation, ROLES, type Role } from "../../api/types";
import { useApi, useAuth } from "../../app/auth";
import { SecretValue } from "../../components/CopyButton";
import { ConfirmDialog } from "../../components/Dialog";
import { ErrorAlert } from "../../components/ErrorAlert";
import { Field } from "../../components/Field";
import { EmptyState, Loading, PageHeader } from "../../components/Page";
import { Time } from "../../components/Time";
import { useAction, useAsync } from "../../lib/hooks";

type InvitationStatus = "accepted" | "revoked" | "expired" | "pending";

function invitationStatus(i: Invitation): InvitationStatus {
  if (i.accepted_at) return "accepted";
  if (i.revoked_at) return "revoked";
  if (new Date(i.expires_at).getTime() <= Date.now()) return "expired";
  return "pending";
}

export function InvitationsPage() {
  const api = useApi();
  const { role: myRole } = useAuth();
  const roles = myRole === "owner" ? ROLES : ROLES.filter((r) => r !== "owner");
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [created, setCreated] = useState<CreatedInvitation | null>(null);
  const [revoking, setRevoking] = useState<Invitation | null>(null);

  const invitations = useAsync(
    useCallback((signal: AbortSignal) => unwrap(api.GET("/api/v1/invitations", { signal })), [api]),
  );
  const { setData } = invitations;

  const invite = useAction(
    useCallback(
      async (body: { email: string; role: Role }) => {
        try {
          const result = await unwrap(api.POST("/api/v1/invitations", { body }));
          setCreated(result);
          setEmail("");
          setData((list) => [result.invitation, ...(list ?? [])]);
        } catch (error) {
          if (error instanceof ApiError && (error.field === "email" || error.field === "role")) {
            setFieldErrors({ [error.field]: fieldMessage(error) });
            return;
          }
          throw error;
        }
      },
      [api, setData, setCreated, setEmail, setFieldErrors],
    ),
  );

  const revoke = useAction(
    useCallback(
      async (invitation: Invitation) => {
        await unwrap(api.DELETE("/api/v1/invitations/{id}", { params: { path: { id: invitation.id } } }));
        const now = new Date().toISOString();
        setData((list) => list?.map((i) => (i.id === invitation.id ? { ...i, revoked_at: now } : i)));
        setRevoking(null);
      },
      [api, setData, setRevoking],
    ),
  );

  function onSubmit(event: SubmitEvent) {
    event.preventDefault();
    const trimmed = email.trim();
    if (!trimmed.includes("@")) {
      setFieldErrors({ email: "Enter an e-mail address." });
      return;
    }
    setFieldErrors({});
    setCreated(null);
    void invite.run({ email: trimmed, role });
  }

  const list = invitations.data ?? [];
  return (
    <div>
      <PageHeader title="Invitations" level={2} />
      <form className="card form" onSubmit={onSubmit} noValidate aria-label="Invite someone">
        <div className="form-grid">
          <Field label="E-mail address" error={fieldErrors.email}>
            <input
              className="input"
              type="email"
              autoComplete="off"
              value={email}
              onChange={(e) => {
                setEmail(e.target.value);
                setFieldErrors({});
              }}
            />
          </Field>
          <Field label="Role" error={fieldErrors.role}>
            <select
              className="input"
              value={role}
              onChange={(e) => {
                setRole(e.target.value as Role);
              }}
            >
              {roles.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <ErrorAlert error={invite.error} title="Could not create the invitation." />
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={invite.busy} aria-busy={invite.busy}>
            {invite.busy ? "Inviting…" : "Create invitation"}
          </button>
        </div>
      </form>

      {created ? (
        <div className="card callout" role="status">
          <p>
            <strong>Invitation for {created.invitation.email} created.</strong> Send them this link. It is shown only
            now and works until <Time value={created.invitation.expires_at} />.
          </p>
          <SecretValue value={created.url} label="Invitation link" />
          <button
            type="button"
            className="button button-small"
            onClick={() => {
              setCreated(null);
            }}
          >
            Done
          </button>
        </div>
      ) : null}

      <h3>Sent invitations</h3>
      <ErrorAlert error={invitations.error} title="Could not load invitations." onRetry={invitations.reload} />
      {invitations.loading && !invitations.data ? <Loading label="Loading invitations…" /> : null}
      {invitations.data && list.length === 0 ? <EmptyState>No invitations.</EmptyState> : null}
      {list.length > 0 ? (
        <table className="table table-cards">
          <caption className="visually-hidden">Invitations</caption>
          <thead>
            <tr>
              <th scope="col">E-mail</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Sent</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((i) => {
              const status = invitationStatus(i);
              return (
                <tr key={i.id}>
                  <td data-label="E-mail" className="break">
                    {i.email}
                  </td>
                  <td data-label="Role">{i.role}</td>
                  <td data-label="Status">
                    <span className={`badge badge-${status === "pending" ? "neutral" : status === "accepted" ? "ok" : "muted"}`}>
                      {status}
                    </span>
                  </td>
                  <td data-label="Sent">
                    <Time value={i.created_at} />
                  </td>
                  <td data-label="Expires">
                    <Time value={i.expires_at} />
                  </td>
                  <td className="row-actions">
                    {status === "pending" ? (
                      <button
                        type="button"
                        className="button button-small button-danger-outline"
                        aria-label={`Revoke invitation for ${i.email}`}
                        onClick={() => {
                          revoke.reset();
                          setRevoking(i);
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
      {revoking ? (
        <ConfirmDialog
          title={`Revoke the invitation for ${revoking.email}?`}
          message="The link stops working. You can invite the address again later."
          confirmLabel="Revoke invitation"
          danger
          busy={revoke.busy}
          error={<ErrorAlert error={revoke.error} title="Could not revoke the invitation." />}
          onConfirm={() => void revoke.run(revoking)}
          onCancel={() => {
            setRevoking(null);
          }}
        />
      ) : null}
    </div>
  );
}
