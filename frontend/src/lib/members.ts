import { useCallback, useMemo } from "react";
import { unwrap } from "../api/client";
import type { Member } from "../api/types";
import { useApi } from "../app/auth";
import { useAsync } from "./hooks";

/** The organisation's members (everyone may list them), and a user id → name lookup. */
export function useMembers() {
  const api = useApi();
  const members = useAsync(
    useCallback((signal: AbortSignal) => unwrap(api.GET("/api/v1/members", { signal })), [api]),
  );
  const names = useMemo(() => {
    const map = new Map<string, string>();
    for (const m of members.data ?? []) map.set(m.user_id, m.display_name || m.email);
    return map;
  }, [members.data]);
  return { ...members, names };
}

export type { Member };
