import type { ApiError } from "../api/client";

export interface ErrorAlertProps {
  error: ApiError | null | undefined;
  /** Sentence before the server's message, e.g. "Could not stop the session." */
  title?: string;
  onRetry?: () => void;
}

/** An error from the api, announced to screen readers. */
export function ErrorAlert({ error, title, onRetry }: ErrorAlertProps) {
  if (!error) return null;
  return (
    <div className="alert alert-error" role="alert">
      <p>
        {title ? <strong>{title} </strong> : null}
        {error.message}
      </p>
      {error.requestId ? <p className="alert-meta">Request id: {error.requestId}</p> : null}
      {onRetry ? (
        <button type="button" className="button button-small" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}
