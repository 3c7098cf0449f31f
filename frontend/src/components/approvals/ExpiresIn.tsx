import { useEffect, useState } from "react";

/** "in 4 min 10 s" style remaining time; "expired" at or after zero. */
export function formatRemaining(seconds: number): string {
  if (seconds <= 0) return "expired";
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${String(h)} h ${String(m)} min`;
  if (m > 0) return `${String(m)} min ${String(rest)} s`;
  return `${String(rest)} s`;
}

/**
 * A live countdown to `expiresAt`. Ticks every second while visible; it is not a live region
 * (a per-second announcement would drown everything else).
 */
export function ExpiresIn({ expiresAt }: { expiresAt: string }) {
  const target = Date.parse(expiresAt);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => {
      setNow(Date.now());
    }, 1000);
    return () => {
      window.clearInterval(timer);
    };
  }, []);
  if (Number.isNaN(target)) return null;
  const left = (target - now) / 1000;
  return (
    <span className={left <= 60 ? "approval-expiry approval-expiry-soon" : "approval-expiry"}>
      {left > 0 ? "Expires in " : ""}
      <time dateTime={expiresAt} title={expiresAt}>
        {formatRemaining(left)}
      </time>
    </span>
  );
}
