/**
 * The tree's data: directory listings loaded on first expand (one level each), kept while
 * collapsed, and re-read when something changes in them.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { type ApiError, asApiError, isAbortError } from "../../../api/client";
import type { FileEntry, FilesApi } from "./filesApi";
import { isWithin } from "./paths";

export interface DirState {
  /** `loading` keeps showing the previous entries (a refresh) when there are some. */
  status: "loading" | "loaded" | "error";
  entries: FileEntry[];
  truncated: boolean;
  error?: ApiError;
}

export type DirMap = ReadonlyMap<string, DirState>;

/** Folders first, then by name as people sort (`file2` before `file10`). */
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
export function sortEntries(entries: readonly FileEntry[]): FileEntry[] {
  return [...entries].sort((a, b) => {
    const dirA = a.kind === "dir" ? 0 : 1;
    const dirB = b.kind === "dir" ? 0 : 1;
    return dirA - dirB || collator.compare(a.name, b.name);
  });
}

export function useFileTree(api: FilesApi, enabled: boolean) {
  const [dirs, setDirs] = useState<DirMap>(() => new Map());
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set());
  // Per directory, the request whose answer counts: a refresh supersedes an older read.
  const latest = useRef(new Map<string, AbortController>());

  /** Reads a directory; only the answer changes state (so an effect may call it). */
  const fetchDir = useCallback(
    (path: string) => {
      latest.current.get(path)?.abort();
      const controller = new AbortController();
      latest.current.set(path, controller);
      api.list(path, controller.signal).then(
        (listing) => {
          if (latest.current.get(path) !== controller) return;
          latest.current.delete(path);
          setDirs((prev) =>
            new Map(prev).set(path, {
              status: "loaded",
              entries: sortEntries(listing.entries),
              truncated: listing.truncated,
            }),
          );
        },
        (error: unknown) => {
          if (isAbortError(error) || latest.current.get(path) !== controller) return;
          latest.current.delete(path);
          setDirs((prev) => {
            const old = prev.get(path);
            return new Map(prev).set(path, {
              status: "error",
              entries: old?.entries ?? [],
              truncated: old?.truncated ?? false,
              error: asApiError(error),
            });
          });
        },
      );
    },
    [api],
  );

  /** Marks the directory as loading (its old entries stay visible) and reads it. */
  const load = useCallback(
    (path: string) => {
      setDirs((prev) => {
        const old = prev.get(path);
        return new Map(prev).set(path, {
          status: "loading",
          entries: old?.entries ?? [],
          truncated: old?.truncated ?? false,
        });
      });
      fetchDir(path);
    },
    [fetchDir],
  );

  // The root, when the tab opens (or the client changes). Until it answers there is no root
  // state, which the tab shows as "Loading files…".
  useEffect(() => {
    if (enabled) fetchDir("");
  }, [enabled, fetchDir]);

  useEffect(
    () => () => {
      for (const controller of latest.current.values()) controller.abort();
    },
    [],
  );

  const expand = useCallback(
    (path: string) => {
      setExpanded((prev) => (prev.has(path) ? prev : new Set(prev).add(path)));
      if (!dirs.has(path)) load(path);
    },
    [dirs, load],
  );

  const collapse = useCallback((path: string) => {
    setExpanded((prev) => {
      if (!prev.has(path)) return prev;
      const next = new Set(prev);
      next.delete(path);
      return next;
    });
  }, []);

  /** Re-reads the directories among `paths` that were listed (others load when opened). */
  const refresh = useCallback(
    (paths: Iterable<string>) => {
      for (const path of new Set(paths)) {
        if (path === "" || dirs.has(path)) load(path);
      }
    },
    [dirs, load],
  );

  /** Forgets directories that no longer exist (deleted or renamed away), with everything below. */
  const forget = useCallback((paths: Iterable<string>) => {
    const gone = [...paths];
    if (gone.length === 0) return;
    const drop = (path: string) => path !== "" && gone.some((g) => isWithin(path, g));
    setDirs((prev) => {
      if (![...prev.keys()].some(drop)) return prev;
      return new Map([...prev].filter(([path]) => !drop(path)));
    });
    setExpanded((prev) => {
      if (![...prev].some(drop)) return prev;
      return new Set([...prev].filter((path) => !drop(path)));
    });
  }, []);

  return { dirs, expanded, expand, collapse, refresh, forget, load };
}
