/** Asks for a name (new file or folder, rename) and runs the action, showing the api's error at the field. */
import { type SubmitEvent, useRef, useState } from "react";
import { asApiError } from "../../../api/client";
import { Dialog } from "../../../components/Dialog";
import { Field } from "../../../components/Field";

export interface NameDialogProps {
  title: string;
  label: string;
  hint?: string;
  initial: string;
  submitLabel: string;
  /** Checks the typed value locally; returns an error message or null. */
  validate?: (value: string) => string | null;
  /** Resolves when done (the dialog closes); rejects with an error to show. */
  onSubmit: (value: string) => Promise<void>;
  onClose: () => void;
}

export function NameDialog({ title, label, hint, initial, submitLabel, validate, onSubmit, onClose }: NameDialogProps) {
  const [value, setValue] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const local = validate?.(value) ?? null;
    if (local) {
      setError(local);
      inputRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await onSubmit(value);
      onClose();
    } catch (e) {
      setError(asApiError(e).message);
      setBusy(false);
      inputRef.current?.focus();
    }
  }

  return (
    <Dialog title={title} onClose={onClose} initialFocus={inputRef} busy={busy} size="small">
      <form className="form" onSubmit={(e) => void submit(e)} noValidate>
        <Field label={label} hint={hint} error={error}>
          <input
            ref={inputRef}
            className="input mono"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            autoCapitalize="off"
          />
        </Field>
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy} aria-busy={busy}>
            {busy ? "Working…" : submitLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
