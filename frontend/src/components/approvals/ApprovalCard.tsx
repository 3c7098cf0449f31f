/**
 * One pending permission request with its decision controls: Yes / Always / No and an optional
 * message. Used by the approvals page and, inline, by the session chat view. It posts the
 * decision itself and tells the parent through `onDecided`; the parent decides whether to drop
 * the card.
 */
import { type ReactNode, useId, useState } from "react";
import { Link } from "react-router";
import { type ApiError, asApiError } from "../../api/client";
import { useApi } from "../../app/auth";
import { ErrorAlert } from "../ErrorAlert";
import { Time } from "../Time";
import { type AlwaysScope, type Decision, type DecisionOutcome, decideApproval, decisionBody } from "./decide";
import { ExpiresIn } from "./ExpiresIn";
import { formatInput, summarizeInput } from "./input";
import "./approvals.css";

export interface ApprovalCardProps {
  approvalId: string;
  sessionId: string;
  toolName: string;
  /** The tool's input exactly as Claude sent it (any JSON). */
  input: unknown;
  /** Claude's own explanation of the call, when it gave one. */
  description?: string;
  /** Owners and admins may make an "Always" apply to the whole organisation. */
  canDecideForOrg: boolean;
  onDecided: (outcome: DecisionOutcome) => void;
  /** Shown as a link to the session (the approvals page lists several sessions). */
  sessionName?: string;
  createdAt?: string;
  expiresAt?: string;
  /** Heading level of the tool name, to fit the surrounding outline (default 2). */
  headingLevel?: 2 | 3 | 4;
  /** False for viewers: the request is shown without controls (the api would answer 403). */
  canDecide?: boolean;
}

const DONE_TEXT: Record<Decision, string> = {
  allow: "Allowed once.",
  always: "Always allowed.",
  deny: "Denied.",
};

export function ApprovalCard({
  approvalId,
  sessionId,
  toolName,
  input,
  description,
  canDecideForOrg,
  onDecided,
  sessionName,
  createdAt,
  expiresAt,
  headingLevel = 2,
  canDecide = true,
}: ApprovalCardProps) {
  const client = useApi();
  const id = useId();
  const [message, setMessage] = useState("");
  const [scope, setScope] = useState<AlwaysScope>("session");
  const [busy, setBusy] = useState<Decision | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const Heading = `h${String(headingLevel)}` as "h2" | "h3" | "h4";
  const headingId = `${id}-title`;
  const summary = summarizeInput(toolName, input);

  async function decide(decision: Decision) {
    setBusy(decision);
    setError(null);
    try {
      // Non-admins never send "organization", whatever state a stale render left behind.
      const body = decisionBody(decision, message, canDecideForOrg ? scope : "session");
      const outcome = await decideApproval(client, approvalId, body);
      setDone(outcome.kind === "decided" ? DONE_TEXT[decision] : "Already decided elsewhere.");
      onDecided(outcome);
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(null);
    }
  }

  const disabled = busy !== null || done !== null;
  const button = (decision: Decision, label: ReactNode, className: string) => (
    <button
      type="button"
      className={`button ${className}`}
      disabled={disabled}
      aria-busy={busy === decision || undefined}
      onClick={() => void decide(decision)}
    >
      {label}
    </button>
  );

  return (
    <article className="approval-card" aria-labelledby={headingId}>
      <header className="approval-card-head">
        <Heading id={headingId} className="approval-card-title">
          <span className="visually-hidden">Permission request:</span> <code>{toolName}</code>
        </Heading>
        {sessionName !== undefined ? (
          <Link className="approval-card-session" to={`/sessions/${sessionId}`}>
            {sessionName}
          </Link>
        ) : null}
      </header>
      {description ? <p className="approval-card-description">{description}</p> : null}
      {summary ? (
        <p className="approval-card-summary">
          <code className="break">{summary}</code>
        </p>
      ) : null}
      <details className="approval-card-input" open={summary === null}>
        <summary>Full input</summary>
        <pre tabIndex={0} aria-label={`Input of ${toolName}`}>
          {formatInput(input)}
        </pre>
      </details>
      {createdAt || expiresAt ? (
        <p className="approval-card-times small muted">
          {createdAt ? (
            <span>
              Requested <Time value={createdAt} />
            </span>
          ) : null}
          {expiresAt ? <ExpiresIn expiresAt={expiresAt} /> : null}
        </p>
      ) : null}

      {done ? (
        <p className="approval-card-done" role="status">
          {done}
        </p>
      ) : !canDecide ? (
        <p className="small muted">Only the session&apos;s owner or an admin can decide.</p>
      ) : (
        <>
          {canDecideForOrg ? (
            <fieldset className="approval-card-scope">
              <legend>“Always” applies to</legend>
              <label className="check">
                <input
                  type="radio"
                  name={`${id}-scope`}
                  value="session"
                  checked={scope === "session"}
                  onChange={() => {
                    setScope("session");
                  }}
                />
                This session
              </label>
              <label className="check">
                <input
                  type="radio"
                  name={`${id}-scope`}
                  value="organization"
                  checked={scope === "organization"}
                  onChange={() => {
                    setScope("organization");
                  }}
                />
                The whole organisation
              </label>
            </fieldset>
          ) : null}
          <div className="approval-card-field">
            <label htmlFor={`${id}-message`} className="field-label">
              Message for Claude <span className="field-optional">(optional, sent with No)</span>
            </label>
            <input
              id={`${id}-message`}
              className="input"
              value={message}
              maxLength={2000}
              disabled={disabled}
              onChange={(event) => {
                setMessage(event.target.value);
              }}
            />
          </div>
          <div className="approval-card-actions" role="group" aria-label={`Decide ${toolName}`}>
            {button("allow", busy === "allow" ? "Allowing…" : "Yes", "button-primary")}
            {button(
              "always",
              busy === "always" ? "Saving…" : canDecideForOrg ? "Always" : "Always (this session)",
              "",
            )}
            {button("deny", busy === "deny" ? "Denying…" : "No", "button-danger-outline")}
          </div>
          <ErrorAlert error={error} title="Could not send the decision." />
        </>
      )}
    </article>
  );
}
