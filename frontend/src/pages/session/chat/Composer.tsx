/**
 * The message box: queues a prompt (`POST /sessions/{id}/tasks`) with any pasted, dropped or
 * attached images, stops the running turn, and understands `/clear` (a new conversation, after
 * a confirmation).
 */
import {
  type ClipboardEvent,
  type DragEvent,
  type KeyboardEvent,
  type SubmitEvent,
  useCallback,
  useId,
  useRef,
  useState,
} from "react";
import { ApiError, asApiError, fieldMessage, unwrap } from "../../../api/client";
import type { Session, Task } from "../../../api/types";
import { useApi } from "../../../app/auth";
import { ConfirmDialog } from "../../../components/Dialog";
import { ErrorAlert } from "../../../components/ErrorAlert";
import { useAction } from "../../../lib/hooks";

/** The api's limits (libs/domain tasks.rs): count, per image, and all images together. */
export const MAX_IMAGES = 4;
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
export const MAX_TOTAL_IMAGE_BYTES = 5 * 1024 * 1024;
export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"] as const;

interface Attached {
  key: number;
  name: string;
  size: number;
  mediaType: string;
  /** The file, base64 (no `data:` prefix). */
  data: string;
}

function readBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = typeof reader.result === "string" ? reader.result : "";
      resolve(url.slice(url.indexOf(",") + 1));
    };
    reader.onerror = () => {
      reject(reader.error ?? new Error("could not read the file"));
    };
    reader.readAsDataURL(file);
  });
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** "Image 2: …" for an api error on `images[1].data`; the field-less message otherwise. */
function imageErrorMessage(field: string, message: string): string {
  const index = /^images\[(\d+)\]/.exec(field);
  return index ? `Image ${Number(index[1]) + 1}: ${message}` : message;
}

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
  const fileInput = useRef<HTMLInputElement>(null);
  const nextKey = useRef(0);
  const [images, setImages] = useState<Attached[]>([]);
  const [imageProblem, setImageProblem] = useState<string | null>(null);

  const send = useAction(
    useCallback(
      async (text: string, attached: Attached[]) => {
        const body =
          attached.length > 0
            ? { prompt: text, images: attached.map((i) => ({ media_type: i.mediaType, data: i.data })) }
            : { prompt: text };
        const task = await unwrap(
          api.POST("/api/v1/sessions/{id}/tasks", { params: { path: { id: sessionId } }, body }),
        );
        setPrompt("");
        setImages([]);
        setNotice(runningTaskId ? "Queued: it runs when the current turn ends." : "Sent.");
        onQueued?.(task);
      },
      [api, sessionId, onQueued, runningTaskId],
    ),
  );

  /** Checks the files against the api's limits and attaches those that pass. */
  async function addFiles(files: File[]) {
    if (files.length === 0) return;
    if (send.error) send.reset();
    const problems: string[] = [];
    const accepted: File[] = [];
    let total = images.reduce((sum, i) => sum + i.size, 0);
    for (const file of files) {
      const name = file.name || "pasted image";
      if (!(IMAGE_TYPES as readonly string[]).includes(file.type)) {
        problems.push(`${name}: only PNG, JPEG, GIF and WebP images can be sent.`);
      } else if (images.length + accepted.length >= MAX_IMAGES) {
        problems.push(`${name}: at most ${MAX_IMAGES} images per message.`);
      } else if (file.size > MAX_IMAGE_BYTES) {
        problems.push(`${name} is ${mib(file.size)}; an image may be at most ${mib(MAX_IMAGE_BYTES)}.`);
      } else if (total + file.size > MAX_TOTAL_IMAGE_BYTES) {
        problems.push(`${name}: the images of one message may be at most ${mib(MAX_TOTAL_IMAGE_BYTES)} together.`);
      } else {
        accepted.push(file);
        total += file.size;
      }
    }
    setImageProblem(problems.length > 0 ? problems.join(" ") : null);
    try {
      const read = await Promise.all(
        accepted.map(async (file) => ({
          key: nextKey.current++,
          name: file.name || "pasted image",
          size: file.size,
          mediaType: file.type,
          data: await readBase64(file),
        })),
      );
      if (read.length > 0) setImages((current) => [...current, ...read].slice(0, MAX_IMAGES));
    } catch {
      setImageProblem("Could not read the image file.");
    }
  }

  function imageFiles(list: FileList | null | undefined): File[] {
    return Array.from(list ?? []).filter((f) => f.type.startsWith("image/"));
  }

  function onPaste(event: ClipboardEvent<HTMLTextAreaElement>) {
    const files = imageFiles(event.clipboardData.files);
    if (files.length === 0) return;
    // A screenshot has no text: keep the paste out of the box. Text with images pastes both.
    if (!event.clipboardData.getData("text/plain")) event.preventDefault();
    void addFiles(files);
  }

  function onDragOver(event: DragEvent<HTMLFormElement>) {
    if (Array.from(event.dataTransfer.types).includes("Files")) event.preventDefault();
  }

  function onDrop(event: DragEvent<HTMLFormElement>) {
    const files = Array.from(event.dataTransfer.files);
    if (files.length === 0) return;
    event.preventDefault();
    void addFiles(files);
  }

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
    void send.run(prompt, images).then((ok) => {
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
  const imageFieldError =
    error?.field?.startsWith("images") === true ? imageErrorMessage(error.field, fieldMessage(error)) : null;
  const fieldError =
    error && !imageFieldError && (error.field === "prompt" || error.status === 400) ? fieldMessage(error) : null;
  const imageMessage = imageFieldError ?? imageProblem;
  const describedBy = [`${id}-hint`, fieldError ? `${id}-error` : null, imageMessage ? `${id}-images-error` : null]
    .filter(Boolean)
    .join(" ");
  return (
    <form
      className="chat-composer"
      onSubmit={submit}
      onDragOver={onDragOver}
      onDrop={onDrop}
      noValidate
      aria-label="Message Claude"
    >
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
          onPaste={onPaste}
        />
        <p id={`${id}-hint`} className="field-hint">
          Enter sends, Shift+Enter adds a line. Prompts sent while Claude works wait in the queue. Paste or drop images
          to send them too (up to {MAX_IMAGES}, {mib(MAX_TOTAL_IMAGE_BYTES)} in all).
        </p>
        {fieldError ? (
          <p id={`${id}-error`} className="field-error">
            {fieldError}
          </p>
        ) : null}
        {images.length > 0 ? (
          <ul aria-label="Attached images" className="composer-images">
            {images.map((image, index) => (
              <li key={image.key} className="composer-image">
                <img
                  src={`data:${image.mediaType};base64,${image.data}`}
                  alt={`Image ${index + 1}: ${image.name}`}
                  width={64}
                  height={64}
                  className="composer-thumb"
                />
                <button
                  type="button"
                  className="button button-small"
                  aria-label={`Remove image ${index + 1} (${image.name})`}
                  onClick={() => {
                    setImages((current) => current.filter((i) => i.key !== image.key));
                    setImageProblem(null);
                    if (send.error) send.reset();
                  }}
                >
                  <span aria-hidden="true">×</span>
                </button>
              </li>
            ))}
          </ul>
        ) : null}
        {imageMessage ? (
          <p id={`${id}-images-error`} className="field-error" role="alert">
            {imageMessage}
          </p>
        ) : null}
      </div>
      {fieldError || imageFieldError ? null : <ErrorAlert error={error} title="Could not send the message." />}
      <ErrorAlert error={stop.error} title="Could not stop the turn." />
      <div className="chat-composer-actions">
        <p className="small muted chat-composer-notice" role="status">
          {notice}
        </p>
        <input
          ref={fileInput}
          type="file"
          accept={IMAGE_TYPES.join(",")}
          multiple
          hidden
          aria-hidden="true"
          tabIndex={-1}
          data-testid="composer-image-input"
          onChange={(e) => {
            void addFiles(Array.from(e.target.files ?? []));
            e.target.value = "";
          }}
        />
        <button
          type="button"
          className="button"
          onClick={() => fileInput.current?.click()}
          disabled={images.length >= MAX_IMAGES}
        >
          <span aria-hidden="true">📎</span> Attach image
        </button>
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
