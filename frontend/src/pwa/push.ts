/**
 * Web Push for approval notifications. The api publishes its VAPID key at
 * `GET /api/v1/push/config` and stores subscriptions at `/api/v1/push/subscriptions` (POST the
 * subscription, DELETE by endpoint). These endpoints are newer than the generated client, so their
 * shapes are declared here; an api without them (404) or with push disabled hides the option.
 */
import type { Client } from "openapi-fetch";
import { ApiError, type ApiClient, unwrap } from "../api/client";

/** `GET /api/v1/push/config` (rc_domain::push::PushConfig, docs/push.md). */
export interface PushConfig {
  enabled: boolean;
  /** The VAPID public key (base64url), `applicationServerKey`; null when disabled. */
  public_key?: string | null;
  /** The name first announced for the key; read too, so either api version works. */
  vapid_public_key?: string | null;
}

/** The key to subscribe with, or null when push is off. */
export function vapidKeyOf(config: PushConfig): string | null {
  if (!config.enabled) return null;
  return config.public_key ?? config.vapid_public_key ?? null;
}

/** The fields of PushSubscription.toJSON() the api stores. */
export interface PushSubscriptionBody {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

interface JsonResponse<T> {
  headers: Record<string, unknown>;
  content: { "application/json": T };
}
interface NoParams {
  query?: never;
  header?: never;
  path?: never;
  cookie?: never;
}
interface PushPaths {
  "/api/v1/push/config": {
    parameters: NoParams;
    get: { parameters: NoParams; requestBody?: never; responses: { 200: JsonResponse<PushConfig> } };
  };
  "/api/v1/push/subscriptions": {
    parameters: NoParams;
    post: {
      parameters: NoParams;
      requestBody: { content: { "application/json": PushSubscriptionBody } };
      responses: { 201: JsonResponse<unknown>; 204: { headers: Record<string, unknown>; content?: never } };
    };
    delete: {
      parameters: NoParams;
      requestBody: { content: { "application/json": { endpoint: string } } };
      responses: { 204: { headers: Record<string, unknown>; content?: never } };
    };
  };
}

const typed = (client: ApiClient) => client as unknown as Client<PushPaths>;

/** The api's push settings; an api without the endpoint answers 404, which means "off". */
export async function fetchPushConfig(client: ApiClient): Promise<PushConfig> {
  try {
    return await unwrap(typed(client).GET("/api/v1/push/config"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return { enabled: false };
    throw error;
  }
}

/** What the browser must offer for push: a service worker, PushManager and notifications. */
export interface PushEnv {
  /** The active worker's registration; undefined without one (dev server, first visit). */
  registration: () => Promise<ServiceWorkerRegistration | undefined>;
  permission: () => NotificationPermission;
  requestPermission: () => Promise<NotificationPermission>;
}

/** The browser's push environment, or null when it lacks any part of it. */
export function browserPushEnv(win: Window & typeof globalThis = window): PushEnv | null {
  if (!("serviceWorker" in win.navigator) || !("PushManager" in win) || !("Notification" in win)) return null;
  return {
    registration: () => win.navigator.serviceWorker.getRegistration("/"),
    permission: () => win.Notification.permission,
    requestPermission: () => win.Notification.requestPermission(),
  };
}

/** A VAPID key in base64url (as the api sends it) as the bytes PushManager wants. */
export function vapidKeyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function subscriptionBody(subscription: PushSubscription): PushSubscriptionBody {
  const json = subscription.toJSON();
  const p256dh = json.keys?.p256dh;
  const auth = json.keys?.auth;
  if (!json.endpoint || !p256dh || !auth) throw new Error("The browser returned an incomplete push subscription.");
  return { endpoint: json.endpoint, keys: { p256dh, auth } };
}

export class PushPermissionError extends Error {
  override readonly name = "PushPermissionError";
}

/** Asks for permission, subscribes this browser and registers the subscription with the api. */
export async function enablePush(client: ApiClient, env: PushEnv, vapidKey: string): Promise<void> {
  const permission = await env.requestPermission();
  if (permission !== "granted") {
    throw new PushPermissionError(
      permission === "denied"
        ? "Notifications are blocked for this site. Allow them in the browser's site settings."
        : "Notifications were not allowed.",
    );
  }
  const registration = await env.registration();
  if (!registration) throw new Error("The app's service worker is not running yet. Reload the page and try again.");
  const subscription =
    (await registration.pushManager.getSubscription()) ??
    (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: vapidKeyBytes(vapidKey) }));
  await unwrap(typed(client).POST("/api/v1/push/subscriptions", { body: subscriptionBody(subscription) }));
}

/** Removes the subscription from the api, then from the browser. */
export async function disablePush(client: ApiClient, env: PushEnv): Promise<void> {
  const registration = await env.registration();
  const subscription = await registration?.pushManager.getSubscription();
  if (!subscription) return;
  try {
    await unwrap(typed(client).DELETE("/api/v1/push/subscriptions", { body: { endpoint: subscription.endpoint } }));
  } catch (error) {
    // Already gone on the server is fine; anything else keeps the browser subscribed so the
    // two stay in step and the user can retry.
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  await subscription.unsubscribe();
}

/** Whether this browser currently holds a push subscription. */
export async function isSubscribed(env: PushEnv): Promise<boolean> {
  const registration = await env.registration();
  return (await registration?.pushManager.getSubscription()) != null;
}
