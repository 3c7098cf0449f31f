import { type ReactNode, useId, useRef, useState } from "react";
import { Link, NavLink, Outlet, useLocation, useNavigate } from "react-router";
import { ApprovalsBadge } from "../components/approvals/ApprovalsBadge";
import { isAdmin } from "../lib/roles";
import { usePopover } from "../lib/usePopover";
import { useInstallPrompt } from "../pwa/install";
import { usePushNotifications } from "../pwa/usePush";
import { PendingApprovalsProvider } from "./approvals";
import { useAuth } from "./auth";
import { useTheme } from "./theme";
import { UsageBlockIndicator } from "./usage/UsageBlockIndicator";
import "./shell.css";

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

/** "Install app" and the push "Notifications" switch; each only when the browser offers it. */
function AppOptions() {
  const { canInstall, install } = useInstallPrompt();
  const push = usePushNotifications();
  if (!canInstall && !push.available) return null;
  return (
    <div className="user-menu-options">
      {push.available ? (
        <>
          <button
            type="button"
            role="switch"
            aria-checked={push.on}
            className="menu-switch"
            disabled={push.busy}
            onClick={push.toggle}
          >
            <span>
              Notifications
              <span className="menu-switch-hint">Approval requests on this device</span>
            </span>
            <span className="menu-switch-track" aria-hidden="true" />
          </button>
          {push.error ? (
            <p className="field-error" role="alert">
              {push.error}
            </p>
          ) : null}
        </>
      ) : null}
      {canInstall ? (
        <button type="button" className="button button-block" onClick={() => void install()}>
          Install app
        </button>
      ) : null}
    </div>
  );
}

function UserMenu() {
  const { me, signOut } = useAuth();
  const { open, toggle, buttonRef, rootProps } = usePopover();
  const [busy, setBusy] = useState(false);
  const panelId = useId();

  if (!me) return null;
  const initial = (me.user.display_name || me.user.email).trim().charAt(0).toUpperCase();

  return (
    <div className="user-menu" {...rootProps}>
      <button
        ref={buttonRef}
        type="button"
        className="avatar-button"
        aria-expanded={open}
        aria-controls={panelId}
        aria-label={`Account: ${me.user.display_name}`}
        onClick={toggle}
      >
        <span aria-hidden="true">{initial || "?"}</span>
      </button>
      <div id={panelId} className="user-menu-panel" hidden={!open}>
        <p className="user-menu-name">{me.user.display_name}</p>
        <p className="user-menu-email">{me.user.email}</p>
        <AppOptions />
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

/**
 * Header: brand, usage block, approvals badge and account menu in one bar that fits 390 px; the
 * navigation, organisation switcher and theme toggle below it, folded behind a "Menu" button on
 * narrow screens (the approvals badge stays outside the fold: one tap from a phone).
 */
export function AppShell() {
  const { me, org, role } = useAuth();
  const location = useLocation();
  const navId = useId();
  const toggleRef = useRef<HTMLButtonElement>(null);
  // Open for the page it was opened on: following a link closes it without an effect.
  const [openOn, setOpenOn] = useState<string | null>(null);
  const navOpen = openOn === location.pathname;

  return (
    <PendingApprovalsProvider key={org?.id ?? "none"} enabled={org !== null}>
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
            {org ? <UsageBlockIndicator /> : null}
            {org ? <ApprovalsBadge /> : null}
            <UserMenu />
            {/* Last in the bar, so Tab goes from it straight into the panel it opens. */}
            <button
              ref={toggleRef}
              type="button"
              className="icon-button nav-toggle"
              aria-expanded={navOpen}
              aria-controls={navId}
              aria-label="Menu"
              onClick={() => {
                setOpenOn(navOpen ? null : location.pathname);
              }}
              onKeyDown={(event) => {
                if (event.key === "Escape") setOpenOn(null);
              }}
            >
              <svg viewBox="0 0 24 24" aria-hidden="true" width="20" height="20">
                <path
                  d={navOpen ? "M6 6l12 12M18 6L6 18" : "M4 7h16M4 12h16M4 17h16"}
                  stroke="currentColor"
                  strokeWidth="2"
                  strokeLinecap="round"
                />
              </svg>
            </button>
          </div>
        </div>
        <div
          id={navId}
          className={navOpen ? "nav-panel open" : "nav-panel"}
          onKeyDown={(event) => {
            if (event.key === "Escape" && navOpen) {
              setOpenOn(null);
              toggleRef.current?.focus();
            }
          }}
        >
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
          <div className="nav-extras">
            <OrgSwitcher />
            <ThemeToggle />
          </div>
        </div>
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
    </PendingApprovalsProvider>
  );
}
