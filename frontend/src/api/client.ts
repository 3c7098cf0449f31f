/**
 * The typed REST client: openapi-fetch over `fetch`, typed by `schema.d.ts` (generated from
 * docs/api/openapi.json), plus the platform's conventions:
 *
 * - `X-Org-Id` on every request once an organisation is selected;
 * - `X-CSRF-Token` on every mutation (cookie-authenticated requests need it);
 * - errors (`{"error": {"code", "message", "field"?}}`) become a typed {@link ApiError}.
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

export const ORG_HEADER = "X-Org-Id";
export const CSRF_HEADER = "X-CSRF-Token";
/** Readable cookie the api sets next to the HttpOnly session cookie. */
export const CSRF_COOKIE = "rc_csrf";

/** A failed API call: HTTP status plus the body's stable `code`, `message` and optional `field`. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  /** Stable machine-readable code (`validation_failed`, `not_found`, …). */
  readonly code: string;
  /** The request field at fault, e.g. `limits.memory_mb` (validation errors only). */
  readonly field: string | null;
  /** The api's `x-request-id`, to quote in bug reports. */
  readonly requestId: string | null;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    field?: string | null;
    requestId?: string | null;
  }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.field = init.field ?? null;
    this.requestId = init.requestId ?? null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const FALLBACK_MESSAGES: Record<number, string> = {
  401: "You are signed out. Sign in again.",
  403: "You are not allowed to do that.",
  404: "Not found.",
  413: "The request is too large.",
  429: "Too many requests. Wait a moment and try again.",
  502: "The server is unavailable. Try again shortly.",
  503: "The service is unavailable. Try again shortly.",
  504: "The server took too long to answer. Try again.",
};

/**
 * Builds an {@link ApiError} from an error response. `body` is the parsed JSON body, or its text
 * when it was not JSON (a proxy's HTML error page, say), or undefined when empty.
 */
export function toApiError(status: number, body: unknown, requestId: string | null = null): ApiError {
  const detail = isRecord(body) && isRecord(body.error) ? body.error : null;
  if (detail && typeof detail.code === "string" && typeof detail.message === "string") {
    return new ApiError({
      status,
      code: detail.code,
      message: detail.message,
      field: typeof detail.field === "string" ? detail.field : null,
      requestId,
    });
  }
  return new ApiError({
    status,
    code: `http_${status}`,
    message: FALLBACK_MESSAGES[status] ?? `The server answered with HTTP ${status}.`,
    requestId,
  });
}

/** The value of cookie `name`, or null. */
export function readCookie(name: string, cookies: string = globalThis.document.cookie): string | null {
  for (const part of cookies.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const raw = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(raw);
      } catch {
        return raw;
      }
    }
  }
  return null;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface ApiClientOptions {
  /** The selected organisation, sent as `X-Org-Id`. */
  orgId: () => string | null;
  /** The CSRF token from `GET /me` or the login response; the `rc_csrf` cookie wins when set. */
  csrfToken: () => string | null;
  /** Called when any call answers 401 (signed out, or the login session expired). */
  onUnauthenticated?: () => void;
  /** Defaults to this page's origin (the api serves the app). */
  baseUrl?: string;
  /** Defaults to the global fetch, looked up per call (so tests can stub it). */
  fetch?: (request: Request) => Promise<Response>;
}

export type ApiClient = Client<paths>;

/** Headers every request needs; exported for the few calls made without openapi-fetch. */
export function applyPlatformHeaders(headers: Headers, method: string, options: ApiClientOptions): void {
  const orgId = options.orgId();
  if (orgId && !headers.has(ORG_HEADER)) headers.set(ORG_HEADER, orgId);
  if (!SAFE_METHODS.has(method.toUpperCase()) && !headers.has(CSRF_HEADER)) {
    const token = readCookie(CSRF_COOKIE) ?? options.csrfToken();
    if (token) headers.set(CSRF_HEADER, token);
  }
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl ?? globalThis.location.origin,
    credentials: "same-origin",
    fetch: options.fetch ?? ((request) => globalThis.fetch(request)),
  });
  const platform: Middleware = {
    onRequest({ request }) {
      applyPlatformHeaders(request.headers, request.method, options);
      return request;
    },
    onResponse({ response }) {
      if (response.status === 401) options.onUnauthenticated?.();
      return undefined;
    },
  };
  client.use(platform);
  return client;
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

/**
 * The message to show next to the field the error names: the api prefixes validation messages
 * with the field path (`limits.memory_mb: must be …`), which is redundant there.
 */
export function fieldMessage(error: ApiError): string {
  const prefix = error.field ? `${error.field}: ` : "";
  return prefix && error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

/** Wraps a failure to reach the server (DNS, offline, CORS, …) as an ApiError with status 0. */
export function networkError(cause: unknown): ApiError {
  const error = new ApiError({
    status: 0,
    code: "network_error",
    message: "Could not reach the server. Check your connection and try again.",
  });
  (error as { cause?: unknown }).cause = cause;
  return error;
}

/**
 * Awaits an openapi-fetch call and returns its data, or throws an {@link ApiError}.
 * Aborted requests rethrow the AbortError unchanged, for callers to ignore.
 */
export async function unwrap<T>(
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await pending;
  } catch (error) {
    if (isAbort(error) || error instanceof ApiError) throw error;
    throw networkError(error);
  }
  const { response } = result;
  if (!response.ok) {
    throw toApiError(response.status, result.error, response.headers.get("x-request-id"));
  }
  return result.data as T;
}

/** Whether `error` is an aborted request (unmounted component, superseded search). */
export function isAbortError(error: unknown): boolean {
  return isAbort(error);
}

/** Any thrown value as an ApiError, for display. */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError({
    status: 0,
    code: "client_error",
    message: error instanceof Error ? error.message : "Something went wrong.",
  });
}
