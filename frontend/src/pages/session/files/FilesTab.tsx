/**
 * The session view's Files tab: the workspace tree, the editor, uploads, and the per-turn
 * "Changes" view. Reads need the session to be running (file-service reaches files through
 * the sandbox's agent); writes are for the owner and admins (`canWrite`).
 */
import { type DragEvent, useCallback, useEffect, useId, useMemo, useRef, useState } from "react";
import { useAuth } from "../../../app/auth";
import { useTheme } from "../../../app/theme";
import { ConfirmDialog } from "../../../components/Dialog";
import { ErrorAlert } from "../../../components/ErrorAlert";
import type { ApiError } from "../../../api/client";
import { asApiError } from "../../../api/client";
import type { FileChangeNotice, FilesTabProps } from "../contracts";
import { ChangesView } from "./ChangesView";
import { EditorPane } from "./EditorPane";
import { type FileEntry, FilesApi } from "./filesApi";
import "./files.css";
import { FileTree } from "./FileTree";
import { NameDialog } from "./NameDialog";
import { baseName, changeEffects, isWithin, parentOf, resolveName } from "./paths";
import { UploadList } from "./UploadList";
import { useUploads } from "./uploads";
import { useFileTree } from "./useFileTree";
import { isDirty, useOpenFile } from "./useOpenFile";

type Selection = { path: string; kind: FileEntry["kind"] } | null;

type Pending =
  | { type: "new-file" | "new-folder"; dir: string }
  | { type: "rename"; path: string; kind: FileEntry["kind"] }
  | { type: "delete"; path: string; kind: FileEntry["kind"] }
  /** Open another file while the current one has unsaved edits. */
  | { type: "discard"; then: () => void }
  | null;

function maxSeq(notices: readonly FileChangeNotice[]): number {
  return notices.reduce((max, n) => Math.max(max, n.seq), -1);
}

function shown(dir: string): string {
  return dir ? `/${dir}` : "the workspace root";
}

export function FilesTab({ session, canWrite, fileChanges, turns }: FilesTabProps) {
  const { org, me } = useAuth();
  const { theme } = useTheme();
  const orgId = org?.id ?? null;
  const csrfToken = me?.csrf_token ?? null;
  // A new client (and a fresh tree) when the organisation changes: the session belongs to one.
  const api = useMemo(
    () => new FilesApi({ sessionId: session.id, orgId: () => orgId, csrfToken: () => csrfToken }),
    [session.id, orgId, csrfToken],
  );
  const running = session.state === "running";
  const tree = useFileTree(api, running);
  const editor = useOpenFile(api);
  const [selection, setSelection] = useState<Selection>(null);
  const [pending, setPending] = useState<Pending>(null);
  const [actionError, setActionError] = useState<ApiError | null>(null);
  const [view, setView] = useState<"workspace" | "changes">("workspace");
  const [dragging, setDragging] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const baseId = useId();

  const { refresh, expand, forget } = tree;
  const uploads = useUploads(api, (dir) => refresh([dir]));

  const targetDir = selection ? (selection.kind === "dir" ? selection.path : parentOf(selection.path)) : "";
  const file = editor.file;
  const dirty = isDirty(file);

  // Live refresh: only notices newer than the last one handled (the list holds the whole history).
  const seen = useRef(maxSeq(fileChanges));
  const { diskChanged } = editor;
  const openPath = file?.path ?? null;
  useEffect(() => {
    // While the session is not running there is nothing to re-read; a restart reloads the tree.
    if (!running) return;
    const fresh = fileChanges.filter((n) => n.seq > seen.current);
    if (fresh.length === 0) return;
    seen.current = maxSeq(fresh);
    const effects = changeEffects(fresh);
    forget(effects.removed);
    refresh(effects.dirs);
    if (openPath !== null) {
      if (effects.changed.has(openPath)) void diskChanged("changed");
      else if ([...effects.removed].some((gone) => isWithin(openPath, gone))) void diskChanged("deleted");
    }
  }, [running, fileChanges, forget, refresh, diskChanged, openPath]);

  // Leaving the page with unsaved edits asks first (the browser's own prompt).
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => {
      event.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const guard = useCallback(
    (then: () => void) => {
      if (dirty) setPending({ type: "discard", then });
      else then();
    },
    [dirty],
  );

  function openEntry(entry: FileEntry) {
    if (entry.path === file?.path) return;
    guard(() => editor.open(entry));
  }

  function openByPath(path: string) {
    setView("workspace");
    if (path === file?.path) return;
    guard(() => editor.open({ path, name: baseName(path), kind: "file", size: 0, mode: 0, modified_ms: 0 }));
  }

  async function create(kind: "file" | "dir", dir: string, typed: string) {
    const resolved = resolveName(dir, typed);
    if ("error" in resolved) throw new Error(resolved.error);
    const entry = await api.create(resolved.path, kind);
    const parent = parentOf(resolved.path);
    refresh([parent]);
    if (parent) expand(parent);
    setSelection({ path: entry.path, kind: entry.kind });
    if (kind === "file") guard(() => editor.open(entry));
  }

  async function rename(from: string, kind: FileEntry["kind"], typed: string) {
    const resolved = resolveName("", typed);
    if ("error" in resolved) throw new Error(resolved.error);
    const to = resolved.path;
    if (to === from) return;
    await api.rename(from, to);
    if (kind === "dir") forget([from]);
    refresh([parentOf(from), parentOf(to)]);
    setSelection({ path: to, kind });
    if (file && isWithin(file.path, from)) editor.moved(file.path, to + file.path.slice(from.length));
  }

  async function remove(path: string, kind: FileEntry["kind"]) {
    try {
      await api.remove(path, kind === "dir");
    } catch (e) {
      setActionError(asApiError(e));
      setPending(null);
      return;
    }
    setPending(null);
    if (kind === "dir") forget([path]);
    refresh([parentOf(path)]);
    setSelection(null);
    if (file && isWithin(file.path, path)) editor.close();
  }

  function addUploads(files: readonly File[]) {
    if (files.length === 0) return;
    uploads.add(files, targetDir);
    if (targetDir) expand(targetDir);
  }

  function onDragOver(event: DragEvent<HTMLElement>) {
    if (!canWrite || !running || !event.dataTransfer.types.includes("Files")) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    setDragging(true);
  }

  function onDrop(event: DragEvent<HTMLElement>) {
    if (!canWrite || !running) return;
    event.preventDefault();
    setDragging(false);
    // A dropped folder arrives as an unreadable empty "file": only regular files are taken.
    const files: File[] = [];
    let folders = 0;
    for (const item of Array.from(event.dataTransfer.items)) {
      if (item.kind !== "file") continue;
      if (item.webkitGetAsEntry()?.isDirectory) {
        folders += 1;
        continue;
      }
      const dropped = item.getAsFile();
      if (dropped) files.push(dropped);
    }
    setNotice(folders ? "Folders cannot be uploaded by dropping them: upload their files, or a zip of them." : null);
    addUploads(files);
  }

  const workspace = (
    <div className="files-layout">
      <section
        className={dragging ? "files-sidebar dragging" : "files-sidebar"}
        aria-label="Workspace"
        onDragOver={onDragOver}
        onDragLeave={(e) => {
          if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
        }}
        onDrop={onDrop}
      >
        <div className="files-toolbar" role="toolbar" aria-label="File actions">
          {canWrite ? (
            <>
              <button
                type="button"
                className="button button-small"
                onClick={() => setPending({ type: "new-file", dir: targetDir })}
              >
                New file
              </button>
              <button
                type="button"
                className="button button-small"
                onClick={() => setPending({ type: "new-folder", dir: targetDir })}
              >
                New folder
              </button>
              <button type="button" className="button button-small" onClick={() => fileInput.current?.click()}>
                Upload
              </button>
              <input
                ref={fileInput}
                type="file"
                multiple
                hidden
                aria-label="Files to upload"
                onChange={(e) => {
                  addUploads(Array.from(e.target.files ?? []));
                  e.target.value = "";
                }}
              />
            </>
          ) : null}
          <button type="button" className="button button-small" onClick={() => refresh(["", ...tree.expanded])}>
            Refresh
          </button>
          <a className="button button-small" href={api.zipUrl("")} download>
            Download all (.zip)
          </a>
        </div>
        {selection ? (
          <div className="files-selection" role="group" aria-label={`Selected: ${selection.path}`}>
            <span className="mono break small">{selection.path}</span>
            <span className="files-selection-actions">
              {selection.kind === "dir" ? (
                <a className="button button-small" href={api.zipUrl(selection.path)} download>
                  Download .zip
                </a>
              ) : (
                <a className="button button-small" href={api.downloadUrl(selection.path)} download>
                  Download
                </a>
              )}
              {canWrite ? (
                <>
                  <button
                    type="button"
                    className="button button-small"
                    onClick={() => setPending({ type: "rename", path: selection.path, kind: selection.kind })}
                  >
                    Rename
                  </button>
                  <button
                    type="button"
                    className="button button-small button-danger-outline"
                    onClick={() => setPending({ type: "delete", path: selection.path, kind: selection.kind })}
                  >
                    Delete
                  </button>
                </>
              ) : null}
            </span>
          </div>
        ) : null}
        <ErrorAlert error={actionError} />
        {notice ? (
          <p className="alert alert-info" role="status">
            {notice}
          </p>
        ) : null}
        {tree.dirs.get("")?.status === "error" && tree.dirs.get("")?.entries.length === 0 ? (
          <ErrorAlert error={tree.dirs.get("")?.error} title="Could not list the workspace." onRetry={() => refresh([""])} />
        ) : null}
        {!tree.dirs.has("") || (tree.dirs.get("")?.status === "loading" && tree.dirs.get("")?.entries.length === 0) ? (
          <p className="muted" role="status">
            Loading files…
          </p>
        ) : null}
        <FileTree
          dirs={tree.dirs}
          expanded={tree.expanded}
          selected={selection?.path ?? null}
          openPath={openPath}
          onSelect={(entry) => {
            setSelection({ path: entry.path, kind: entry.kind });
            setActionError(null);
          }}
          onExpand={expand}
          onCollapse={tree.collapse}
          onOpen={openEntry}
        />
        {canWrite ? (
          <p className="files-drop-hint muted small">
            {dragging ? `Drop to upload into ${shown(targetDir)}.` : `Drop files here to upload into ${shown(targetDir)}.`}
          </p>
        ) : null}
        <UploadList items={uploads.items} onCancel={uploads.cancel} dispatch={uploads.dispatch} />
      </section>
      <div className="files-main">
        {file ? (
          <EditorPane
            file={file}
            canWrite={canWrite}
            theme={theme}
            downloadUrl={api.downloadUrl(file.path)}
            onEdit={editor.edit}
            onSave={(overwrite) => void editor.save(overwrite)}
            onReload={editor.reload}
            onKeepMine={editor.keepMine}
            onDismissConflict={editor.dismissConflict}
            onClose={() => guard(editor.close)}
          />
        ) : (
          <p className="muted files-placeholder">Select a file to open it{canWrite ? " and edit it" : ""}.</p>
        )}
      </div>
    </div>
  );

  return (
    <div className="files-tab">
      <div role="tablist" aria-label="Files views" className="files-views">
        {(["workspace", "changes"] as const).map((v) => (
          <button
            key={v}
            type="button"
            role="tab"
            id={`${baseId}-${v}-tab`}
            aria-controls={`${baseId}-${v}`}
            aria-selected={view === v}
            tabIndex={view === v ? 0 : -1}
            className={view === v ? "files-view-tab active" : "files-view-tab"}
            onClick={() => setView(v)}
            onKeyDown={(e) => {
              if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
                e.preventDefault();
                const other = v === "workspace" ? "changes" : "workspace";
                setView(other);
                document.getElementById(`${baseId}-${other}-tab`)?.focus();
              }
            }}
          >
            {v === "workspace" ? "Workspace" : `Changes${turns.length ? ` (${turns.length})` : ""}`}
          </button>
        ))}
      </div>

      {/* Both views stay mounted: switching must not lose the editor's unsaved text. */}
      <div role="tabpanel" id={`${baseId}-workspace`} aria-labelledby={`${baseId}-workspace-tab`} hidden={view !== "workspace"}>
        {running ? (
          workspace
        ) : (
          <p className="alert alert-info">
            The session is {session.state}. Its files are read through its sandbox: start the session to browse them.
          </p>
        )}
      </div>
      <div role="tabpanel" id={`${baseId}-changes`} aria-labelledby={`${baseId}-changes-tab`} hidden={view !== "changes"}>
        {view === "changes" ? <ChangesView turns={turns} theme={theme} onOpenFile={openByPath} /> : null}
      </div>

      {pending?.type === "new-file" || pending?.type === "new-folder" ? (
        <NameDialog
          title={pending.type === "new-file" ? "New file" : "New folder"}
          label="Name"
          hint={`Created in ${shown(pending.dir)}. Use / to create inside subfolders.`}
          initial=""
          submitLabel="Create"
          validate={(value) => {
            const r = resolveName(pending.dir, value);
            return "error" in r ? r.error : null;
          }}
          onSubmit={(value) => create(pending.type === "new-file" ? "file" : "dir", pending.dir, value)}
          onClose={() => setPending(null)}
        />
      ) : null}
      {pending?.type === "rename" ? (
        <NameDialog
          title={`Rename ${baseName(pending.path)}`}
          label="New path"
          hint="Relative to the workspace; change the folder part to move it. Existing names are not replaced."
          initial={pending.path}
          submitLabel="Rename"
          validate={(value) => {
            const r = resolveName("", value);
            return "error" in r ? r.error : null;
          }}
          onSubmit={(value) => rename(pending.path, pending.kind, value)}
          onClose={() => setPending(null)}
        />
      ) : null}
      {pending?.type === "delete" ? (
        <ConfirmDialog
          title={`Delete ${baseName(pending.path)}?`}
          message={
            pending.kind === "dir"
              ? `The folder ${pending.path} and everything in it will be deleted. This cannot be undone.`
              : `${pending.path} will be deleted. This cannot be undone.`
          }
          confirmLabel="Delete"
          danger
          onConfirm={() => void remove(pending.path, pending.kind)}
          onCancel={() => setPending(null)}
        />
      ) : null}
      {pending?.type === "discard" ? (
        <ConfirmDialog
          title="Discard unsaved changes?"
          message={`${file?.path ?? "The open file"} has changes that are not saved.`}
          confirmLabel="Discard changes"
          cancelLabel="Keep editing"
          danger
          onConfirm={() => {
            const then = pending.then;
            setPending(null);
            then();
          }}
          onCancel={() => setPending(null)}
        />
      ) : null}
    </div>
  );
}
