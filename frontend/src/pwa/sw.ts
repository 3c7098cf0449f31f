/**
 * The service worker. Not part of the app bundle: the `rc-pwa` plugin in vite.config.ts strips
 * the types from this file, replaces `__RC_SW_CONFIG__` with the build's precache list, cache
 * version and icon, and emits it as `dist/sw.js` (served by the api at `/sw.js`, scope `/`).
 * It must therefore stay one self-contained file: type-only imports, no runtime imports.
 *
 * - install: precache the app shell (`/` and the entry's static assets);
 * - activate: delete caches of earlier builds, take control of open pages;
 * - navigations: network first, the cached shell when the network fails (offline);
 * - `/assets/*` (content-hashed, immutable): cache first, lazy chunks cached on first use;
 * - `/api`, `/graphql`, `/approve`, the worker and the manifest: never touched (the browser
 *   handles them as if there were no worker; WebSockets never reach a worker anyway);
 * - push: show the notification the payload describes; a click focuses or opens its URL.
 */
import type { SwEnv } from "./swTypes";

declare const __RC_SW_CONFIG__: { version: string; precache: readonly string[]; icon: string };
declare const self: SwEnv;

const CACHE_PREFIX = "rc-shell-";
const CACHE = `${CACHE_PREFIX}${__RC_SW_CONFIG__.version}`;
const SHELL = "/";

/** Paths the worker must leave to the network: API calls, GraphQL, signed approval pages. */
const BYPASS = [/^\/api(\/|$)/, /^\/graphql(\/|$|\.)/, /^\/graphiql\.html$/, /^\/approve(\/|$)/, /^\/sw\.js$/, /^\/manifest\.webmanifest$/];

function bypassed(pathname: string): boolean {
  return BYPASS.some((re) => re.test(pathname));
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await self.caches.open(CACHE);
      // `cache: "reload"` skips the HTTP cache, so a stale index.html is never precached.
      await cache.addAll(
        __RC_SW_CONFIG__.precache.map((url) => new Request(new URL(url, self.location.origin), { cache: "reload" })),
      );
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await self.caches.keys();
      await Promise.all(names.filter((n) => n.startsWith(CACHE_PREFIX) && n !== CACHE).map((n) => self.caches.delete(n)));
      await self.clients.claim();
    })(),
  );
});

async function navigate(request: Request): Promise<Response> {
  try {
    const response = await fetch(request);
    // A gateway error means the api is down or restarting: the cached shell is more useful.
    if (response.status < 502 || response.status > 504) return response;
    const cached = await self.caches.match(SHELL, { cacheName: CACHE });
    return cached ?? response;
  } catch (error) {
    const cached = await self.caches.match(SHELL, { cacheName: CACHE });
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request: Request): Promise<Response> {
  const cache = await self.caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || bypassed(url.pathname)) return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(request));
  } else if (url.pathname.startsWith("/assets/")) {
    event.respondWith(cacheFirst(request));
  }
});

/**
 * The worker's payload (docs/push.md): `url` opens the session; an approval request also has
 * `approve_url`, a signed single-use page deciding without a login, until `approve_expires_at`.
 */
interface PushPayload {
  title?: unknown;
  body?: unknown;
  url?: unknown;
  tag?: unknown;
  approve_url?: unknown;
  approve_expires_at?: unknown;
}

interface NotificationData {
  url: string;
  approveUrl: string | null;
  approveExpiresAt: number | null;
}

/** Same-origin or http(s) URLs only; anything else opens the app. */
function safeUrl(raw: unknown): string {
  if (typeof raw !== "string") return SHELL;
  try {
    const url = new URL(raw, self.location.origin);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : SHELL;
  } catch {
    return SHELL;
  }
}

function notificationData(payload: PushPayload): NotificationData {
  const expires = typeof payload.approve_expires_at === "string" ? Date.parse(payload.approve_expires_at) : NaN;
  return {
    url: safeUrl(payload.url),
    approveUrl: typeof payload.approve_url === "string" ? safeUrl(payload.approve_url) : null,
    approveExpiresAt: Number.isNaN(expires) ? null : expires,
  };
}

/**
 * Where a tap goes: the one-tap approval page while its link is valid (the phone case: decide
 * without opening the app), otherwise the session.
 */
function clickTarget(data: Partial<NotificationData> | null): string {
  const approve = data?.approveUrl;
  const expires = data?.approveExpiresAt ?? null;
  if (typeof approve === "string" && (expires === null || expires > Date.now())) return approve;
  return safeUrl(data?.url);
}

self.addEventListener("push", (event) => {
  let payload: PushPayload;
  try {
    const raw = event.data?.json();
    payload = typeof raw === "object" && raw !== null ? raw : {};
  } catch {
    // A non-JSON payload is shown as its text.
    payload = { body: event.data?.text() };
  }
  const title = typeof payload.title === "string" && payload.title ? payload.title : "Remote Claude";
  event.waitUntil(
    self.registration.showNotification(title, {
      body: typeof payload.body === "string" ? payload.body : "",
      icon: __RC_SW_CONFIG__.icon,
      badge: __RC_SW_CONFIG__.icon,
      // One notification per approval or turn (the server's tag), replaced not stacked.
      tag: typeof payload.tag === "string" ? payload.tag : undefined,
      data: notificationData(payload),
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = clickTarget(event.notification.data as Partial<NotificationData> | null);
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const same = windows.find((w) => w.url === url);
      if (same) {
        await same.focus();
        return;
      }
      await self.clients.openWindow(url);
    })(),
  );
});
