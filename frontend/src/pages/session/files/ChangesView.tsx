/**
 * What each turn changed: pick a turn, then one of its files, and read its edits in order as
 * diffs (Edit / MultiEdit: the replaced text against the new one; Write: the written content,
 * as the previous content is not in the event).
 */
import { useId, useState } from "react";
import type { Theme } from "../../../app/theme";
import type { FileEdit, TurnFileChanges } from "../contracts";
import { CodeEditor, DiffView } from "./LazyEditors";
import { languageFor } from "./paths";

export interface ChangesViewProps {
  turns: readonly TurnFileChanges[];
  theme: Theme;
  /** Opens the file in the workspace view. */
  onOpenFile: (path: string) => void;
}

function EditView({ edit, path, index, theme }: { edit: FileEdit; path: string; index: number; theme: Theme }) {
  const label = `${edit.tool} ${index + 1} of ${path}`;
  return (
    <li className="change-edit">
      <p className="change-edit-title">
        <strong>{edit.tool}</strong>
        {edit.tool === "Write" ? <span className="muted"> (whole file as written)</span> : null}
        {edit.ok ? null : <span className="badge badge-bad change-failed">failed</span>}
      </p>
      {edit.tool === "Write" ? (
        <div className="change-write">
          <CodeEditor
            value={edit.after}
            language={languageFor(path)}
            theme={theme}
            readOnly
            ariaLabel={label}
            // As tall as the content (capped), like the diffs around it.
            height={Math.min(Math.max(edit.after.split("\n").length, 3) * 19 + 24, 480)}
          />
        </div>
      ) : (
        <DiffView original={edit.before} modified={edit.after} language={languageFor(path)} theme={theme} ariaLabel={label} />
      )}
    </li>
  );
}

export function ChangesView({ turns, theme, onOpenFile }: ChangesViewProps) {
  const turnId = useId();
  // Newest first: the turn just finished is the one people look at.
  const ordered = [...turns].reverse();
  const [taskId, setTaskId] = useState<string | null>(null);
  const turn = ordered.find((t) => t.taskId === taskId) ?? ordered[0] ?? null;
  const [filePath, setFilePath] = useState<string | null>(null);
  const file = turn?.files.find((f) => f.path === filePath) ?? turn?.files[0] ?? null;

  if (!turn) {
    return <p className="muted">No turn has changed files in this view yet. Edits Claude makes appear here, turn by turn.</p>;
  }

  return (
    <div className="changes-view">
      <div className="field changes-turn">
        <label className="field-label" htmlFor={turnId}>
          Turn
        </label>
        <select
          id={turnId}
          className="input"
          value={turn.taskId}
          onChange={(e) => {
            setTaskId(e.target.value);
            setFilePath(null);
          }}
        >
          {ordered.map((t, i) => (
            <option key={t.taskId} value={t.taskId}>
              {ordered.length - i}. {t.title || "(untitled)"} — {t.files.length} file{t.files.length === 1 ? "" : "s"}
            </option>
          ))}
        </select>
      </div>
      <div className="changes-body">
        <nav aria-label="Files changed in this turn" className="changes-files">
          {turn.files.length === 0 ? <p className="muted">This turn changed no files.</p> : null}
          <ul>
            {turn.files.map((f) => (
              <li key={f.path}>
                <button
                  type="button"
                  className={f.path === file?.path ? "changes-file active" : "changes-file"}
                  aria-current={f.path === file?.path ? "true" : undefined}
                  onClick={() => setFilePath(f.path)}
                >
                  <span className="mono break">{f.path}</span>
                  <span className="muted small">
                    {" "}
                    {f.edits.length} edit{f.edits.length === 1 ? "" : "s"}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </nav>
        {file ? (
          <section className="changes-detail" aria-label={`Edits to ${file.path}`}>
            <div className="changes-detail-header">
              <h3 className="mono break">{file.path}</h3>
              <button type="button" className="button button-small" onClick={() => onOpenFile(file.path)}>
                Open file
              </button>
            </div>
            <ol className="change-edits">
              {file.edits.map((edit, index) => (
                <EditView key={edit.toolUseId} edit={edit} path={file.path} index={index} theme={theme} />
              ))}
            </ol>
          </section>
        ) : null}
      </div>
    </div>
  );
}
