/**
 * The message box: queues a prompt (`POST /sessions/{id}/tasks`), stops the running turn, and
 * understands `/clear` (a new conversation, after a confirmation).
 */
import { type KeyboardEvent, type SubmitEvent, useCallback, useId, useRef, useState } from "react";
import { ApiError, asApiError, fieldMessage, unwrap } from "../../../api/client";
import type { Session, Task } from "../../../api/types";
import { useApi } from "../../../app/auth";
import { ConfirmDialog } from "../../../components/Dialog";
import { ErrorAlert } from "../../../components/ErrorAlert";
import { useAction } from "../../../lib/hooks";

export interface ComposerProps {
  sessionId: string;
  /** The task running now (Stop interrupts it), or null. */
  runningTaskId: string | null;
  onQueued?: (task: Task) => void;
  onCleared?: (session: Session) => void;
}

export function Composer({ sessionId, runningTaskId, onQueued, onCleared }: ComposerProps) {
  const api = useApi();
  const id = useId();
  const textarea = useRef<HTMLTextAreaElement>(null);
  const [prompt, setPrompt] = useState("");
  const [confirmClear, setConfirmClear] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  const send = useAction(
    useCallback(
      async (text: string) => {
        const task = await unwrap(
          api.POST("/api/v1/sessions/{id}/tasks", { params: { path: { id: sessionId } }, body: { prompt: text } }),
        );
        setPrompt("");
        setNotice(runningTaskId ? "Queued: it runs when the current turn ends." : "Sent.");
        onQueued?.(task);
      },
      [api, sessionId, onQueued, runningTaskId],
    ),
  );

  const clear = useAction(
    useCallback(async () => {
      try {
        const session = await unwrap(api.POST("/api/v1/sessions/{id}/clear", { params: { path: { id: sessionId } } }));
        onCleared?.(session);
      } catch (e) {
        // 409 means a turn is running; say what to do rather than echo the api.
        if (e instanceof ApiError && e.status === 409) {
          throw new ApiError({
            status: 409,
            code: e.code,
            message: `${e.message} Stop the running turn first, then clear.`,
          });
        }
        throw e;
      }
      setConfirmClear(false);
      setPrompt("");
      setNotice("Conversation cleared: the next prompt starts a new conversation.");
    }, [api, sessionId, onCleared]),
  );

  const stop = useAction(
    useCallback(async () => {
      if (!runningTaskId) return;
      await unwrap(api.POST("/api/v1/tasks/{id}/cancel", { params: { path: { id: runningTaskId } } }));
      setNotice("Stopping the running turn…");
    }, [api, runningTaskId]),
  );

  function submit(event?: SubmitEvent) {
    event?.preventDefault();
    const text = prompt.trim();
    if (!text || send.busy) return;
    setNotice(null);
    if (text === "/clear") {
      clear.reset();
      setConfirmClear(true);
      return;
    }
    void send.run(prompt).then((ok) => {
      if (!ok) textarea.current?.focus();
    });
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter while an IME composes a character confirms the character, not the message.
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  }

  const error = send.error;
  const fieldError = error && (error.field === "prompt" || error.status === 400) ? fieldMessage(error) : null;
  const describedBy = [`${id}-hint`, fieldError ? `${id}-error` : null].filter(Boolean).join(" ");
  return (
    <form className="chat-composer" onSubmit={submit} noValidate aria-label="Message Claude">
      <div className={`field${fieldError ? " field-invalid" : ""}`}>
        <label htmlFor={id} className="visually-hidden">
          Message
        </label>
        <textarea
          ref={textarea}
          id={id}
          name="prompt"
          className="input chat-composer-input"
          rows={3}
          value={prompt}
          placeholder="Ask Claude… (/clear starts a new conversation)"
          aria-invalid={fieldError ? true : undefined}
          aria-describedby={describedBy}
          onChange={(e) => {
            setPrompt(e.target.value);
            if (send.error) send.reset();
          }}
          onKeyDown={onKeyDown}
        />
        <p id={`${id}-hint`} className="field-hint">
          Enter sends, Shift+Enter adds a line. Prompts sent while Claude works wait in the queue.
        </p>
        {fieldError ? (
          <p id={`${id}-error`} className="field-error">
            {fieldError}
          </p>
        ) : null}
      </div>
      {fieldError ? null : <ErrorAlert error={error} title="Could not send the message." />}
      <ErrorAlert error={stop.error} title="Could not stop the turn." />
      <div className="chat-composer-actions">
        <p className="small muted chat-composer-notice" role="status">
          {notice}
        </p>
        {runningTaskId ? (
          <button
            type="button"
            className="button button-danger-outline"
            onClick={() => void stop.run()}
            disabled={stop.busy}
            aria-busy={stop.busy}
          >
            <span aria-hidden="true">■</span> {stop.busy ? "Stopping…" : "Stop turn"}
          </button>
        ) : null}
        <button
          type="submit"
          className="button button-primary"
          disabled={send.busy || !prompt.trim()}
          aria-busy={send.busy}
        >
          {send.busy ? "Sending…" : runningTaskId ? "Queue" : "Send"}
        </button>
      </div>
      {confirmClear ? (
        <ConfirmDialog
          title="Start a new conversation?"
          message="Claude forgets this conversation; the workspace and its files stay. The chat history here stays visible."
          confirmLabel="Clear conversation"
          busy={clear.busy}
          error={<ErrorAlert error={clear.error ? asApiError(clear.error) : null} title="Could not clear." />}
          onConfirm={() => void clear.run()}
          onCancel={() => {
            setConfirmClear(false);
          }}
        />
      ) : null}
    </form>
  );
}
