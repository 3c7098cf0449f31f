import { NavLink, Outlet } from "react-router";
import { useOrg } from "../../app/auth";

const TABS = [
  { to: "members", label: "Members" },
  { to: "invitations", label: "Invitations" },
  { to: "audit", label: "Audit log" },
  // Owners edit it; admins see it read-only (the page says so).
  { to: "organization", label: "Organisation" },
] as const;

/** The admin area (owners and admins; guarded by the route). */
export function AdminLayout() {
  const org = useOrg();
  return (
    <section className="page">
      <h1>
        Admin <span className="muted">· {org.name}</span>
      </h1>
      <nav aria-label="Admin" className="tabs">
        <ul>
          {TABS.map((tab) => (
            <li key={tab.to}>
              <NavLink to={tab.to} className={({ isActive }) => (isActive ? "tab active" : "tab")}>
                {tab.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <Outlet />
    </section>
  );
}
