import { type SubmitEvent, useCallback, useRef, useState } from "react";
import { ApiError, fieldMessage, unwrap } from "../../api/client";
import { type CreateSession, PERMISSION_MODES, type PermissionMode, type Session, type SessionLimitsInput } from "../../api/types";
import { useApi, useOrg } from "../../app/auth";
import { Dialog } from "../../components/Dialog";
import { ErrorAlert } from "../../components/ErrorAlert";
import { Field } from "../../components/Field";
import { useAction } from "../../lib/hooks";

const PERMISSION_MODE_LABELS: Record<PermissionMode, string> = {
  default: "default: ask before edits and commands",
  acceptEdits: "acceptEdits: edit files without asking",
  plan: "plan: read and plan, change nothing",
  dontAsk: "dontAsk: deny anything not pre-approved",
  bypassPermissions: "bypassPermissions: skip all permission checks",
};

const NETWORK_POLICY_LABELS: Record<string, string> = {
  none: "none: no network access",
  allowlist: "allowlist: only the organisation's allowed hosts",
  open: "open: unrestricted internet",
};

type LimitKey = keyof SessionLimitsInput;

const LIMITS: { key: LimitKey; label: string; unit: string; max: (p: PolicyMax) => number | undefined }[] = [
  { key: "cpu_millis", label: "CPU", unit: "millicores, 1000 = 1 core", max: (p) => p.max_cpu_millis },
  { key: "memory_mb", label: "Memory", unit: "MB", max: (p) => p.max_memory_mb },
  { key: "pids", label: "Processes", unit: "max PIDs", max: (p) => p.max_pids },
  { key: "idle_timeout_secs", label: "Idle timeout", unit: "seconds", max: (p) => p.max_idle_timeout_secs },
  { key: "max_duration_secs", label: "Maximum duration", unit: "seconds", max: (p) => p.max_duration_secs },
];

interface PolicyMax {
  max_cpu_millis?: number;
  max_memory_mb?: number;
  max_pids?: number;
  max_idle_timeout_secs?: number;
  max_duration_secs?: number;
}

interface FormValues {
  name: string;
  repository_url: string;
  model: string;
  permission_mode: PermissionMode;
  network_policy: string;
  image: string;
  limits: Record<LimitKey, string>;
}

export interface CreateSessionDialogProps {
  onClose: () => void;
  onCreated: (session: Session) => void;
}

/**
 * The create-session form. Each control's `name` is the api's field path (`limits.memory_mb`), so
 * a validation error's `field` finds its control.
 */
export function CreateSessionDialog({ onClose, onCreated }: CreateSessionDialogProps) {
  const api = useApi();
  const org = useOrg();
  const policy = org.policy;
  const networkPolicies = policy.allowed_network_policies;
  const images = policy.allowed_images;
  const formRef = useRef<HTMLFormElement>(null);
  const nameRef = useRef<HTMLInputElement>(null);
  const [values, setValues] = useState<FormValues>(() => ({
    name: "",
    repository_url: "",
    model: "",
    permission_mode: "default",
    network_policy: networkPolicies[0] ?? "",
    image: images[0] ?? "",
    limits: { cpu_millis: "", memory_mb: "", pids: "", idle_timeout_secs: "", max_duration_secs: "" },
  }));
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});

  const focusField = useCallback((field: string) => {
    // Wait for the error to render so the control's description includes it when focused.
    window.setTimeout(() => {
      const control = formRef.current?.elements.namedItem(field);
      if (control instanceof HTMLElement) control.focus();
    }, 0);
  }, []);

  const create = useAction(
    useCallback(
      async (body: CreateSession) => {
        try {
          onCreated(await unwrap(api.POST("/api/v1/sessions", { body })));
        } catch (error) {
          // A field this form shows: put the message next to it. Others go to the form's alert.
          if (error instanceof ApiError && error.field && formRef.current?.elements.namedItem(error.field)) {
            setFieldErrors({ [error.field]: fieldMessage(error) });
            focusField(error.field);
            return;
          }
          throw error;
        }
      },
      [api, onCreated, focusField],
    ),
  );

  function set<K extends keyof FormValues>(key: K, value: FormValues[K]) {
    setValues((v) => ({ ...v, [key]: value }));
    setFieldErrors((errors) => {
      if (!(key in errors)) return errors;
      const { [key]: _removed, ...rest } = errors;
      return rest;
    });
  }

  function setLimit(key: LimitKey, value: string) {
    setValues((v) => ({ ...v, limits: { ...v.limits, [key]: value } }));
    const field = `limits.${key}`;
    setFieldErrors((errors) => {
      if (!(field in errors)) return errors;
      const { [field]: _removed, ...rest } = errors;
      return rest;
    });
  }

  function onSubmit(event: SubmitEvent) {
    event.preventDefault();
    const errors: Record<string, string> = {};
    if (!values.name.trim()) errors.name = "Enter a name.";
    const limits: SessionLimitsInput = {};
    for (const { key } of LIMITS) {
      const raw = values.limits[key].trim();
      if (!raw) continue;
      const n = Number(raw);
      if (!Number.isSafeInteger(n) || n < 1) errors[`limits.${key}`] = "Enter a whole number above 0.";
      else limits[key] = n;
    }
    setFieldErrors(errors);
    const first = Object.keys(errors)[0];
    if (first) {
      focusField(first);
      return;
    }
    const body: CreateSession = {
      name: values.name.trim(),
      permission_mode: values.permission_mode,
      ...(values.repository_url.trim() ? { repository_url: values.repository_url.trim() } : {}),
      ...(values.model.trim() ? { model: values.model.trim() } : {}),
      ...(values.network_policy ? { network_policy: values.network_policy } : {}),
      ...(values.image ? { image: values.image } : {}),
      ...(Object.keys(limits).length > 0 ? { limits } : {}),
    };
    void create.run(body);
  }

  return (
    <Dialog title="New session" onClose={onClose} initialFocus={nameRef} busy={create.busy} size="large">
      <form ref={formRef} className="form" onSubmit={onSubmit} noValidate>
        <Field label="Name" error={fieldErrors.name}>
          <input
            ref={nameRef}
            name="name"
            className="input"
            value={values.name}
            maxLength={200}
            required
            autoComplete="off"
            onChange={(e) => {
              set("name", e.target.value);
            }}
          />
        </Field>
        <Field
          label="Repository URL"
          optional
          hint="Cloned into the workspace. Leave empty for an empty workspace."
          error={fieldErrors.repository_url}
        >
          <input
            name="repository_url"
            className="input"
            type="url"
            inputMode="url"
            placeholder="https://github.com/acme/app.git"
            autoComplete="off"
            spellCheck={false}
            value={values.repository_url}
            onChange={(e) => {
              set("repository_url", e.target.value);
            }}
          />
        </Field>
        <div className="form-grid">
          <Field
            label="Model"
            optional
            hint={policy.default_model ? `Default: ${policy.default_model}` : undefined}
            error={fieldErrors.model}
          >
            <input
              name="model"
              className="input"
              placeholder={policy.default_model}
              autoComplete="off"
              spellCheck={false}
              value={values.model}
              onChange={(e) => {
                set("model", e.target.value);
              }}
            />
          </Field>
          <Field label="Permission mode" error={fieldErrors.permission_mode}>
            <select
              name="permission_mode"
              className="input"
              value={values.permission_mode}
              onChange={(e) => {
                set("permission_mode", e.target.value as PermissionMode);
              }}
            >
              {PERMISSION_MODES.map((mode) => (
                <option key={mode} value={mode}>
                  {PERMISSION_MODE_LABELS[mode]}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Network policy" error={fieldErrors.network_policy}>
            <select
              name="network_policy"
              className="input"
              value={values.network_policy}
              onChange={(e) => {
                set("network_policy", e.target.value);
              }}
            >
              {networkPolicies.map((p) => (
                <option key={p} value={p}>
                  {NETWORK_POLICY_LABELS[p] ?? p}
                </option>
              ))}
            </select>
          </Field>
          {images.length > 1 ? (
            <Field label="Sandbox image" error={fieldErrors.image}>
              <select
                name="image"
                className="input"
                value={values.image}
                onChange={(e) => {
                  set("image", e.target.value);
                }}
              >
                {images.map((image) => (
                  <option key={image} value={image}>
                    {image}
                  </option>
                ))}
              </select>
            </Field>
          ) : null}
        </div>
        <fieldset className="fieldset">
          <legend>Limits</legend>
          <p className="field-hint">Empty fields take the organisation&apos;s defaults.</p>
          <div className="form-grid">
            {LIMITS.map(({ key, label, unit, max }) => {
              const limit = max(policy);
              return (
                <Field
                  key={key}
                  label={`${label} (${unit})`}
                  optional
                  hint={limit !== undefined ? `At most ${limit}` : undefined}
                  error={fieldErrors[`limits.${key}`]}
                >
                  <input
                    name={`limits.${key}`}
                    className="input"
                    type="number"
                    inputMode="numeric"
                    min={1}
                    max={limit}
                    step={1}
                    value={values.limits[key]}
                    onChange={(e) => {
                      setLimit(key, e.target.value);
                    }}
                  />
                </Field>
              );
            })}
          </div>
        </fieldset>
        <ErrorAlert error={create.error} title="Could not create the session." />
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose} disabled={create.busy}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={create.busy} aria-busy={create.busy}>
            {create.busy ? "Creating…" : "Create session"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
