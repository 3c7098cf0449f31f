/**
 * The file open in the editor: its text as last read from (or written to) disk with that
 * text's ETag, the text being edited, and what happened on disk meanwhile.
 */
import { useCallback, useLayoutEffect, useRef, useState } from "react";
import { type ApiError, asApiError, isAbortError } from "../../../api/client";
import { ConflictError, type FileEntry, type FilesApi } from "./filesApi";
import { decodeText, MAX_EDITABLE_BYTES } from "./paths";

export type OpenPhase =
  /** Reading it. */
  | "loading"
  /** Text, in the editor. */
  | "ready"
  /** Not text (or not UTF-8): download only. */
  | "binary"
  /** Over {@link MAX_EDITABLE_BYTES}: download only. */
  | "large"
  | "error";

export interface OpenFile {
  path: string;
  phase: OpenPhase;
  size: number;
  /** The text on disk as of `etag`. */
  saved: string;
  /** The text in the editor. */
  current: string;
  etag: string | null;
  error?: ApiError;
  /** Something else changed (or deleted) the file since it was read. */
  disk: "changed" | "deleted" | null;
  saving: boolean;
  saveError?: ApiError;
  /** The last save was refused with 412: the file changed on disk since it was read. */
  conflict: boolean;
}

export function isDirty(file: OpenFile | null): boolean {
  return file !== null && file.phase === "ready" && file.current !== file.saved;
}

export function useOpenFile(api: FilesApi) {
  const [file, setFile] = useState<OpenFile | null>(null);
  // The file whose answers count: answers for one closed or replaced meanwhile are dropped.
  const token = useRef<{ path: string; controller: AbortController } | null>(null);
  // Event handlers see the latest state without being recreated on every keystroke.
  const fileRef = useRef(file);
  const saving = useRef(false);
  useLayoutEffect(() => {
    fileRef.current = file;
  });

  const patch = useCallback((path: string, change: Partial<OpenFile>) => {
    setFile((prev) => (prev?.path === path ? { ...prev, ...change } : prev));
  }, []);

  const read = useCallback(
    (path: string, size: number | null, keepEditorText: boolean) => {
      token.current?.controller.abort();
      const controller = new AbortController();
      const mine = { path, controller };
      token.current = mine;
      if (size !== null && size > MAX_EDITABLE_BYTES) {
        setFile(base(path, size, "large"));
        return;
      }
      setFile((prev) => (prev?.path === path && keepEditorText ? { ...prev, phase: prev.phase === "ready" ? "ready" : "loading" } : base(path, size ?? 0, "loading")));
      api.read(path, controller.signal).then(
        ({ bytes, etag }) => {
          if (token.current !== mine) return;
          if (bytes.length > MAX_EDITABLE_BYTES) {
            setFile(base(path, bytes.length, "large"));
            return;
          }
          const text = decodeText(bytes);
          if (text === null) {
            setFile(base(path, bytes.length, "binary"));
            return;
          }
          setFile({ ...base(path, bytes.length, "ready"), saved: text, current: text, etag });
        },
        (error: unknown) => {
          if (isAbortError(error) || token.current !== mine) return;
          setFile({ ...base(path, size ?? 0, "error"), error: asApiError(error) });
        },
      );
    },
    [api],
  );

  /** Opens a file (call only after the caller confirmed discarding unsaved changes). */
  const open = useCallback((entry: FileEntry) => read(entry.path, entry.size, false), [read]);

  /** Reads the file again, dropping local edits. */
  const reload = useCallback(() => {
    const current = fileRef.current;
    if (current) read(current.path, null, false);
  }, [read]);

  const close = useCallback(() => {
    token.current?.controller.abort();
    token.current = null;
    setFile(null);
  }, []);

  const edit = useCallback((text: string) => {
    setFile((prev) => (prev?.phase === "ready" && prev.current !== text ? { ...prev, current: text } : prev));
  }, []);

  /**
   * Writes the editor's text with `If-Match` of the ETag it was read with; `overwrite` drops
   * the precondition (the user chose to replace what is on disk).
   */
  const save = useCallback(
    async (overwrite = false) => {
      const current = fileRef.current;
      // A ref, not state: Ctrl+S can reach both Monaco's command and the pane's handler in
      // one tick, before any re-render, and must still save once.
      if (current?.phase !== "ready" || saving.current) return;
      saving.current = true;
      const { path, current: text } = current;
      patch(path, { saving: true, saveError: undefined, conflict: false });
      try {
        const saved = await api.write(path, text, { ifMatch: overwrite ? null : current.etag });
        setFile((prev) =>
          prev?.path === path
            ? { ...prev, saving: false, saved: text, etag: saved.etag, disk: null, size: saved.entry.size }
            : prev,
        );
      } catch (error) {
        if (error instanceof ConflictError) patch(path, { saving: false, conflict: true });
        else patch(path, { saving: false, saveError: asApiError(error) });
      } finally {
        saving.current = false;
      }
    },
    [api, patch],
  );

  const dismissConflict = useCallback(() => {
    const current = fileRef.current;
    if (current) patch(current.path, { conflict: false });
  }, [patch]);

  /**
   * A `file_changed` for the open file. Our own saves come back as events too, so the file is
   * compared by ETag first: unchanged content is no news. A clean file then simply reloads;
   * a file with local edits keeps them and says that the disk changed.
   */
  const diskChanged = useCallback(
    async (kind: "changed" | "deleted") => {
      const current = fileRef.current;
      if (!current) return;
      const { path } = current;
      if (kind === "deleted") {
        patch(path, { disk: "deleted" });
        return;
      }
      if (current.phase !== "ready") {
        read(path, null, false);
        return;
      }
      try {
        const entry = await api.stat(path);
        if (entry.etag && current.etag && `"${entry.etag}"` === current.etag) return;
      } catch {
        // Could not tell: assume it changed.
      }
      const now = fileRef.current;
      if (now?.path !== path) return;
      if (now.current === now.saved) read(path, null, true);
      else patch(path, { disk: "changed" });
    },
    [api, patch, read],
  );

  const keepMine = useCallback(() => {
    const current = fileRef.current;
    if (current) patch(current.path, { disk: null });
  }, [patch]);

  /** The open file was renamed (by us): follow it. */
  const moved = useCallback((from: string, to: string) => {
    setFile((prev) => (prev?.path === from ? { ...prev, path: to } : prev));
    if (token.current?.path === from) token.current = { ...token.current, path: to };
  }, []);

  return { file, open, reload, close, edit, save, dismissConflict, diskChanged, keepMine, moved };
}

function base(path: string, size: number, phase: OpenPhase): OpenFile {
  return { path, phase, size, saved: "", current: "", etag: null, disk: null, saving: false, conflict: false };
}
