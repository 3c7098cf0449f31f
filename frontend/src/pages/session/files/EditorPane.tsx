/** The open file: header (path, unsaved marker, Save), disk-change banners, and the editor. */
import { type KeyboardEvent, useRef } from "react";
import type { Theme } from "../../../app/theme";
import { Dialog } from "../../../components/Dialog";
import { ErrorAlert } from "../../../components/ErrorAlert";
import { CodeEditor } from "./LazyEditors";
import { formatBytes, languageFor, MAX_EDITABLE_BYTES } from "./paths";
import { isDirty, type OpenFile } from "./useOpenFile";

export interface EditorPaneProps {
  file: OpenFile;
  canWrite: boolean;
  theme: Theme;
  downloadUrl: string;
  onEdit: (text: string) => void;
  onSave: (overwrite?: boolean) => void;
  onReload: () => void;
  onKeepMine: () => void;
  onDismissConflict: () => void;
  onClose: () => void;
}

export function EditorPane({
  file,
  canWrite,
  theme,
  downloadUrl,
  onEdit,
  onSave,
  onReload,
  onKeepMine,
  onDismissConflict,
  onClose,
}: EditorPaneProps) {
  const dirty = isDirty(file);
  const keepRef = useRef<HTMLButtonElement>(null);
  const writable = canWrite && file.phase === "ready" && file.disk !== "deleted";

  function onKeyDown(event: KeyboardEvent<HTMLElement>) {
    // Ctrl/Cmd+S anywhere in the pane (Monaco handles it itself while it has focus).
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
      event.preventDefault();
      if (writable && dirty) onSave();
    }
  }

  return (
    <section className="editor-pane" aria-label={`Editor: ${file.path}`} onKeyDown={onKeyDown}>
      <header className="editor-header">
        <h3 className="editor-path mono break">
          {file.path}
          {dirty ? (
            <span className="editor-dirty" title="Unsaved changes">
              <span aria-hidden="true"> ●</span>
              <span className="visually-hidden"> (unsaved changes)</span>
            </span>
          ) : null}
        </h3>
        <div className="editor-actions">
          {file.phase === "ready" && canWrite ? (
            <button
              type="button"
              className="button button-small button-primary"
              onClick={() => onSave()}
              disabled={!dirty || file.saving || file.disk === "deleted"}
              aria-busy={file.saving}
              aria-keyshortcuts="Control+S Meta+S"
            >
              {file.saving ? "Saving…" : "Save"}
            </button>
          ) : null}
          <a className="button button-small" href={downloadUrl} download>
            Download
          </a>
          <button type="button" className="button button-small" onClick={onClose}>
            Close
          </button>
        </div>
      </header>

      <p className="visually-hidden" role="status">
        {file.saving ? "Saving…" : ""}
      </p>

      {file.disk === "changed" ? (
        <div className="alert alert-info editor-banner" role="alert">
          <p>This file changed on disk while you were editing it.</p>
          <div className="toolbar">
            <button type="button" className="button button-small" onClick={onReload}>
              Reload from disk (discard my changes)
            </button>
            <button type="button" className="button button-small" onClick={onKeepMine}>
              Keep my version
            </button>
          </div>
        </div>
      ) : null}
      {file.disk === "deleted" ? (
        <div className="alert alert-info editor-banner" role="alert">
          <p>This file was deleted or moved on disk.{dirty ? " Your unsaved text is still here to copy." : ""}</p>
          <div className="toolbar">
            <button type="button" className="button button-small" onClick={onClose}>
              Close the file
            </button>
          </div>
        </div>
      ) : null}
      <ErrorAlert error={file.saveError} title="Could not save." />

      {file.phase === "loading" ? (
        <p className="muted" role="status">
          Loading {file.path}…
        </p>
      ) : null}
      {file.phase === "error" ? <ErrorAlert error={file.error} title="Could not open the file." onRetry={onReload} /> : null}
      {file.phase === "large" ? (
        <p className="editor-notice">
          This file is {formatBytes(file.size)}, larger than the editor opens ({formatBytes(MAX_EDITABLE_BYTES)}).{" "}
          <a href={downloadUrl} download>
            Download it
          </a>{" "}
          instead.
        </p>
      ) : null}
      {file.phase === "binary" ? (
        <p className="editor-notice">
          This file is not UTF-8 text, so it is not opened in the editor (saving it back would damage it).{" "}
          <a href={downloadUrl} download>
            Download it
          </a>
          .
        </p>
      ) : null}
      {file.phase === "ready" ? (
        <div className="editor-frame">
          <CodeEditor
            value={file.current}
            language={languageFor(file.path)}
            theme={theme}
            readOnly={!writable}
            ariaLabel={`Contents of ${file.path}${writable ? "" : " (read only)"}`}
            onChange={onEdit}
            onSave={() => {
              if (writable) onSave();
            }}
          />
        </div>
      ) : null}
      {!canWrite && file.phase === "ready" ? (
        <p className="muted small">Read only: only the session&apos;s owner and admins can change files.</p>
      ) : null}

      {file.conflict ? (
        <Dialog
          title="The file changed on disk"
          description={`Someone (or Claude) changed ${file.path} after you opened it. Your save was not applied.`}
          onClose={onDismissConflict}
          initialFocus={keepRef}
          size="small"
          role="alertdialog"
        >
          <div className="dialog-actions conflict-actions">
            <button ref={keepRef} type="button" className="button" onClick={onDismissConflict}>
              Keep editing
            </button>
            <button
              type="button"
              className="button"
              onClick={() => {
                onDismissConflict();
                onReload();
              }}
            >
              Reload theirs
            </button>
            <button
              type="button"
              className="button button-danger"
              onClick={() => {
                onSave(true);
              }}
            >
              Overwrite with mine
            </button>
          </div>
        </Dialog>
      ) : null}
    </section>
  );
}
