import { type KeyboardEvent, type SubmitEvent, useCallback, useEffect, useId, useRef, useState } from "react";
import { useNavigate } from "react-router";
import { ApiError, fieldMessage, ORG_HEADER, unwrap } from "../../api/client";
import type { Organization, OrgPolicy } from "../../api/types";
import { useApi, useAuth, useOrg } from "../../app/auth";
import { ConfirmDialog } from "../../components/Dialog";
import { ErrorAlert } from "../../components/ErrorAlert";
import { Field } from "../../components/Field";
import { Loading, PageHeader } from "../../components/Page";
import { formatDuration, formatInteger } from "../../lib/format";
import { useAction, useAsync } from "../../lib/hooks";
import { can } from "../../lib/roles";
import "./organization.css";

/*
 * Organisation settings: `GET /api/v1/organization` and `PATCH /api/v1/organization`.
 *
 * The PATCH replaces the whole policy (`OrgPolicy` fields the body leaves out take their
 * *defaults*, not their current values), so the body carries `name` only when it changed and the
 * complete `policy` only when any policy field changed. Only owners may save (`OrgManage` in
 * libs/auth/src/role.rs); admins see the same form read-only.
 *
 * Every control's `name` is the api's field path (`policy.max_memory_mb`), so a validation
 * error's `field` finds its control.
 */

type NumberKey =
  | "max_sessions_per_user"
  | "max_sessions_per_org"
  | "max_cpu_millis"
  | "max_memory_mb"
  | "max_pids"
  | "max_idle_timeout_secs"
  | "max_duration_secs";

type ListKey = "allowed_images" | "allowed_tools" | "denied_tools" | "egress_allowlist";

interface NumberSpec {
  key: NumberKey;
  label: string;
  /** The api's accepted range (libs/domain/src/orgs.rs `OrgPolicy::validate`), shown as a hint. */
  min: number;
  max: number;
  seconds?: boolean;
}

const SESSION_COUNTS: NumberSpec[] = [
  { key: "max_sessions_per_user", label: "Active sessions per user", min: 0, max: 1000 },
  { key: "max_sessions_per_org", label: "Active sessions in the organisation", min: 0, max: 100_000 },
];

const SANDBOX_LIMITS: NumberSpec[] = [
  { key: "max_cpu_millis", label: "CPU (millicores, 1000 = 1 core)", min: 100, max: 64_000 },
  { key: "max_memory_mb", label: "Memory (MB)", min: 256, max: 262_144 },
  { key: "max_pids", label: "Processes (max PIDs)", min: 32, max: 65_536 },
  { key: "max_idle_timeout_secs", label: "Idle timeout (seconds)", min: 60, max: 30 * 86_400, seconds: true },
  { key: "max_duration_secs", label: "Maximum duration (seconds)", min: 60, max: 30 * 86_400, seconds: true },
];

const NUMBER_KEYS: NumberKey[] = [...SESSION_COUNTS, ...SANDBOX_LIMITS].map((s) => s.key);

const NETWORK_POLICIES = [
  { value: "none", label: "none", description: "no network access" },
  { value: "allowlist", label: "allowlist", description: "only the hosts listed below" },
  { value: "open", label: "open", description: "unrestricted internet" },
] as const;

interface FormValues {
  name: string;
  default_model: string;
  numbers: Record<NumberKey, string>;
  lists: Record<ListKey, string[]>;
  allowed_network_policies: string[];
  /** Dollars as typed; the api stores millionths of a dollar. */
  budget: string;
}

function valuesFrom(org: Organization): FormValues {
  const p = org.policy;
  const numbers = {} as Record<NumberKey, string>;
  for (const key of NUMBER_KEYS) numbers[key] = String(p[key]);
  return {
    name: org.name,
    default_model: p.default_model,
    numbers,
    lists: {
      allowed_images: [...p.allowed_images],
      allowed_tools: [...p.allowed_tools],
      denied_tools: [...p.denied_tools],
      egress_allowlist: [...p.egress_allowlist],
    },
    allowed_network_policies: [...p.allowed_network_policies],
    budget: String(p.monthly_budget_micros / 1_000_000),
  };
}

const EMPTY_DRAFTS: Record<ListKey, string> = {
  allowed_images: "",
  allowed_tools: "",
  denied_tools: "",
  egress_allowlist: "",
};

/** Object equality for policies (flat: primitives and string arrays), ignoring key order. */
function samePolicy(a: OrgPolicy, b: OrgPolicy): boolean {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return JSON.stringify(a, keys) === JSON.stringify(b, keys);
}

/**
 * The policy the form describes, or the errors that keep it from being sent. It starts from the
 * loaded policy so a field this page does not know yet (a newer api) keeps its value.
 */
function buildPolicy(values: FormValues, base: OrgPolicy): { policy: OrgPolicy; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const policy: OrgPolicy = {
    ...base,
    default_model: values.default_model.trim(),
    allowed_images: values.lists.allowed_images,
    allowed_tools: values.lists.allowed_tools,
    denied_tools: values.lists.denied_tools,
    egress_allowlist: values.lists.egress_allowlist,
    // Stored order kept (newly ticked ones go last): the new-session form preselects the first.
    allowed_network_policies: values.allowed_network_policies,
  };
  for (const key of NUMBER_KEYS) {
    const raw = values.numbers[key].trim();
    const n = Number(raw);
    // Ranges are the api's to judge (its message names the field); only non-numbers stop here.
    if (raw === "" || !Number.isSafeInteger(n)) errors[`policy.${key}`] = "Enter a whole number.";
    else policy[key] = n;
  }
  const dollars = Number(values.budget.trim());
  if (values.budget.trim() === "" || !Number.isFinite(dollars) || dollars < 0) {
    errors["policy.monthly_budget_micros"] = "Enter an amount in dollars, 0 for no limit.";
  } else {
    policy.monthly_budget_micros = Math.round(dollars * 1_000_000);
  }
  return { policy, errors };
}

/** Claude Code permission rules: a tool name, optionally with a specifier in brackets. */
const TOOL_RULE = /^[A-Za-z_][\w-]*(\(.+\))?$/s;

function checkListItem(key: ListKey, item: string, lists: Record<ListKey, string[]>): string | null {
  if (lists[key].includes(item)) return "Already in the list.";
  switch (key) {
    case "allowed_tools":
    case "denied_tools": {
      if (!TOOL_RULE.test(item)) return "Write a tool name, optionally with a rule in brackets, e.g. Bash(npm test).";
      const other = key === "allowed_tools" ? "denied_tools" : "allowed_tools";
      if (lists[other].includes(item)) {
        return `Already in ${other === "denied_tools" ? "denied" : "allowed"} tools; remove it there first.`;
      }
      return null;
    }
    case "egress_allowlist":
      return /[\s/]/.test(item) ? "Enter a host name such as github.com, without https:// or a path." : null;
    case "allowed_images":
      return /\s/.test(item) || item.length > 255 ? "Enter an image reference such as registry/image:tag." : null;
  }
}

/**
 * While `dirty`, leaving asks first: the browser's own prompt on reload and tab close, and a
 * dialog for links inside the app. The app uses a declarative <BrowserRouter>, where
 * react-router's `useBlocker` is not available, so link clicks are caught in the capture phase
 * before the router's own handler sees them. Back/forward and the organisation switcher are not
 * covered.
 */
function useLeaveGuard(dirty: boolean) {
  const navigate = useNavigate();
  const [pending, setPending] = useState<string | null>(null);

  useEffect(() => {
    if (!dirty) return;
    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      event.preventDefault();
    };
    const onClick = (event: MouseEvent) => {
      if (event.defaultPrevented || event.button !== 0) return;
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
      if (!(link instanceof HTMLAnchorElement) || link.hasAttribute("download")) return;
      if (link.target && link.target !== "_self") return;
      const url = new URL(link.href, window.location.href);
      if (url.origin !== window.location.origin) return;
      // Same page (the skip link, in-page anchors): nothing is lost.
      if (url.pathname === window.location.pathname && url.search === window.location.search) return;
      event.preventDefault();
      event.stopPropagation();
      setPending(`${url.pathname}${url.search}${url.hash}`);
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    document.addEventListener("click", onClick, true);
    return () => {
      window.removeEventListener("beforeunload", onBeforeUnload);
      document.removeEventListener("click", onClick, true);
    };
  }, [dirty]);

  const dialog = pending ? (
    <ConfirmDialog
      title="Leave without saving?"
      message="Your changes to the organisation settings have not been saved."
      confirmLabel="Discard changes"
      cancelLabel="Keep editing"
      danger
      onConfirm={() => {
        setPending(null);
        void navigate(pending);
      }}
      onCancel={() => {
        setPending(null);
      }}
    />
  ) : null;
  return dialog;
}

export function OrganizationPage() {
  const api = useApi();
  const { id: orgId } = useOrg();
  // Named explicitly (the client would add the same header) so switching organisations
  // reloads, and a late answer for the previous one is told apart below.
  const org = useAsync(
    useCallback(
      (signal: AbortSignal) =>
        unwrap(api.GET("/api/v1/organization", { signal, headers: { [ORG_HEADER]: orgId } })),
      [api, orgId],
    ),
  );
  const data = org.data?.id === orgId ? org.data : undefined;
  return (
    <div>
      <PageHeader title="Organisation" level={2} />
      <ErrorAlert error={org.error} title="Could not load the organisation." onRetry={org.reload} />
      {!data && !org.error ? <Loading label="Loading organisation settings…" /> : null}
      {data ? <OrganizationForm key={data.id} initial={data} /> : null}
    </div>
  );
}

function OrganizationForm({ initial }: { initial: Organization }) {
  const api = useApi();
  const { refresh } = useAuth();
  const [baseline, setBaseline] = useState(initial);
  const [values, setValues] = useState(() => valuesFrom(initial));
  const [drafts, setDrafts] = useState(EMPTY_DRAFTS);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState("");
  const formRef = useRef<HTMLFormElement>(null);
  const editable = can(baseline.role, "org.manage");

  // A typed but not added list entry counts as unsaved too.
  const dirty =
    JSON.stringify(values) !== JSON.stringify(valuesFrom(baseline)) || Object.values(drafts).some((d) => d.trim());
  const leaveDialog = useLeaveGuard(editable && dirty);

  const focusField = useCallback((field: string) => {
    // After the error renders, so the control's description already includes it when focused.
    window.setTimeout(() => {
      controlFor(formRef.current, field)?.focus();
    }, 0);
  }, []);

  const save = useAction(
    useCallback(
      async (body: { name?: string; policy?: OrgPolicy }) => {
        try {
          const updated = await unwrap(api.PATCH("/api/v1/organization", { body }));
          setBaseline(updated);
          setValues(valuesFrom(updated));
          setSaved("Organisation settings saved.");
          // The header, the switcher and the new-session form read the organisation from /me.
          void refresh();
        } catch (error) {
          if (error instanceof ApiError && error.field && controlFor(formRef.current, error.field)) {
            setFieldErrors({ [error.field]: fieldMessage(error) });
            focusField(error.field);
            return;
          }
          throw error;
        }
      },
      [api, refresh, focusField],
    ),
  );

  function edited(field: string) {
    setSaved("");
    setFieldErrors((errors) => {
      if (!(field in errors)) return errors;
      const { [field]: _removed, ...rest } = errors;
      return rest;
    });
  }

  function setValue(key: "name" | "default_model" | "budget", value: string) {
    setValues((v) => ({ ...v, [key]: value }));
    edited(key === "name" ? "name" : key === "budget" ? "policy.monthly_budget_micros" : `policy.${key}`);
  }

  function setNumber(key: NumberKey, value: string) {
    setValues((v) => ({ ...v, numbers: { ...v.numbers, [key]: value } }));
    edited(`policy.${key}`);
  }

  function setList(key: ListKey, items: string[]) {
    setValues((v) => ({ ...v, lists: { ...v.lists, [key]: items } }));
    edited(`policy.${key}`);
  }

  function addToList(key: ListKey) {
    const item = drafts[key].trim();
    if (!item) return;
    const problem = checkListItem(key, item, values.lists);
    if (problem) {
      setFieldErrors((errors) => ({ ...errors, [`policy.${key}`]: problem }));
      return;
    }
    setList(key, [...values.lists[key], item]);
    setDrafts((d) => ({ ...d, [key]: "" }));
  }

  function toggleNetworkPolicy(value: string, on: boolean) {
    setValues((v) => ({
      ...v,
      allowed_network_policies: on
        ? [...v.allowed_network_policies, value]
        : v.allowed_network_policies.filter((p) => p !== value),
    }));
    edited("policy.allowed_network_policies");
  }

  function discard() {
    setValues(valuesFrom(baseline));
    setDrafts(EMPTY_DRAFTS);
    setFieldErrors({});
    save.reset();
  }

  function onSubmit(event: SubmitEvent) {
    event.preventDefault();
    if (!editable) return;
    const { policy, errors } = buildPolicy(values, baseline.policy);
    if (!values.name.trim()) errors.name = "Enter a name.";
    for (const [key, draft] of Object.entries(drafts) as [ListKey, string][]) {
      if (draft.trim()) errors[`policy.${key}`] = "Press Add to include this entry, or clear the field.";
    }
    setFieldErrors(errors);
    const first = Object.keys(errors)[0];
    if (first) {
      focusField(first);
      return;
    }
    const name = values.name.trim();
    const body = {
      ...(name !== baseline.name ? { name } : {}),
      ...(samePolicy(policy, baseline.policy) ? {} : { policy }),
    };
    if (Object.keys(body).length === 0) {
      setSaved("Nothing to save.");
      return;
    }
    void save.run(body);
  }

  const numberField = ({ key, label, min, max, seconds }: NumberSpec) => {
    const n = Number(values.numbers[key]);
    const range = `${formatInteger(min)} to ${formatInteger(max)}`;
    const hint = seconds && Number.isSafeInteger(n) && n > 0 ? `${range}; now ${formatDuration(n)}` : range;
    return (
      <Field key={key} label={label} hint={hint} error={fieldErrors[`policy.${key}`]}>
        <input
          name={`policy.${key}`}
          className="input"
          type="number"
          inputMode="numeric"
          min={min}
          max={max}
          step={1}
          value={values.numbers[key]}
          onChange={(e) => {
            setNumber(key, e.target.value);
          }}
        />
      </Field>
    );
  };

  const listEditor = (key: ListKey, legend: string, hint: string, placeholder: string, ordered = false) => (
    <ListEditor
      name={`policy.${key}`}
      legend={legend}
      hint={hint}
      placeholder={placeholder}
      items={values.lists[key]}
      draft={drafts[key]}
      error={fieldErrors[`policy.${key}`]}
      editable={editable}
      ordered={ordered}
      onDraft={(draft) => {
        setDrafts((d) => ({ ...d, [key]: draft }));
        edited(`policy.${key}`);
      }}
      onAdd={() => {
        addToList(key);
      }}
      onChange={(items) => {
        setList(key, items);
      }}
    />
  );

  return (
    <form ref={formRef} className="form org-form" onSubmit={onSubmit} noValidate aria-label="Organisation settings">
      {editable ? null : (
        <p className="alert alert-info">
          Only the organisation&apos;s owners can change these settings. You can see them as an admin.
        </p>
      )}
      {/* A disabled fieldset disables every control inside it: the read-only view for admins. */}
      <fieldset className="org-fields" disabled={!editable}>
        <legend className="visually-hidden">Settings</legend>
        <section className="card org-section" aria-labelledby="org-general">
          <h3 id="org-general">General</h3>
          <div className="form-grid">
            <Field label="Name" error={fieldErrors.name}>
              <input
                name="name"
                className="input"
                value={values.name}
                maxLength={100}
                autoComplete="off"
                onChange={(e) => {
                  setValue("name", e.target.value);
                }}
              />
            </Field>
            <Field
              label="Default model"
              hint="Used by sessions created without a model."
              error={fieldErrors["policy.default_model"]}
            >
              <input
                name="policy.default_model"
                className="input mono"
                value={values.default_model}
                autoComplete="off"
                spellCheck={false}
                onChange={(e) => {
                  setValue("default_model", e.target.value);
                }}
              />
            </Field>
          </div>
          {listEditor(
            "allowed_images",
            "Sandbox images",
            "Images sessions may use. The first one is the default.",
            "local/claude-sandbox:latest",
            true,
          )}
        </section>

        <section className="card org-section" aria-labelledby="org-limits">
          <h3 id="org-limits">Session limits</h3>
          <p className="field-hint">
            Checked when a session is created: counts cover sessions that are not stopped or failed, and the
            sandbox limits are the most a session may ask for. Existing sessions keep their limits.
          </p>
          <div className="form-grid">{SESSION_COUNTS.map(numberField)}</div>
          <div className="form-grid">{SANDBOX_LIMITS.map(numberField)}</div>
        </section>

        <section className="card org-section" aria-labelledby="org-tools">
          <h3 id="org-tools">Tools policy</h3>
          <p className="field-hint">
            Claude Code permission rules, written into each sandbox&apos;s managed settings when it starts (running
            sessions get changes at their next start). Nothing inside a session can lift a deny rule.
          </p>
          {listEditor("allowed_tools", "Allowed tools", "Claude may use these without asking.", "Bash(npm test)")}
          {listEditor("denied_tools", "Denied tools", "Claude may never use these.", "WebFetch")}
        </section>

        <section className="card org-section" aria-labelledby="org-network">
          <h3 id="org-network">Network policy</h3>
          <NetworkPolicies
            selected={values.allowed_network_policies}
            error={fieldErrors["policy.allowed_network_policies"]}
            onToggle={toggleNetworkPolicy}
          />
          {listEditor(
            "egress_allowlist",
            "Allowed hosts",
            "Hosts that sessions under the allowlist policy can reach.",
            "github.com",
          )}
        </section>

        <section className="card org-section" aria-labelledby="org-budget">
          <h3 id="org-budget">Budgets</h3>
          <Field
            label="Monthly model budget (USD)"
            hint="Model spend of the whole organisation per calendar month (UTC). Requests are refused once it is reached. 0 means no limit."
            error={fieldErrors["policy.monthly_budget_micros"]}
          >
            <input
              name="policy.monthly_budget_micros"
              className="input org-budget"
              type="text"
              inputMode="decimal"
              autoComplete="off"
              value={values.budget}
              onChange={(e) => {
                setValue("budget", e.target.value);
              }}
            />
          </Field>
        </section>
      </fieldset>

      {editable ? (
        <div className="org-actions">
          <ErrorAlert error={save.error} title="Could not save the settings." />
          <div className="org-actions-row">
            <p className="org-status" role="status">
              {saved || (dirty ? "You have unsaved changes." : "")}
            </p>
            <button type="button" className="button" onClick={discard} disabled={!dirty || save.busy}>
              Discard changes
            </button>
            <button
              type="submit"
              className="button button-primary"
              disabled={!dirty || save.busy}
              aria-busy={save.busy}
            >
              {save.busy ? "Saving…" : "Save changes"}
            </button>
          </div>
        </div>
      ) : null}
      {leaveDialog}
    </form>
  );
}

/** The form control named `field` (the first one, for checkbox groups). */
function controlFor(form: HTMLFormElement | null, field: string): HTMLElement | null {
  if (!form) return null;
  for (const element of Array.from(form.elements)) {
    if (element instanceof HTMLElement && element.getAttribute("name") === field) return element;
  }
  return null;
}

function NetworkPolicies({
  selected,
  error,
  onToggle,
}: {
  selected: string[];
  error: string | undefined;
  onToggle: (value: string, on: boolean) => void;
}) {
  const id = useId();
  return (
    <fieldset className="fieldset" aria-describedby={error ? `${id}-error` : `${id}-hint`}>
      <legend>Network policies sessions may use</legend>
      <p id={`${id}-hint`} className="field-hint">
        Sessions created without one (API clients) get none, which fails while none is unticked. The
        new-session form preselects the first allowed one.
      </p>
      {NETWORK_POLICIES.map((p) => (
        <label key={p.value} className="check">
          <input
            type="checkbox"
            name="policy.allowed_network_policies"
            value={p.value}
            checked={selected.includes(p.value)}
            aria-invalid={error ? true : undefined}
            onChange={(e) => {
              onToggle(p.value, e.target.checked);
            }}
          />
          <span>
            <strong>{p.label}</strong>: {p.description}
          </span>
        </label>
      ))}
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}

interface ListEditorProps {
  /** The api's field path; the add box carries it so errors for the list land there. */
  name: string;
  legend: string;
  hint: string;
  placeholder: string;
  items: string[];
  draft: string;
  error: string | undefined;
  editable: boolean;
  /** Order matters (the first is the default): offer "Make default". */
  ordered: boolean;
  onDraft: (draft: string) => void;
  onAdd: () => void;
  onChange: (items: string[]) => void;
}

/** An editable list of strings: one row per entry with Remove, and an Add box below. */
function ListEditor({
  name,
  legend,
  hint,
  placeholder,
  items,
  draft,
  error,
  editable,
  ordered,
  onDraft,
  onAdd,
  onChange,
}: ListEditorProps) {
  const id = useId();
  const inputRef = useRef<HTMLInputElement>(null);
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    // Enter adds the entry instead of submitting the whole form.
    if (event.key === "Enter") {
      event.preventDefault();
      onAdd();
    }
  }

  return (
    <fieldset className="fieldset org-list" aria-describedby={hintId}>
      <legend>{legend}</legend>
      <p id={hintId} className="field-hint">
        {hint}
      </p>
      {items.length === 0 ? (
        <p className="muted org-list-empty">None.</p>
      ) : (
        <ul className="org-list-items" aria-label={legend}>
          {items.map((item, index) => (
            <li key={item}>
              <code className="org-list-value">{item}</code>
              {ordered && index === 0 ? <span className="badge badge-neutral">default</span> : null}
              {editable ? (
                <span className="org-list-actions">
                  {ordered && index > 0 ? (
                    <button
                      type="button"
                      className="button button-small"
                      aria-label={`Make ${item} the default`}
                      onClick={() => {
                        onChange([item, ...items.filter((i) => i !== item)]);
                      }}
                    >
                      Make default
                    </button>
                  ) : null}
                  <button
                    type="button"
                    className="button button-small button-danger-outline"
                    aria-label={`Remove ${item} from ${legend.toLowerCase()}`}
                    onClick={() => {
                      onChange(items.filter((i) => i !== item));
                      // The button is gone; keep focus in the list's own controls.
                      inputRef.current?.focus();
                    }}
                  >
                    Remove
                  </button>
                </span>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {editable ? (
        <div className="org-list-add">
          <input
            ref={inputRef}
            name={name}
            className="input mono"
            aria-label={`Add to ${legend.toLowerCase()}`}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : undefined}
            placeholder={placeholder}
            autoComplete="off"
            spellCheck={false}
            value={draft}
            onChange={(e) => {
              onDraft(e.target.value);
            }}
            onKeyDown={onKeyDown}
          />
          <button type="button" className="button" onClick={onAdd} disabled={!draft.trim()}>
            Add
          </button>
        </div>
      ) : null}
      {error ? (
        <p id={errorId} className="field-error">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
