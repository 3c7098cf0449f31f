import { describe, expect, it, vi } from "vitest";
import { apiError, json, stubFetch } from "../test/helpers";
import { ApiError, createApiClient, fieldMessage, readCookie, toApiError, unwrap } from "./client";

const ORG = "0b6d6c3e-8f0c-4a3e-9d1e-2f1f6f1d0a01";

function client(overrides: { orgId?: string | null; csrf?: string | null; onUnauthenticated?: () => void } = {}) {
  return createApiClient({
    orgId: () => (overrides.orgId === undefined ? ORG : overrides.orgId),
    csrfToken: () => (overrides.csrf === undefined ? "csrf-from-me" : overrides.csrf),
    onUnauthenticated: overrides.onUnauthenticated,
  });
}

describe("platform headers", () => {
  it("sends X-Org-Id on reads, without a CSRF token", async () => {
    const requests = stubFetch(() => json({ items: [] }));
    await unwrap(client().GET("/api/v1/sessions"));
    const [request] = requests;
    expect(request?.method).toBe("GET");
    expect(request?.headers.get("X-Org-Id")).toBe(ORG);
    expect(request?.headers.has("X-CSRF-Token")).toBe(false);
  });

  it("sends the CSRF token from /me and X-Org-Id on mutations", async () => {
    const requests = stubFetch(() => json({ id: "t" }, 201));
    await unwrap(client().POST("/api/v1/sessions/{id}/tasks", { params: { path: { id: "s1" } }, body: { prompt: "hi" } }));
    const [request] = requests;
    expect(request?.method).toBe("POST");
    expect(new URL(request?.url ?? "").pathname).toBe("/api/v1/sessions/s1/tasks");
    expect(request?.headers.get("X-CSRF-Token")).toBe("csrf-from-me");
    expect(request?.headers.get("X-Org-Id")).toBe(ORG);
    expect(await request?.json()).toEqual({ prompt: "hi" });
  });

  it("prefers the rc_csrf cookie, which always matches the current login", async () => {
    document.cookie = "rc_csrf=from-cookie; path=/";
    const requests = stubFetch(() => new Response(null, { status: 204 }));
    await unwrap(client().DELETE("/api/v1/tokens/{id}", { params: { path: { id: "t1" } } }));
    expect(requests[0]?.headers.get("X-CSRF-Token")).toBe("from-cookie");
  });

  it("falls back to the cookie when /me gave no token, and omits headers it has no value for", async () => {
    const requests = stubFetch(() => new Response(null, { status: 204 }));
    await unwrap(client({ orgId: null, csrf: null }).POST("/api/v1/auth/logout"));
    expect(requests[0]?.headers.has("X-CSRF-Token")).toBe(false);
    expect(requests[0]?.headers.has("X-Org-Id")).toBe(false);

    document.cookie = "rc_csrf=cookie%2Fvalue; path=/";
    await unwrap(
      client({ csrf: null }).PATCH("/api/v1/members/{user_id}", {
        params: { path: { user_id: "u" } },
        body: { role: "admin" },
      }),
    );
    expect(requests[1]?.headers.get("X-CSRF-Token")).toBe("cookie/value");
  });
});

describe("errors", () => {
  it("parses the error body into a typed ApiError", async () => {
    stubFetch(() =>
      json(
        { error: { code: "validation_failed", message: "must be at most 4096", field: "limits.memory_mb" } },
        400,
        { "x-request-id": "req-123" },
      ),
    );
    const error = await unwrap(client().POST("/api/v1/sessions", { body: { name: "x" } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 400,
      code: "validation_failed",
      message: "must be at most 4096",
      field: "limits.memory_mb",
      requestId: "req-123",
    });
  });

  it("has field null when the error names none", async () => {
    stubFetch(() => apiError(409, "conflict", "the session is already stopped"));
    const error = (await unwrap(client().POST("/api/v1/sessions/{id}/stop", { params: { path: { id: "s" } } })).catch(
      (e: unknown) => e,
    )) as ApiError;
    expect(error.status).toBe(409);
    expect(error.code).toBe("conflict");
    expect(error.field).toBeNull();
  });

  it("copes with a non-JSON error page from a proxy", async () => {
    stubFetch(() => new Response("<html>Bad Gateway</html>", { status: 502, headers: { "content-type": "text/html" } }));
    const error = (await unwrap(client().GET("/api/v1/me")).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(502);
    expect(error.code).toBe("http_502");
    expect(error.message).toMatch(/unavailable/i);
  });

  it("reports an unreachable server as status 0", async () => {
    vi.stubGlobal("fetch", vi.fn(() => Promise.reject(new TypeError("fetch failed"))));
    const error = (await unwrap(client().GET("/api/v1/me")).catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(0);
    expect(error.code).toBe("network_error");
  });

  it("tells the app when the login session is gone", async () => {
    const onUnauthenticated = vi.fn();
    stubFetch(() => apiError(401, "unauthenticated", "your session has expired; sign in again"));
    const error = (await unwrap(client({ onUnauthenticated }).GET("/api/v1/sessions")).catch((e: unknown) => e)) as ApiError;
    expect(onUnauthenticated).toHaveBeenCalledTimes(1);
    expect(error.code).toBe("unauthenticated");
  });

  it("drops the field prefix from messages shown at the field", () => {
    const error = toApiError(400, {
      error: { code: "validation_failed", message: "limits.pids: must be at most 512", field: "limits.pids" },
    });
    expect(fieldMessage(error)).toBe("must be at most 512");
    expect(fieldMessage(toApiError(400, { error: { code: "x", message: "plain", field: "name" } }))).toBe("plain");
  });

  it("toApiError ignores malformed bodies", () => {
    expect(toApiError(500, { error: "boom" })).toMatchObject({ code: "http_500", field: null });
    expect(toApiError(418, undefined).message).toContain("418");
  });
});

describe("readCookie", () => {
  it("finds one cookie among several and decodes it", () => {
    expect(readCookie("rc_csrf", "a=1; rc_csrf=x%20y; b=2")).toBe("x y");
    expect(readCookie("rc_csrf", "a=1; rc_csrf_other=2")).toBeNull();
  });
});
