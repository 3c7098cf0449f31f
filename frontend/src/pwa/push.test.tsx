import { renderHook, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";
import { describe, expect, it, vi } from "vitest";
import { AuthProvider } from "../app/auth";
import { apiError, json, makeMe, renderApp, stubFetch } from "../test/helpers";
import { type PushEnv, vapidKeyBytes, vapidKeyOf } from "./push";
import { usePushNotifications } from "./usePush";

const KEY = "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U";

function wrapper({ children }: { children: ReactNode }) {
  return (
    <MemoryRouter>
      <AuthProvider initialMe={makeMe("member")}>{children}</AuthProvider>
    </MemoryRouter>
  );
}

function stubPushApi(config: unknown, configStatus = 200) {
  return stubFetch((request, url) => {
    if (url.pathname === "/api/v1/push/config") return configStatus === 200 ? json(config) : apiError(configStatus, "not_found", "no");
    if (url.pathname === "/api/v1/push/subscriptions") return new Response(null, { status: request.method === "POST" ? 201 : 204 });
    if (url.pathname === "/api/v1/sessions") return json({ items: [] });
    return undefined;
  });
}

function fakeEnv(existing: PushSubscription | null = null) {
  const unsubscribe = vi.fn(() => Promise.resolve(true));
  const subscription = {
    endpoint: "https://push.example/abc",
    toJSON: () => ({ endpoint: "https://push.example/abc", expirationTime: null, keys: { p256dh: "P256", auth: "AUTH" } }),
    unsubscribe,
  } as unknown as PushSubscription;
  let current = existing;
  const pushManager = {
    getSubscription: vi.fn(() => Promise.resolve(current)),
    subscribe: vi.fn(() => {
      current = subscription;
      return Promise.resolve(subscription);
    }),
  };
  const requestPermission = vi.fn(() => Promise.resolve<NotificationPermission>("granted"));
  const env: PushEnv = {
    registration: () => Promise.resolve({ pushManager } as unknown as ServiceWorkerRegistration),
    permission: () => "default",
    requestPermission,
  };
  return { env, pushManager, subscription, requestPermission, unsubscribe };
}

const configCalls = (requests: Request[]) =>
  requests.filter((r) => new URL(r.url).pathname === "/api/v1/push/config").length;

describe("push notifications switch", () => {
  it("stays hidden when the api has push disabled", async () => {
    const requests = stubPushApi({ enabled: false });
    const { env } = fakeEnv();
    const factory = () => env;
    const { result } = renderHook(() => usePushNotifications(factory), { wrapper });
    await waitFor(() => {
      expect(configCalls(requests)).toBe(1);
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(result.current.available).toBe(false);
  });

  it("stays hidden when the api has no push endpoints (404)", async () => {
    const requests = stubPushApi(null, 404);
    const { env } = fakeEnv();
    const factory = () => env;
    const { result } = renderHook(() => usePushNotifications(factory), { wrapper });
    await waitFor(() => {
      expect(configCalls(requests)).toBe(1);
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(result.current.available).toBe(false);
  });

  it("stays hidden, without asking the api, when the browser lacks push", async () => {
    const requests = stubPushApi({ enabled: true, public_key: KEY });
    const factory = () => null;
    const { result } = renderHook(() => usePushNotifications(factory), { wrapper });
    await new Promise((r) => setTimeout(r, 20));
    expect(result.current.available).toBe(false);
    expect(configCalls(requests)).toBe(0);
  });

  it("subscribes with the api's key and registers the subscription", async () => {
    const requests = stubPushApi({ enabled: true, public_key: KEY });
    const { env, pushManager, requestPermission } = fakeEnv();
    const factory = () => env;
    const { result } = renderHook(() => usePushNotifications(factory), { wrapper });
    await waitFor(() => {
      expect(result.current).toMatchObject({ available: true, on: false });
    });
    if (!result.current.available) throw new Error("unreachable");
    result.current.toggle();
    await waitFor(() => {
      expect(result.current).toMatchObject({ available: true, on: true, busy: false });
    });
    expect(requestPermission).toHaveBeenCalled();
    expect(pushManager.subscribe).toHaveBeenCalledWith({ userVisibleOnly: true, applicationServerKey: vapidKeyBytes(KEY) });
    const post = requests.find((r) => r.method === "POST");
    expect(new URL(post?.url ?? "").pathname).toBe("/api/v1/push/subscriptions");
    expect(post?.headers.get("X-CSRF-Token")).toBe("csrf-from-me");
    expect(await post?.json()).toEqual({ endpoint: "https://push.example/abc", keys: { p256dh: "P256", auth: "AUTH" } });
  });

  it("unsubscribes on the api and in the browser", async () => {
    const { subscription, unsubscribe } = fakeEnv();
    const { env } = fakeEnv(subscription);
    const requests = stubPushApi({ enabled: true, public_key: KEY });
    const factory = () => env;
    const { result } = renderHook(() => usePushNotifications(factory), { wrapper });
    await waitFor(() => {
      expect(result.current).toMatchObject({ available: true, on: true });
    });
    if (!result.current.available) throw new Error("unreachable");
    result.current.toggle();
    await waitFor(() => {
      expect(result.current).toMatchObject({ on: false, busy: false });
    });
    const del = requests.find((r) => r.method === "DELETE");
    expect(await del?.json()).toEqual({ endpoint: "https://push.example/abc" });
    expect(unsubscribe).toHaveBeenCalled();
  });

  it("reports a refused permission and stays off", async () => {
    stubPushApi({ enabled: true, public_key: KEY });
    const { env, pushManager } = fakeEnv();
    env.requestPermission = () => Promise.resolve("denied");
    const factory = () => env;
    const { result } = renderHook(() => usePushNotifications(factory), { wrapper });
    await waitFor(() => {
      expect(result.current.available).toBe(true);
    });
    if (!result.current.available) throw new Error("unreachable");
    result.current.toggle();
    await waitFor(() => {
      expect(result.current).toMatchObject({ on: false, error: expect.stringContaining("blocked") as unknown });
    });
    expect(pushManager.subscribe).not.toHaveBeenCalled();
  });

  it("is not in the user menu of a browser without PushManager (jsdom)", async () => {
    stubPushApi({ enabled: true, public_key: KEY });
    renderApp("/sessions", makeMe("member"));
    await userEvent.click(await screen.findByRole("button", { name: /^Account/ }));
    expect(screen.getByRole("button", { name: "Sign out" })).toBeVisible();
    expect(screen.queryByRole("switch", { name: /Notifications/ })).not.toBeInTheDocument();
  });
});

describe("vapidKeyOf", () => {
  it("reads the key of an enabled config only", () => {
    expect(vapidKeyOf({ enabled: true, public_key: KEY })).toBe(KEY);
    expect(vapidKeyOf({ enabled: true, vapid_public_key: KEY })).toBe(KEY);
    expect(vapidKeyOf({ enabled: false, public_key: KEY })).toBeNull();
    expect(vapidKeyOf({ enabled: true, public_key: null })).toBeNull();
  });
});

describe("vapidKeyBytes", () => {
  it("decodes base64url without padding", () => {
    expect([...vapidKeyBytes("AQID_-8")]).toEqual([1, 2, 3, 255, 239]);
    expect(vapidKeyBytes(KEY)).toHaveLength(65);
  });
});
