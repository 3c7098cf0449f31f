import { type ReactNode, useEffect, useId, useRef, useState } from "react";
import { Link, NavLink, Outlet, useLocation, useNavigate } from "react-router";
import { isAdmin } from "../lib/roles";
import { useAuth } from "./auth";
import { useTheme } from "./theme";

function NavItem({ to, children }: { to: string; children: ReactNode }) {
  return (
    <li>
      <NavLink to={to} className={({ isActive }) => (isActive ? "nav-link active" : "nav-link")}>
        {children}
      </NavLink>
    </li>
  );
}

function OrgSwitcher() {
  const { me, org, selectOrg } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const id = useId();
  const orgs = me?.organizations ?? [];
  if (!org) return null;
  if (orgs.length < 2) {
    return (
      <span className="org-name" title="Organisation">
        {org.name}
      </span>
    );
  }
  return (
    <div className="org-switcher">
      <label htmlFor={id} className="visually-hidden">
        Organisation
      </label>
      <select
        id={id}
        className="input input-compact"
        value={org.id}
        onChange={(event) => {
          selectOrg(event.target.value);
          // A session or task of the previous organisation does not exist in the next one.
          if (/^\/sessions\/./.test(location.pathname)) void navigate("/sessions");
        }}
      >
        {orgs.map((o) => (
          <option key={o.id} value={o.id}>
            {o.name} ({o.role})
          </option>
        ))}
      </select>
    </div>
  );
}

function ThemeToggle() {
  const { theme, toggle } = useTheme();
  const next = theme === "dark" ? "light" : "dark";
  return (
    <button
      type="button"
      className="icon-button"
      onClick={toggle}
      aria-label={`Switch to ${next} theme`}
      title={`Switch to ${next} theme`}
    >
      {theme === "dark" ? (
        <svg viewBox="0 0 24 24" aria-hidden="true" width="20" height="20">
          <circle cx="12" cy="12" r="4.5" fill="currentColor" />
          <path
            d="M12 2v2.5M12 19.5V22M2 12h2.5M19.5 12H22M4.9 4.9l1.8 1.8M17.3 17.3l1.8 1.8M4.9 19.1l1.8-1.8M17.3 6.7l1.8-1.8"
            stroke="currentColor"
            strokeWidth="2"
            strokeLinecap="round"
          />
        </svg>
      ) : (
        <svg viewBox="0 0 24 24" aria-hidden="true" width="20" height="20">
          <path d="M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5z" fill="currentColor" />
        </svg>
      )}
    </button>
  );
}

function UserMenu() {
  const { me, signOut } = useAuth();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const panelId = useId();
  const rootRef = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    function onPointerDown(event: PointerEvent) {
      if (rootRef.current && !rootRef.current.contains(event.target as Node)) setOpen(false);
    }
    document.addEventListener("pointerdown", onPointerDown);
    return () => {
      document.removeEventListener("pointerdown", onPointerDown);
    };
  }, [open]);

  if (!me) return null;
  const initial = (me.user.display_name || me.user.email).trim().charAt(0).toUpperCase();

  return (
    <div
      className="user-menu"
      ref={rootRef}
      onKeyDown={(event) => {
        if (event.key === "Escape" && open) {
          setOpen(false);
          buttonRef.current?.focus();
        }
      }}
      onBlur={(event) => {
        if (!event.currentTarget.contains(event.relatedTarget)) setOpen(false);
      }}
    >
      <button
        ref={buttonRef}
        type="button"
        className="avatar-button"
        aria-expanded={open}
        aria-controls={panelId}
        aria-label={`Account: ${me.user.display_name}`}
        onClick={() => {
          setOpen((v) => !v);
        }}
      >
        <span aria-hidden="true">{initial || "?"}</span>
      </button>
      <div id={panelId} className="user-menu-panel" hidden={!open}>
        <p className="user-menu-name">{me.user.display_name}</p>
        <p className="user-menu-email">{me.user.email}</p>
        <button
          type="button"
          className="button button-block"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            // Once signed out, the route guard sends the browser to /login.
            void signOut().finally(() => {
              setBusy(false);
            });
          }}
        >
          {busy ? "Signing out…" : "Sign out"}
        </button>
      </div>
    </div>
  );
}

/** Header with navigation, organisation switcher, theme toggle and account menu. */
export function AppShell() {
  const { me, org, role } = useAuth();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <div className="header-bar">
          <Link to="/sessions" className="brand">
            <span className="brand-mark" aria-hidden="true">
              &gt;_
            </span>
            <span className="brand-text">Remote Claude</span>
          </Link>
          <div className="header-tools">
            <OrgSwitcher />
            <ThemeToggle />
            <UserMenu />
          </div>
        </div>
        {org ? (
          <nav className="main-nav" aria-label="Main">
            <ul>
              <NavItem to="/sessions">Sessions</NavItem>
              <NavItem to="/usage">Usage</NavItem>
              <NavItem to="/tokens">API tokens</NavItem>
              {isAdmin(role) ? <NavItem to="/admin">Admin</NavItem> : null}
            </ul>
          </nav>
        ) : null}
        {me?.scripted_model ? (
          <p className="scripted-model-banner" role="note">
            <strong>Scripted fake model.</strong> Sessions get canned replies from the project&apos;s
            test model, not from Claude.
          </p>
        ) : null}
      </header>
      <main id="main" className="app-main" tabIndex={-1}>
        {/* Remount pages on organisation switch so no data of the previous one lingers. */}
        <Outlet key={org?.id ?? "none"} />
      </main>
    </>
  );
}
