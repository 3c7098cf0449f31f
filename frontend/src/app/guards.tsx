import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { ErrorAlert } from "../components/ErrorAlert";
import { Loading } from "../components/Page";
import { isAdmin } from "../lib/roles";
import { NoOrganizationPage } from "../pages/NoOrganizationPage";
import { useAuth } from "./auth";

/** Renders children once signed in; otherwise sends the browser to /login and back. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { status, error, refresh } = useAuth();
  const location = useLocation();
  if (status === "loading") {
    return (
      <main className="centered">
        <Loading />
      </main>
    );
  }
  if (status === "error") {
    return (
      <main className="centered">
        <ErrorAlert error={error} title="Could not load your profile." onRetry={() => void refresh()} />
      </main>
    );
  }
  if (status === "anonymous") {
    const returnTo = `${location.pathname}${location.search}`;
    return <Navigate to={`/login?return_to=${encodeURIComponent(returnTo)}`} replace />;
  }
  return children;
}

/** Renders children when an organisation is selected; users without one can create one. */
export function RequireOrg({ children }: { children: ReactNode }) {
  const { org } = useAuth();
  return org ? children : <NoOrganizationPage />;
}

/** Owners and admins only; others get a plain refusal (the api would refuse anyway). */
export function RequireAdmin({ children }: { children: ReactNode }) {
  const { role } = useAuth();
  if (isAdmin(role)) return children;
  return (
    <section className="page" aria-labelledby="forbidden-title">
      <h1 id="forbidden-title">Not available</h1>
      <p>The admin area is for organisation owners and admins.</p>
    </section>
  );
}
