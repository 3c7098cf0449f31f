/**
 * What each role may do, mirroring the api's role → action table (libs/auth/src/role.rs). The
 * UI only hides what a role cannot do; the api enforces it.
 */
import type { Role, Scope } from "../api/types";

export type Action =
  | "sessions.write"
  | "tasks.write"
  | "members.manage"
  | "audit.read"
  | "usage.read_all"
  | "org.manage";

export function can(role: Role | null | undefined, action: Action): boolean {
  if (!role) return false;
  switch (action) {
    case "sessions.write":
    case "tasks.write":
      return role === "owner" || role === "admin" || role === "member";
    case "members.manage":
    case "audit.read":
    case "usage.read_all":
      return role === "owner" || role === "admin";
    case "org.manage":
      return role === "owner";
  }
}

/** Owners and admins see the Admin area. */
export function isAdmin(role: Role | null | undefined): boolean {
  return role === "owner" || role === "admin";
}

/** Scopes a user with `role` may put on an API token. */
export function grantableScopes(role: Role | null | undefined): Scope[] {
  switch (role) {
    case "owner":
    case "admin":
      return ["read", "write", "admin"];
    case "member":
      return ["read", "write"];
    case "viewer":
      return ["read"];
    default:
      return [];
  }
}
