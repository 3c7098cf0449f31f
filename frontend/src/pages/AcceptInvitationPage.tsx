import { useCallback, useState } from "react";
import { Link, useNavigate } from "react-router";
import { unwrap } from "../api/client";
import { useApi, useAuth } from "../app/auth";
import { ErrorAlert } from "../components/ErrorAlert";
import { PageHeader } from "../components/Page";
import { useAction } from "../lib/hooks";

const STORAGE_KEY = "rc.invitationToken";
const PATH = "/invitations/accept";

/**
 * Invitation links look like `/invitations/accept#<token>`. Called once at start-up: moves the
 * token out of the address bar (and history) into session storage, so it survives the sign-in
 * redirect, which drops fragments.
 */
export function stashInvitationToken(): void {
  if (window.location.pathname !== PATH || window.location.hash.length < 2) return;
  try {
    sessionStorage.setItem(STORAGE_KEY, decodeURIComponent(window.location.hash.slice(1)));
  } catch {
    return; // keep the fragment in place; the page reads it from there
  }
  window.history.replaceState(window.history.state, "", PATH);
}

function readToken(): string | null {
  if (window.location.hash.length > 1) return decodeURIComponent(window.location.hash.slice(1));
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function forgetToken(): void {
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
}

export function AcceptInvitationPage() {
  const api = useApi();
  const { me, refresh, selectOrg } = useAuth();
  const navigate = useNavigate();
  const [token] = useState(readToken);

  const accept = useAction(
    useCallback(
      async (secret: string) => {
        const { org_id } = await unwrap(api.POST("/api/v1/invitations/accept", { body: { token: secret } }));
        forgetToken();
        await refresh();
        // Same tick: the sessions page renders once, already in the new organisation.
        void navigate("/sessions", { replace: true });
        selectOrg(org_id);
      },
      [api, navigate, refresh, selectOrg],
    ),
  );

  return (
    <section className="page page-narrow">
      <PageHeader title="Join an organisation" />
      {token ? (
        <>
          <p>
            You are signed in as <strong>{me?.user.email}</strong>. The invitation must be addressed to this
            e-mail address.
          </p>
          <ErrorAlert error={accept.error} title="Could not accept the invitation." />
          <div className="form-actions">
            <button
              type="button"
              className="button button-primary"
              disabled={accept.busy}
              aria-busy={accept.busy}
              onClick={() => void accept.run(token)}
            >
              {accept.busy ? "Joining…" : "Accept invitation"}
            </button>
            <Link to="/sessions" className="button" onClick={forgetToken}>
              Not now
            </Link>
          </div>
        </>
      ) : (
        <p>
          This invitation link is incomplete. Open the full link from your invitation again, or ask the person who
          invited you for a new one.
        </p>
      )}
    </section>
  );
}
