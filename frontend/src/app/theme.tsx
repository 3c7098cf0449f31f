/**
 * Light/dark theme. Without a stored choice the page follows `prefers-color-scheme` (the
 * stylesheet does this by itself); the toggle stores an explicit choice on <html data-theme>.
 */
import { useCallback, useEffect, useState, useSyncExternalStore } from "react";

export type Theme = "light" | "dark";
const STORAGE_KEY = "rc.theme";
const QUERY = "(prefers-color-scheme: dark)";

function readStored(): Theme | null {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return value === "light" || value === "dark" ? value : null;
  } catch {
    return null;
  }
}

/** The header colour per theme (`--surface`), for the browser UI around an installed app. */
const THEME_COLORS: Record<Theme, string> = { light: "#ffffff", dark: "#1f1e1b" };

/**
 * index.html has one `theme-color` meta per `prefers-color-scheme`; an explicit choice makes both
 * say the chosen theme's colour, and following the system restores each to its own.
 */
function applyThemeColor(stored: Theme | null): void {
  for (const meta of document.querySelectorAll<HTMLMetaElement>('meta[name="theme-color"]')) {
    const own: Theme = meta.media.includes("dark") ? "dark" : "light";
    meta.content = THEME_COLORS[stored ?? own];
  }
}

/** Applies the stored theme before the first render, to avoid a flash of the wrong one. */
export function applyStoredTheme(): void {
  const stored = readStored();
  if (stored) document.documentElement.dataset.theme = stored;
  applyThemeColor(stored);
}

function subscribeSystem(onChange: () => void): () => void {
  if (typeof window.matchMedia !== "function") return () => undefined;
  const query = window.matchMedia(QUERY);
  query.addEventListener("change", onChange);
  return () => {
    query.removeEventListener("change", onChange);
  };
}

function systemTheme(): Theme {
  return typeof window.matchMedia === "function" && window.matchMedia(QUERY).matches ? "dark" : "light";
}

export function useTheme(): { theme: Theme; explicit: boolean; toggle: () => void; followSystem: () => void } {
  const system = useSyncExternalStore(subscribeSystem, systemTheme, () => "light" as const);
  const [stored, setStored] = useState<Theme | null>(readStored);

  useEffect(() => {
    const root = document.documentElement;
    if (stored) root.dataset.theme = stored;
    else delete root.dataset.theme;
    applyThemeColor(stored);
    try {
      if (stored) localStorage.setItem(STORAGE_KEY, stored);
      else localStorage.removeItem(STORAGE_KEY);
    } catch {
      // Storage unavailable: the choice lasts for this page only.
    }
  }, [stored]);

  const theme = stored ?? system;
  const toggle = useCallback(() => {
    setStored(theme === "dark" ? "light" : "dark");
  }, [theme]);
  const followSystem = useCallback(() => {
    setStored(null);
  }, []);
  return { theme, explicit: stored !== null, toggle, followSystem };
}
