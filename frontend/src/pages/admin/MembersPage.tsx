import { useCallback, useState } from "react";
import { unwrap } from "../../api/client";
import { type Member, ROLES, type Role } from "../../api/types";
import { useApi, useAuth } from "../../app/auth";
import { ConfirmDialog } from "../../components/Dialog";
import { ErrorAlert } from "../../components/ErrorAlert";
import { EmptyState, Loading, PageHeader } from "../../components/Page";
import { Time } from "../../components/Time";
import { useAction } from "../../lib/hooks";
import { useMembers } from "../../lib/members";

export function MembersPage() {
  const api = useApi();
  const { me, role: myRole } = useAuth();
  const members = useMembers();
  const { setData } = members;
  const [removing, setRemoving] = useState<Member | null>(null);
  const [status, setStatus] = useState("");

  // Only owners may grant or take away ownership (the api has the final say).
  const assignable = (current: Role) =>
    myRole === "owner" ? ROLES : ROLES.filter((r) => r !== "owner" || current === "owner");

  const changeRole = useAction(
    useCallback(
      async (member: Member, role: Role) => {
        const updated = await unwrap(
          api.PATCH("/api/v1/members/{user_id}", { params: { path: { user_id: member.user_id } }, body: { role } }),
        );
        setData((list) => list?.map((m) => (m.user_id === updated.user_id ? updated : m)));
        setStatus(`${updated.display_name || updated.email} is now ${updated.role}.`);
      },
      [api, setData],
    ),
  );

  const remove = useAction(
    useCallback(
      async (member: Member) => {
        await unwrap(api.DELETE("/api/v1/members/{user_id}", { params: { path: { user_id: member.user_id } } }));
        setData((list) => list?.filter((m) => m.user_id !== member.user_id));
        setRemoving(null);
        setStatus(`${member.display_name || member.email} was removed.`);
      },
      [api, setData],
    ),
  );

  const list = members.data ?? [];
  return (
    <div>
      <PageHeader title="Members" level={2} />
      <p className="visually-hidden" role="status" aria-live="polite">
        {status}
      </p>
      <ErrorAlert error={members.error} title="Could not load members." onRetry={members.reload} />
      <ErrorAlert error={changeRole.error} title="Could not change the role." />
      {members.loading && !members.data ? <Loading label="Loading members…" /> : null}
      {members.data && list.length === 0 ? <EmptyState>No members.</EmptyState> : null}
      {list.length > 0 ? (
        <table className="table table-cards">
          <caption className="visually-hidden">Members of the organisation</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">E-mail</th>
              <th scope="col">Role</th>
              <th scope="col">Joined</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((m) => {
              const isMe = m.user_id === me?.user.id;
              const name = m.display_name || m.email;
              return (
                <tr key={m.user_id}>
                  <td data-label="Name">
                    {name}
                    {isMe ? <span className="muted"> (you)</span> : null}
                  </td>
                  <td data-label="E-mail" className="break">
                    {m.email}
                  </td>
                  <td data-label="Role">
                    {isMe ? (
                      m.role
                    ) : (
                      <select
                        className="input input-compact"
                        aria-label={`Role of ${name}`}
                        value={m.role}
                        disabled={changeRole.busy}
                        onChange={(e) => void changeRole.run(m, e.target.value as Role)}
                      >
                        {assignable(m.role).map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    )}
                  </td>
                  <td data-label="Joined">
                    <Time value={m.joined_at} />
                  </td>
                  <td className="row-actions">
                    {isMe ? null : (
                      <button
                        type="button"
                        className="button button-small button-danger-outline"
                        aria-label={`Remove ${name}`}
                        onClick={() => {
                          remove.reset();
                          setRemoving(m);
                        }}
                      >
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {removing ? (
        <ConfirmDialog
          title={`Remove ${removing.display_name || removing.email}?`}
          message="They lose access to this organisation and its sessions at once. Their API tokens for it stop working."
          confirmLabel="Remove member"
          danger
          busy={remove.busy}
          error={<ErrorAlert error={remove.error} title="Could not remove the member." />}
          onConfirm={() => void remove.run(removing)}
          onCancel={() => {
            setRemoving(null);
          }}
        />
      ) : null}
    </div>
  );
}
