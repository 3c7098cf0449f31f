import { memo } from "react";
import { StateBadge } from "../../../components/StateBadge";
import type { ChatItem, ChatTurn } from "../../../lib/events/reducer";
import type { TurnSummary } from "../../../lib/events/types";
import { formatInteger } from "../../../lib/format";
import { ApprovalItem } from "./ApprovalItem";
import { Markdown } from "./Markdown";
import { ToolCard } from "./ToolCard";

const usd = new Intl.NumberFormat(undefined, {
  style: "currency",
  currency: "USD",
  minimumFractionDigits: 2,
  maximumFractionDigits: 4,
});

export function formatMs(ms: number): string {
  if (ms < 1000) return `${formatInteger(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

export function TurnStats({ summary }: { summary: TurnSummary }) {
  const parts: string[] = [];
  if (summary.duration_ms != null) parts.push(formatMs(summary.duration_ms));
  if (summary.cost_usd_turn != null) parts.push(usd.format(summary.cost_usd_turn));
  const usage = summary.usage;
  if (usage) {
    parts.push(`${formatInteger(usage.input_tokens ?? 0)} tokens in`);
    parts.push(`${formatInteger(usage.output_tokens ?? 0)} out`);
    const cached = usage.cache_read_input_tokens ?? 0;
    if (cached) parts.push(`${formatInteger(cached)} cached`);
  }
  if (summary.model_calls != null)
    parts.push(`${formatInteger(summary.model_calls)} model ${summary.model_calls === 1 ? "call" : "calls"}`);
  if (summary.models?.length) parts.push(summary.models.join(", "));
  const failed = summary.is_error;
  return (
    <div className={`turn-stats${failed ? " turn-stats-error" : ""}`}>
      {failed ? (
        <p className="turn-stats-error-text">
          Turn ended with an error ({summary.terminal_reason ?? summary.subtype})
          {summary.errors?.length ? `: ${summary.errors.join("; ")}` : summary.result ? `: ${summary.result}` : "."}
        </p>
      ) : null}
      <p className="small muted" aria-label="Turn statistics">
        {parts.join(" · ")}
      </p>
    </div>
  );
}

interface ItemProps {
  item: ChatItem;
  turnEnded: boolean;
  sessionId: string;
  canWrite: boolean;
  canDecideForOrg: boolean;
  names: ReadonlyMap<string, string>;
}

const Item = memo(function Item({ item, turnEnded, sessionId, canWrite, canDecideForOrg, names }: ItemProps) {
  switch (item.type) {
    case "text":
      return (
        <div className={`chat-text${item.streaming ? " chat-streaming" : ""}`}>
          <Markdown text={item.text} />
          {item.aborted ? <p className="small muted">(interrupted)</p> : null}
        </div>
      );
    case "thinking":
      return (
        <details className="chat-thinking">
          <summary>
            <span aria-hidden="true">✻ </span>
            {item.streaming ? "Thinking…" : "Thinking"}
          </summary>
          <div className="chat-thinking-body">
            <Markdown text={item.text} />
          </div>
        </details>
      );
    case "tool":
      return <ToolCard item={item} turnEnded={turnEnded} />;
    case "approval":
      return (
        <ApprovalItem
          item={item}
          sessionId={sessionId}
          canDecide={canWrite}
          canDecideForOrg={canDecideForOrg}
          names={names}
        />
      );
    case "stats":
      return <TurnStats summary={item.summary} />;
    case "user":
      return <p className={`chat-user-note${item.synthetic ? " muted" : ""}`}>{item.text}</p>;
    case "notice":
      return (
        <p className={`chat-notice chat-notice-${item.level}`} role={item.level === "error" ? "alert" : undefined}>
          {item.text}
        </p>
      );
    case "other":
      return (
        <details className="chat-other small muted">
          <summary>Event: {item.kind}</summary>
          <pre tabIndex={0}>{JSON.stringify(item.raw, null, 2)}</pre>
        </details>
      );
  }
});

export interface TurnViewProps extends Omit<ItemProps, "item" | "turnEnded"> {
  turn: ChatTurn;
  /** Shown when the stream has no echo of the prompt (older events, or the CLI never echoed). */
  fallbackPrompt?: string;
}

export const TurnView = memo(function TurnView({ turn, fallbackPrompt, ...rest }: TurnViewProps) {
  const prompt = turn.prompt ?? fallbackPrompt ?? null;
  const turnEnded = turn.state !== null && turn.state !== "running";
  if (turn.taskId === null) {
    return (
      <li className="chat-turn chat-turn-system">
        {turn.items.map((item) => (
          <Item key={item.key} item={item} turnEnded={turnEnded} {...rest} />
        ))}
      </li>
    );
  }
  return (
    <li className="chat-turn" aria-label={prompt ? `Turn: ${prompt.slice(0, 60)}` : "Turn"}>
      <div className="chat-prompt">
        <div className="chat-prompt-head">
          <span className="visually-hidden">You asked:</span>
          {turn.state ? <StateBadge state={turn.state} /> : null}
          {turn.model ? <span className="small muted mono">{turn.model}</span> : null}
        </div>
        {prompt ? (
          <p className="chat-prompt-text">{prompt}</p>
        ) : (
          <p className="chat-prompt-text muted">(prompt not shown)</p>
        )}
      </div>
      <div className="chat-turn-body">
        {turn.items.map((item) => (
          <div key={item.key} className={item.parent ? "chat-subagent" : undefined}>
            <Item item={item} turnEnded={turnEnded} {...rest} />
          </div>
        ))}
      </div>
    </li>
  );
});
