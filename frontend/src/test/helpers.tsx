/** Test helpers: fixtures, a fetch stub at the network boundary, and app rendering. */
import { render } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { vi } from "vitest";
import type { Me, Organization, Role, Session } from "../api/types";
import { AppRoutes } from "../app/App";
import { AuthProvider } from "../app/auth";

export const ORG_ID = "0b6d6c3e-8f0c-4a3e-9d1e-2f1f6f1d0a01";
export const USER_ID = "5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";

export function makeOrg(role: Role, overrides: Partial<Organization> = {}): Organization {
  return {
    id: ORG_ID,
    name: "Acme",
    slug: "acme",
    role,
    created_at: "2025-01-01T00:00:00Z",
    policy: {
      allowed_images: ["local/claude-sandbox:latest"],
      allowed_network_policies: ["none", "allowlist"],
      allowed_tools: [],
      default_model: "claude-sonnet-4-5",
      denied_tools: [],
      egress_allowlist: [],
      max_cpu_millis: 2000,
      max_duration_secs: 86400,
      max_idle_timeout_secs: 14400,
      max_memory_mb: 4096,
      max_pids: 512,
      max_sessions_per_org: 50,
      max_sessions_per_user: 5,
      monthly_budget_micros: 0,
    },
    ...overrides,
  };
}

export function makeMe(role: Role, organizations: Organization[] = [makeOrg(role)]): Me {
  return {
    user: {
      id: USER_ID,
      email: "dev@example.com",
      display_name: "Dev Eloper",
      created_at: "2025-01-01T00:00:00Z",
    },
    organizations,
    csrf_token: "csrf-from-me",
    scripted_model: false,
  };
}

export function makeSession(overrides: Partial<Session> = {}): Session {
  return {
    id: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    owner_id: USER_ID,
    name: "Fix the build",
    state: "running",
    image: "local/claude-sandbox:latest",
    model: "claude-sonnet-4-5",
    permission_mode: "default",
    network_policy: "none",
    repository_url: null,
    limits: { cpu_millis: 1000, memory_mb: 2048, pids: 256, idle_timeout_secs: 3600, max_duration_secs: 86400 },
    created_at: "2025-01-02T10:00:00Z",
    updated_at: "2025-01-02T10:00:00Z",
    ...overrides,
  };
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

export function apiError(status: number, code: string, message: string, field?: string): Response {
  return json({ error: { code, message, ...(field ? { field } : {}) } }, status);
}

type Handler = (request: Request, url: URL) => Response | Promise<Response> | undefined;

/**
 * Replaces `fetch`. Each request goes to `handler` (which gets a clone, so it may read the body);
 * unhandled requests answer 404 route_not_found. Returns the recorded requests.
 */
export function stubFetch(handler: Handler): Request[] {
  const requests: Request[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request) => {
      requests.push(input.clone());
      const url = new URL(input.url, "http://localhost");
      return (await handler(input.clone(), url)) ?? apiError(404, "route_not_found", `no stub for ${input.method} ${url.pathname}`);
    }),
  );
  return requests;
}

export function renderApp(path: string, me: Me) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <AuthProvider initialMe={me}>
        <AppRoutes />
      </AuthProvider>
    </MemoryRouter>,
  );
}
