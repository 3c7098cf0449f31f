import { useEffect, useId, useState } from "react";

/** Copies `value` to the clipboard and says so in a live region. */
export function CopyButton({ value, label = "Copy" }: { value: string; label?: string }) {
  const [status, setStatus] = useState<"idle" | "copied" | "failed">("idle");

  useEffect(() => {
    if (status === "idle") return;
    const timer = window.setTimeout(() => {
      setStatus("idle");
    }, 3000);
    return () => {
      window.clearTimeout(timer);
    };
  }, [status]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
      setStatus("copied");
    } catch {
      setStatus("failed");
    }
  }

  return (
    <span className="copy">
      <button type="button" className="button button-small" onClick={() => void copy()}>
        {label}
      </button>
      <span className="copy-status" role="status" aria-live="polite">
        {status === "copied" ? "Copied" : status === "failed" ? "Copy failed: select the text and copy it" : ""}
      </span>
    </span>
  );
}

/** A secret shown once: read-only, selected on focus, with a copy button. */
export function SecretValue({ value, label }: { value: string; label: string }) {
  const id = useId();
  return (
    <div className="secret">
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      <div className="secret-row">
        <input
          id={id}
          className="input mono"
          readOnly
          value={value}
          onFocus={(event) => {
            event.currentTarget.select();
          }}
        />
        <CopyButton value={value} />
      </div>
    </div>
  );
}
