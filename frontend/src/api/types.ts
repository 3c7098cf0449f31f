/** Short names for the generated schema types. */
import type { Schemas } from "./client";

export type AuthConfig = Schemas["AuthConfig"];
export type Me = Schemas["Me"];
export type User = Schemas["User"];
export type Organization = Schemas["Organization"];
export type OrgPolicy = Schemas["OrgPolicy"];
export type Role = Schemas["Role"];
export type Scope = Schemas["Scope"];
export type Member = Schemas["Member"];
export type Invitation = Schemas["Invitation"];
export type CreatedInvitation = Schemas["CreatedInvitation"];
export type ApiToken = Schemas["ApiToken"];
export type CreatedToken = Schemas["CreatedToken"];
export type Session = Schemas["Session"];
export type SessionState = Schemas["SessionState"];
export type SessionLimits = Schemas["SessionLimits"];
export type SessionLimitsInput = Schemas["SessionLimitsInput"];
export type CreateSession = Schemas["CreateSession"];
export type Task = Schemas["Task"];
export type TaskState = Schemas["TaskState"];
export type AuditEntry = Schemas["AuditEntry"];
export type UsageRow = Schemas["UsageRow"];
export type UsageGroup = Schemas["UsageGroup"];

export const ROLES: readonly Role[] = ["owner", "admin", "member", "viewer"];
export const SCOPES: readonly Scope[] = ["read", "write", "admin"];
export const SESSION_STATES: readonly SessionState[] = [
  "pending",
  "starting",
  "running",
  "stopping",
  "stopped",
  "failed",
];
export const PERMISSION_MODES = ["default", "acceptEdits", "plan", "dontAsk", "bypassPermissions"] as const;
export type PermissionMode = (typeof PERMISSION_MODES)[number];
