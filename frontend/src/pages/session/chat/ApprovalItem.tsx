/**
 * A permission request in the stream. While pending it is the shared approvals card (the same
 * controls as the approvals page); once the `approval_decided` event arrives, the stream's record
 * replaces it, whoever decided and however (another tab, a link, the timeout).
 */
import { ApprovalCard } from "../../../components/approvals/ApprovalCard";
import type { ChatItem } from "../../../lib/events/reducer";
import type { ToolInput } from "../../../lib/events/types";

type ApprovalItemData = Extract<ChatItem, { type: "approval" }>;

/** The input as Claude sent it: the event carries it parsed and tagged with `tool`. */
export function rawInput(input: ToolInput): unknown {
  if (input.tool === "other") return input.input;
  const { tool: _tool, ...fields } = input;
  return fields;
}

const DECISION_TEXT = { allow: "Allowed once", always: "Always allowed", deny: "Denied" } as const;

export interface ApprovalItemProps {
  item: ApprovalItemData;
  sessionId: string;
  canDecide: boolean;
  canDecideForOrg: boolean;
  names: ReadonlyMap<string, string>;
}

export function ApprovalItem({ item, sessionId, canDecide, canDecideForOrg, names }: ApprovalItemProps) {
  if (item.state === "pending" && canDecide && item.approvalId) {
    return (
      <div className="chat-approval chat-approval-pending">
        <ApprovalCard
          approvalId={item.approvalId}
          sessionId={sessionId}
          toolName={item.toolName}
          input={rawInput(item.input)}
          description={item.description ?? item.blockedPath ?? undefined}
          canDecideForOrg={canDecideForOrg}
          // The decision event updates this item; nothing else to do here.
          onDecided={() => undefined}
          createdAt={item.at}
          headingLevel={3}
        />
      </div>
    );
  }
  let status: string;
  if (item.state === "decided" && item.decision) {
    const { decision, by, via, message } = item.decision;
    const who = by ? (names.get(by) ?? "a member") : null;
    status = `${DECISION_TEXT[decision]}${who ? ` by ${who}` : ""} via ${via}${message ? `: “${message}”` : "."}`;
  } else if (item.state === "cancelled") {
    status = "Withdrawn by Claude before anyone answered.";
  } else {
    status = canDecide
      ? "Waiting for an answer (this request cannot be decided here)."
      : "Waiting for the session's owner or an admin.";
  }
  return (
    <article
      className={`chat-approval chat-approval-${item.state}`}
      aria-label={`Permission request: ${item.toolName}`}
    >
      <p className="chat-approval-head">
        <span aria-hidden="true">⚿</span> Permission for <code>{item.toolName}</code>
      </p>
      {item.description ? <p className="small">{item.description}</p> : null}
      <details>
        <summary>Full input</summary>
        <pre tabIndex={0}>{JSON.stringify(rawInput(item.input), null, 2)}</pre>
      </details>
      <p className={`chat-approval-status chat-approval-status-${item.decision?.decision ?? item.state}`}>{status}</p>
    </article>
  );
}
