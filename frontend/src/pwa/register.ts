/**
 * Registers the service worker (dist/sw.js, served by the api at /sw.js) in production builds.
 * The dev server has no worker: it would cache the modules being edited.
 */
export function registerServiceWorker(): void {
  if (!import.meta.env.PROD || !("serviceWorker" in navigator)) return;
  // After load, so installing (precaching the shell) does not compete with the first render.
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((error: unknown) => {
      console.warn("service worker registration failed", error);
    });
  });
}
