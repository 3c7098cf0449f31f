import { useCallback } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { unwrap } from "../api/client";
import { useApi, useAuth } from "../app/auth";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading, useDocumentTitle } from "../components/Page";
import { useAction, useAsync } from "../lib/hooks";
import { safeReturnPath } from "../lib/safePath";

export function LoginPage() {
  useDocumentTitle("Sign in");
  const api = useApi();
  const { status, expired, refresh } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const returnTo = safeReturnPath(params.get("return_to"));
  const loginError = params.get("error");
  const loginErrorCode = params.get("code");

  const config = useAsync(
    useCallback((signal: AbortSignal) => unwrap(api.GET("/api/v1/auth/config", { signal })), [api]),
  );

  const devLogin = useAction(
    useCallback(async () => {
      await unwrap(api.POST("/api/v1/auth/dev-login"));
      await refresh();
      void navigate(returnTo, { replace: true });
    }, [api, refresh, navigate, returnTo]),
  );

  if (status === "ready") return <Navigate to={returnTo} replace />;

  const ssoHref = `/api/v1/auth/oidc/login?return_to=${encodeURIComponent(returnTo)}`;

  return (
    <main className="login" id="main">
      <div className="login-card">
        <h1 className="login-title">
          <span className="brand-mark" aria-hidden="true">
            &gt;_
          </span>
          Remote Claude
        </h1>
        <p className="login-lead">Sign in to run Claude Code in your sandboxes.</p>

        {expired ? (
          <div className="alert alert-info" role="status">
            <p>Your session has ended. Sign in again to continue.</p>
          </div>
        ) : null}

        {loginError ? (
          <div className="alert alert-error" role="alert">
            <p>
              <strong>Sign-in failed. </strong>
              {loginError}
            </p>
            {loginErrorCode ? <p className="alert-meta">Code: {loginErrorCode}</p> : null}
          </div>
        ) : null}

        {config.loading && !config.data ? <Loading /> : null}
        <ErrorAlert error={config.error} title="Could not load the sign-in options." onRetry={config.reload} />

        {config.data ? (
          <div className="login-actions">
            {config.data.oidc ? (
              <a className="button button-primary button-block" href={ssoHref}>
                Sign in with SSO
              </a>
            ) : null}
            {config.data.dev_login ? (
              <>
                <button
                  type="button"
                  className={`button button-block${config.data.oidc ? "" : " button-primary"}`}
                  disabled={devLogin.busy}
                  aria-busy={devLogin.busy}
                  onClick={() => void devLogin.run()}
                >
                  {devLogin.busy ? "Signing in…" : "Dev login"}
                </button>
                <p className="field-hint">Development only: signs you in as the local developer account.</p>
              </>
            ) : null}
            {!config.data.oidc && !config.data.dev_login ? (
              <p role="status">No sign-in method is configured. Ask your administrator to set up single sign-on.</p>
            ) : null}
          </div>
        ) : null}
        <ErrorAlert error={devLogin.error} title="Dev login failed." />
      </div>
    </main>
  );
}
