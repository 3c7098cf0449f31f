/** The upload queue: one row per file with its progress, its error (e.g. the size limit) and actions. */
import { canReplace, type UploadAction, type UploadItem, uploadPercent } from "./uploads";
import { formatBytes } from "./paths";

export interface UploadListProps {
  items: readonly UploadItem[];
  onCancel: (id: string) => void;
  dispatch: (action: UploadAction) => void;
}

function statusLabel(item: UploadItem): string {
  switch (item.status) {
    case "queued":
      return "Waiting";
    case "uploading":
      return `${uploadPercent(item)} %`;
    case "done":
      return "Uploaded";
    case "cancelled":
      return "Cancelled";
    case "error":
      return "Failed";
  }
}

export function UploadList({ items, onCancel, dispatch }: UploadListProps) {
  if (items.length === 0) return null;
  const finished = items.some((i) => i.status !== "queued" && i.status !== "uploading");
  return (
    <section className="upload-list" aria-label="Uploads">
      <ul>
        {items.map((item) => {
          const target = item.dir ? `${item.dir}/` : "";
          return (
            <li key={item.id} className={`upload-item upload-${item.status}`}>
              <div className="upload-row">
                <span className="mono break upload-name">
                  {target}
                  {item.file.name}
                </span>
                <span className="muted small">{formatBytes(item.total)}</span>
              </div>
              <progress
                max={100}
                value={uploadPercent(item)}
                aria-label={`Upload of ${item.file.name}`}
                aria-valuetext={statusLabel(item)}
              />
              <div className="upload-row">
                <span className="small" role={item.status === "error" ? "alert" : undefined}>
                  {statusLabel(item)}
                  {item.error ? `: ${item.error.message}` : null}
                </span>
                <span className="upload-actions">
                  {canReplace(item) ? (
                    <button
                      type="button"
                      className="button button-small"
                      onClick={() => dispatch({ type: "replace", id: item.id })}
                    >
                      Replace
                    </button>
                  ) : null}
                  {item.status === "queued" || item.status === "uploading" ? (
                    <button
                      type="button"
                      className="button button-small"
                      aria-label={`Cancel upload of ${item.file.name}`}
                      onClick={() => onCancel(item.id)}
                    >
                      Cancel
                    </button>
                  ) : (
                    <button
                      type="button"
                      className="button button-small"
                      aria-label={`Dismiss ${item.file.name}`}
                      onClick={() => dispatch({ type: "dismiss", id: item.id })}
                    >
                      Dismiss
                    </button>
                  )}
                </span>
              </div>
            </li>
          );
        })}
      </ul>
      {finished ? (
        <button type="button" className="button button-small" onClick={() => dispatch({ type: "clearFinished" })}>
          Clear finished
        </button>
      ) : null}
    </section>
  );
}
