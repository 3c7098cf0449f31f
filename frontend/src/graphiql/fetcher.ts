/**
 * The GraphiQL page's fetcher: `@graphiql/toolkit` against this origin's `/graphql` (HTTP) and
 * `/graphql/ws` (subscriptions, graphql-ws), with the platform's headers on every request.
 */
import { createGraphiQLFetcher, type Fetcher } from "@graphiql/toolkit";
import { CSRF_COOKIE, CSRF_HEADER, ORG_HEADER, readCookie } from "../api/client";
import { storedOrgId } from "../lib/selectedOrg";

export const GRAPHQL_PATH = "/graphql";
export const GRAPHQL_WS_PATH = "/graphql/ws";

/**
 * `X-CSRF-Token` from the `rc_csrf` cookie (cookie-authenticated POSTs are refused without it)
 * and `X-Org-Id` from the organisation selected in the app. Read at send time, so signing in
 * again or picking another organisation in the app applies to the next request.
 */
export function platformHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const csrf = readCookie(CSRF_COOKIE);
  if (csrf) headers[CSRF_HEADER] = csrf;
  const orgId = storedOrgId();
  if (orgId) headers[ORG_HEADER] = orgId;
  return headers;
}

/**
 * Wraps `fetch` to add {@link platformHeaders}. Headers the request already has (typed in
 * GraphiQL's headers editor) win. `fetchImpl` defaults to the global fetch, looked up per call.
 */
export function withPlatformHeaders(
  fetchImpl: typeof fetch = (input, init) => globalThis.fetch(input, init),
): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(platformHeaders())) {
      if (!headers.has(name)) headers.set(name, value);
    }
    return fetchImpl(input, { ...init, headers, credentials: "same-origin" });
  };
}

/** `ws://` or `wss://` URL of the subscription endpoint on the page's host. */
export function subscriptionUrl(location: Pick<Location, "protocol" | "host"> = globalThis.location): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${GRAPHQL_WS_PATH}`;
}

/**
 * Queries and mutations go over HTTP POST, subscriptions over a WebSocket. Browsers cannot set
 * headers on a WebSocket: the socket is authenticated by the session cookie (and its Origin)
 * at upgrade time, and uses the caller's default organisation.
 */
export function createPlatformFetcher(location: Pick<Location, "protocol" | "host"> = globalThis.location): Fetcher {
  return createGraphiQLFetcher({
    url: GRAPHQL_PATH,
    subscriptionUrl: subscriptionUrl(location),
    fetch: withPlatformHeaders(),
  });
}
