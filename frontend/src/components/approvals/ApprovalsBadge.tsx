import { NavLink } from "react-router";
import { usePendingApprovals } from "../../app/approvals";
import "./approvals.css";

/**
 * Header link to the approvals page with the number of pending requests. It stays in the header
 * bar at every width, so a phone reaches the approvals in one tap.
 */
export function ApprovalsBadge() {
  const { approvals, available } = usePendingApprovals();
  if (!available) return null;
  const count = approvals?.length ?? 0;
  const label =
    count === 0 ? "Approvals: none pending" : `Approvals: ${count} pending`;
  return (
    <NavLink to="/approvals" className="approvals-badge" aria-label={label} title={label}>
      <svg viewBox="0 0 24 24" aria-hidden="true" width="22" height="22">
        <path
          d="M12 3a6 6 0 0 0-6 6v3.6L4.3 16a1 1 0 0 0 .9 1.5h13.6a1 1 0 0 0 .9-1.5L18 12.6V9a6 6 0 0 0-6-6zm-2.5 16a2.5 2.5 0 0 0 5 0z"
          fill="currentColor"
        />
      </svg>
      {count > 0 ? (
        <span className="approvals-badge-count" aria-hidden="true">
          {count > 99 ? "99+" : count}
        </span>
      ) : null}
    </NavLink>
  );
}
