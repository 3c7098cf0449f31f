/**
 * The service worker's event handlers, run against a fake worker scope: what it leaves to the
 * network, the offline fallback, cache-first assets, install/activate, and push notifications.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";

type Listener = (event: unknown) => void;

class FakeCache {
  entries = new Map<string, Response>();
  addAll(requests: Request[]) {
    for (const r of requests) this.entries.set(new URL(r.url, ORIGIN).pathname, new Response(`cached ${r.url}`));
    return Promise.resolve();
  }
  match(request: Request | string) {
    const key = typeof request === "string" ? request : new URL(request.url).pathname;
    return Promise.resolve(this.entries.get(key)?.clone());
  }
  put(request: Request, response: Response) {
    this.entries.set(new URL(request.url).pathname, response);
    return Promise.resolve();
  }
}

const ORIGIN = "https://rc.example";
const CONFIG = { version: "v1", precache: ["/", "/assets/index-A.js"], icon: "/assets/icon-192-X.png" };

async function loadWorker() {
  const listeners = new Map<string, Listener>();
  const stores = new Map<string, FakeCache>([["rc-shell-old", new FakeCache()], ["other-app", new FakeCache()]]);
  const open = (name: string) => {
    let cache = stores.get(name);
    if (!cache) {
      cache = new FakeCache();
      stores.set(name, cache);
    }
    return cache;
  };
  const windows: { url: string; focus: ReturnType<typeof vi.fn> }[] = [];
  const scope = {
    location: { origin: ORIGIN },
    caches: {
      open: (name: string) => Promise.resolve(open(name)),
      keys: () => Promise.resolve([...stores.keys()]),
      delete: (name: string) => Promise.resolve(stores.delete(name)),
      match: (key: string, options: { cacheName: string }) => open(options.cacheName).match(key),
    },
    clients: {
      claim: vi.fn(() => Promise.resolve()),
      matchAll: () => Promise.resolve(windows),
      openWindow: vi.fn(() => Promise.resolve(null)),
    },
    registration: { showNotification: vi.fn(() => Promise.resolve()) },
    skipWaiting: vi.fn(() => Promise.resolve()),
    addEventListener: (type: string, listener: Listener) => listeners.set(type, listener),
  };
  vi.stubGlobal("self", scope);
  vi.stubGlobal("__RC_SW_CONFIG__", CONFIG);
  vi.resetModules();
  await import("./sw");
  const dispatch = async (type: string, init: Record<string, unknown>) => {
    const waits: Promise<unknown>[] = [];
    let responded: Promise<Response> | Response | undefined;
    const listener = listeners.get(type);
    if (!listener) throw new Error(`no ${type} listener`);
    listener({
      ...init,
      waitUntil: (p: Promise<unknown>) => waits.push(p),
      respondWith: (r: Promise<Response> | Response) => (responded = r),
    });
    await Promise.all(waits);
    return responded === undefined ? undefined : await responded;
  };
  return { dispatch, stores, scope, windows };
}

const get = (path: string, mode: RequestMode = "cors") => {
  const request = new Request(`${ORIGIN}${path}`);
  // jsdom's Request cannot be constructed with mode "navigate".
  Object.defineProperty(request, "mode", { value: mode });
  return request;
};

describe("service worker", () => {
  beforeEach(() => {
    vi.stubGlobal("fetch", vi.fn(() => Promise.reject(new TypeError("offline"))));
  });

  it("precaches the shell on install and drops its older caches on activate", async () => {
    const { dispatch, stores, scope } = await loadWorker();
    await dispatch("install", {});
    expect([...(stores.get("rc-shell-v1")?.entries.keys() ?? [])]).toEqual(["/", "/assets/index-A.js"]);
    expect(scope.skipWaiting).toHaveBeenCalled();
    await dispatch("activate", {});
    expect([...stores.keys()].sort()).toEqual(["other-app", "rc-shell-v1"]);
    expect(scope.clients.claim).toHaveBeenCalled();
  });

  it.each(["/api/v1/me", "/graphql", "/graphql/ws", "/approve/abc.def", "/sw.js", "/manifest.webmanifest"])(
    "leaves %s to the network",
    async (path) => {
      const { dispatch } = await loadWorker();
      expect(await dispatch("fetch", { request: get(path, "navigate") })).toBeUndefined();
      expect(await dispatch("fetch", { request: get(path) })).toBeUndefined();
    },
  );

  it("leaves mutations and other origins alone", async () => {
    const { dispatch } = await loadWorker();
    const post = new Request(`${ORIGIN}/assets/x.js`, { method: "POST" });
    expect(await dispatch("fetch", { request: post })).toBeUndefined();
    expect(await dispatch("fetch", { request: new Request("https://cdn.example/assets/x.js") })).toBeUndefined();
  });

  it("serves navigations from the network, and the cached shell when offline", async () => {
    const { dispatch } = await loadWorker();
    await dispatch("install", {});
    const offline = await dispatch("fetch", { request: get("/sessions/abc", "navigate") });
    expect(await offline?.text()).toBe(`cached ${ORIGIN}/`);

    vi.stubGlobal("fetch", vi.fn(() => Promise.resolve(new Response("fresh"))));
    const online = await dispatch("fetch", { request: get("/sessions/abc", "navigate") });
    expect(await online?.text()).toBe("fresh");

    vi.stubGlobal("fetch", vi.fn(() => Promise.resolve(new Response("bad gateway", { status: 502 }))));
    const down = await dispatch("fetch", { request: get("/usage", "navigate") });
    expect(await down?.text()).toBe(`cached ${ORIGIN}/`);
  });

  it("serves hashed assets from the cache, caching lazy chunks on first use", async () => {
    const { dispatch, stores } = await loadWorker();
    await dispatch("install", {});
    expect(await (await dispatch("fetch", { request: get("/assets/index-A.js") }))?.text()).toBe(
      `cached ${ORIGIN}/assets/index-A.js`,
    );
    vi.stubGlobal("fetch", vi.fn(() => Promise.resolve(new Response("lazy"))));
    expect(await (await dispatch("fetch", { request: get("/assets/terminal-B.js") }))?.text()).toBe("lazy");
    expect(stores.get("rc-shell-v1")?.entries.has("/assets/terminal-B.js")).toBe(true);
  });

  it("shows a push payload as a notification carrying its links", async () => {
    const { dispatch, scope } = await loadWorker();
    const payload = {
      type: "approval_requested",
      title: "Claude asks to use Bash",
      body: "Fix: rm -rf build",
      tag: "approval-1",
      url: `${ORIGIN}/sessions/s1`,
      approve_url: `${ORIGIN}/approve/tok`,
      approve_expires_at: "2030-01-01T00:00:00Z",
    };
    await dispatch("push", { data: { json: () => payload, text: () => JSON.stringify(payload) } });
    expect(scope.registration.showNotification).toHaveBeenCalledWith("Claude asks to use Bash", {
      body: "Fix: rm -rf build",
      icon: CONFIG.icon,
      badge: CONFIG.icon,
      tag: "approval-1",
      data: { url: `${ORIGIN}/sessions/s1`, approveUrl: `${ORIGIN}/approve/tok`, approveExpiresAt: Date.parse("2030-01-01T00:00:00Z") },
    });
  });

  it("opens the one-tap approval page while its link is valid, else the session", async () => {
    const { dispatch, scope } = await loadWorker();
    const close = vi.fn();
    const data = { url: `${ORIGIN}/sessions/s1`, approveUrl: `${ORIGIN}/approve/tok`, approveExpiresAt: Date.now() + 60_000 };
    await dispatch("notificationclick", { notification: { close, data } });
    expect(scope.clients.openWindow).toHaveBeenLastCalledWith(`${ORIGIN}/approve/tok`);
    await dispatch("notificationclick", { notification: { close, data: { ...data, approveExpiresAt: Date.now() - 1 } } });
    expect(scope.clients.openWindow).toHaveBeenLastCalledWith(`${ORIGIN}/sessions/s1`);
    await dispatch("notificationclick", { notification: { close, data: { ...data, approveUrl: null } } });
    expect(scope.clients.openWindow).toHaveBeenLastCalledWith(`${ORIGIN}/sessions/s1`);
  });

  it("never opens a script URL from a payload", async () => {
    const { dispatch, scope } = await loadWorker();
    const payload = { title: "x", url: "javascript:alert(1)" };
    await dispatch("push", { data: { json: () => payload, text: () => "" } });
    expect(scope.registration.showNotification).toHaveBeenCalledWith(
      "x",
      expect.objectContaining({ data: { url: "/", approveUrl: null, approveExpiresAt: null } }),
    );
  });

  it("focuses a window already showing the link, or opens one", async () => {
    const { dispatch, scope, windows } = await loadWorker();
    const close = vi.fn();
    const url = `${ORIGIN}/approvals`;
    await dispatch("notificationclick", { notification: { close, data: { url } } });
    expect(close).toHaveBeenCalled();
    expect(scope.clients.openWindow).toHaveBeenCalledWith(url);

    const focus = vi.fn(() => Promise.resolve());
    windows.push({ url, focus });
    await dispatch("notificationclick", { notification: { close, data: { url } } });
    expect(focus).toHaveBeenCalled();
    expect(scope.clients.openWindow).toHaveBeenCalledTimes(1);
  });
});
