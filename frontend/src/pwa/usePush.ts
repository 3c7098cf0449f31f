import { useCallback, useEffect, useState } from "react";
import { asApiError } from "../api/client";
import { useApi } from "../app/auth";
import { browserPushEnv, disablePush, enablePush, fetchPushConfig, isSubscribed, type PushEnv, vapidKeyOf } from "./push";

export type PushToggle =
  | { available: false }
  | { available: true; on: boolean; busy: boolean; error: string | null; toggle: () => void };

type Loaded = { kind: "hidden" } | { kind: "ready"; on: boolean; key: string; env: PushEnv };

/**
 * The user menu's "Notifications" switch. Hidden unless the browser supports push, a service
 * worker controls the app, and the api has push enabled with a VAPID key (404 counts as off).
 */
export function usePushNotifications(envFactory: () => PushEnv | null = browserPushEnv): PushToggle {
  const client = useApi();
  const [loaded, setLoaded] = useState<Loaded>({ kind: "hidden" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const env = envFactory();
    if (!env) return;
    const run = { live: true };
    void (async () => {
      const key = vapidKeyOf(await fetchPushConfig(client));
      if (!key) return;
      // No worker (the dev server, or before the first registration finished): nothing to push to.
      if (!(await env.registration())) return;
      const on = await isSubscribed(env);
      if (run.live) setLoaded({ kind: "ready", on, key, env });
    })().catch((e: unknown) => {
      // Optional feature: on failure the switch stays hidden rather than showing an error.
      console.warn("push notifications unavailable", e);
    });
    return () => {
      run.live = false;
    };
  }, [client, envFactory]);

  const toggle = useCallback(() => {
    if (loaded.kind !== "ready" || busy) return;
    setBusy(true);
    setError(null);
    const next = !loaded.on;
    (next ? enablePush(client, loaded.env, loaded.key) : disablePush(client, loaded.env)).then(
      () => {
        setLoaded({ ...loaded, on: next });
      },
      (e: unknown) => {
        setError(asApiError(e).message);
      },
    ).finally(() => {
      setBusy(false);
    });
  }, [client, loaded, busy]);

  if (loaded.kind !== "ready") return { available: false };
  return { available: true, on: loaded.on, busy, error, toggle };
}
