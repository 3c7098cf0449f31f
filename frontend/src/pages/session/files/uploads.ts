/**
 * Upload queue: one request per file (so each has its own progress bar and its own error,
 * e.g. the api's size limit), one at a time (a sandbox's files channel is one stream anyway).
 */
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { type ApiError, asApiError, isAbortError } from "../../../api/client";
import type { FilesApi } from "./filesApi";

export type UploadStatus = "queued" | "uploading" | "done" | "error" | "cancelled";

export interface UploadItem {
  id: string;
  file: File;
  /** Target directory. */
  dir: string;
  loaded: number;
  total: number;
  status: UploadStatus;
  error?: ApiError;
  overwrite: boolean;
}

export type UploadAction =
  | { type: "add"; items: { id: string; file: File; dir: string }[] }
  | { type: "start"; id: string }
  | { type: "progress"; id: string; loaded: number; total: number }
  | { type: "done"; id: string }
  | { type: "fail"; id: string; error: ApiError }
  | { type: "cancel"; id: string }
  /** Queue again with `overwrite` (after "already exists"). */
  | { type: "replace"; id: string }
  | { type: "dismiss"; id: string }
  | { type: "clearFinished" };

function update(items: UploadItem[], id: string, change: (item: UploadItem) => UploadItem): UploadItem[] {
  return items.map((item) => (item.id === id ? change(item) : item));
}

export function uploadsReducer(items: UploadItem[], action: UploadAction): UploadItem[] {
  switch (action.type) {
    case "add":
      return [
        ...items,
        ...action.items.map((i) => ({
          ...i,
          loaded: 0,
          total: i.file.size,
          status: "queued" as const,
          overwrite: false,
        })),
      ];
    case "start":
      return update(items, action.id, (i) => ({ ...i, status: "uploading", loaded: 0, error: undefined }));
    case "progress":
      // Progress events can arrive after the final state (or out of order): never go back.
      return update(items, action.id, (i) =>
        i.status === "uploading" ? { ...i, loaded: Math.max(i.loaded, action.loaded), total: action.total || i.total } : i,
      );
    case "done":
      return update(items, action.id, (i) => ({ ...i, status: "done", loaded: i.total }));
    case "fail":
      return update(items, action.id, (i) => ({ ...i, status: "error", error: action.error }));
    case "cancel":
      return update(items, action.id, (i) =>
        i.status === "queued" || i.status === "uploading" ? { ...i, status: "cancelled" } : i,
      );
    case "replace":
      return update(items, action.id, (i) => ({ ...i, status: "queued", overwrite: true, loaded: 0, error: undefined }));
    case "dismiss":
      return items.filter((i) => i.id !== action.id);
    case "clearFinished":
      return items.filter((i) => i.status === "queued" || i.status === "uploading");
  }
}

/** Whole percent for a progress bar; an empty file is complete once done. */
export function uploadPercent(item: UploadItem): number {
  if (item.status === "done") return 100;
  if (item.total <= 0) return 0;
  return Math.min(100, Math.floor((item.loaded / item.total) * 100));
}

/** "Already exists" is worth a Replace button; other failures are not. */
export function canReplace(item: UploadItem): boolean {
  return item.status === "error" && item.error?.status === 409 && !item.overwrite;
}

let ids = 0;

/**
 * The queue and its runner. `onUploaded(dir)` runs after each stored file, to refresh the
 * directory in the tree.
 */
export function useUploads(api: FilesApi, onUploaded: (dir: string) => void) {
  const [items, dispatch] = useReducer(uploadsReducer, []);
  // Bumped when an upload settles, so the runner looks for the next queued file.
  const [settled, setSettled] = useState(0);
  const running = useRef<{ id: string; controller: AbortController } | null>(null);
  const onUploadedRef = useRef(onUploaded);
  useEffect(() => {
    onUploadedRef.current = onUploaded;
  });

  useEffect(() => {
    if (running.current) return;
    const next = items.find((i) => i.status === "queued");
    if (!next) return;
    const controller = new AbortController();
    running.current = { id: next.id, controller };
    dispatch({ type: "start", id: next.id });
    api
      .upload(next.dir, next.file, {
        overwrite: next.overwrite,
        signal: controller.signal,
        onProgress: (loaded, total) => dispatch({ type: "progress", id: next.id, loaded, total }),
      })
      .then(
        () => {
          dispatch({ type: "done", id: next.id });
          onUploadedRef.current(next.dir);
        },
        (error: unknown) => {
          if (isAbortError(error)) dispatch({ type: "cancel", id: next.id });
          else dispatch({ type: "fail", id: next.id, error: asApiError(error) });
        },
      )
      .finally(() => {
        running.current = null;
        setSettled((n) => n + 1);
      });
  }, [api, items, settled]);

  // Abort an upload in flight when the tab goes away.
  useEffect(
    () => () => {
      running.current?.controller.abort();
    },
    [],
  );

  const add = useCallback((files: readonly File[], dir: string) => {
    if (files.length === 0) return;
    dispatch({
      type: "add",
      items: files.map((file) => {
        ids += 1;
        return { id: `u${ids}`, file, dir };
      }),
    });
  }, []);

  const cancel = useCallback((id: string) => {
    if (running.current?.id === id) running.current.controller.abort();
    else dispatch({ type: "cancel", id });
  }, []);

  return { items, add, cancel, dispatch };
}
