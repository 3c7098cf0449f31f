/**
 * The session event stream as TypeScript: the flat JSON of `rc-events` (libs/events), where the
 * envelope (`seq`, `task_id`, `at`) and the body (tagged by `kind`) share one object.
 *
 * `parseEvent` never throws on a well-enveloped object: a kind this client does not know, or a
 * known kind whose body lacks what the chat reads, becomes an {@link UnknownEvent}, so a newer
 * server can never break an older tab.
 */

export interface Envelope {
  /** Gap-free position in the session's stream; the resume point after a reconnect. */
  seq: number;
  /** The task that was running; null between tasks. */
  task_id: string | null;
  at: string;
}

export interface TodoItem {
  content: string;
  /** `pending`, `in_progress`, `completed` (kept open: a new status must not hide the list). */
  status: string;
  active_form?: string;
}

/** A tool call's input, parsed server-side for the tools the UI renders specially. */
export type ToolInput =
  | { tool: "bash"; command: string; description?: string | null }
  | { tool: "edit"; file_path: string; old_string: string; new_string: string; replace_all?: boolean }
  | { tool: "write"; file_path: string; content: string }
  | { tool: "read"; file_path: string; offset?: number | null; limit?: number | null }
  | { tool: "todo_write"; todos: TodoItem[] }
  | { tool: "other"; name: string; input: unknown };

export type AssistantContent =
  { type: "text"; text: string } | { type: "thinking"; thinking: string } | { type: "other"; block: unknown };

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export interface TurnSummary {
  subtype: string;
  is_error: boolean;
  terminal_reason?: string | null;
  stop_reason?: string | null;
  duration_ms?: number | null;
  duration_api_ms?: number | null;
  num_turns?: number | null;
  cost_usd_turn?: number | null;
  total_cost_usd?: number | null;
  usage?: Partial<TokenUsage>;
  model_calls?: number;
  models?: string[];
  result?: string | null;
  permission_denials?: { tool_name: string; tool_use_id?: string | null; tool_input?: unknown }[];
  errors?: string[];
  api_error_status?: number | null;
  claude_session_id?: string | null;
  result_index?: number | null;
}

export type TaskOutcome = "succeeded" | "failed" | "cancelled";
export type SessionStatus = "pending" | "starting" | "running" | "stopping" | "stopped" | "failed";
export type ApprovalDecision = "allow" | "always" | "deny";
export type FileChange =
  { type: "created" } | { type: "modified" } | { type: "deleted" } | { type: "renamed"; from: string };

interface ParentLink {
  /** Set on events of a sub-agent (the Task tool call that spawned it). */
  parent_tool_use_id?: string | null;
}

export type TurnStartedEvent = Envelope & {
  kind: "turn_started";
  claude_session_id?: string | null;
  model?: string | null;
  permission_mode?: string | null;
  cwd?: string | null;
  tools?: string[];
  claude_code_version?: string | null;
};
export type TextDeltaEvent = Envelope &
  ParentLink & { kind: "text_delta"; message_id?: string | null; index: number; text: string };
export type ThinkingDeltaEvent = Envelope &
  ParentLink & { kind: "thinking_delta"; message_id?: string | null; index: number; text: string };
export type ToolInputDeltaEvent = Envelope & {
  kind: "tool_input_delta";
  message_id?: string | null;
  index: number;
  tool_use_id?: string | null;
  partial_json: string;
};
export type AssistantBlockEvent = Envelope &
  ParentLink & {
    kind: "assistant_block";
    message_id?: string | null;
    index?: number | null;
    model?: string | null;
    block: AssistantContent;
    aborted?: boolean;
  };
export type ToolCallStartedEvent = Envelope &
  ParentLink & {
    kind: "tool_call_started";
    tool_use_id: string;
    name: string;
    input: ToolInput;
    message_id?: string | null;
    index?: number | null;
  };
export type ToolResultEvent = Envelope &
  ParentLink & {
    kind: "tool_result";
    tool_use_id: string;
    is_error: boolean;
    line_count: number;
    output_bytes: number;
    output: string;
    truncated: boolean;
  };
export type UserMessageEvent = Envelope & {
  kind: "user_message";
  text: string;
  is_replay?: boolean;
  is_synthetic?: boolean;
};
export type PermissionRequestedEvent = Envelope & {
  kind: "permission_requested";
  request_id: string;
  tool_name: string;
  input: ToolInput;
  tool_use_id?: string | null;
  description?: string | null;
  blocked_path?: string | null;
  suggestions?: unknown[];
  approval_id?: string | null;
};
export type PermissionCancelledEvent = Envelope & { kind: "permission_cancelled"; request_id: string };
export type PermissionDeniedEvent = Envelope & {
  kind: "permission_denied";
  tool_name: string;
  tool_use_id?: string | null;
  reason_type?: string | null;
  message?: string | null;
};
export type ApiRetryEvent = Envelope & {
  kind: "api_retry";
  attempt?: number | null;
  max_retries?: number | null;
  retry_delay_ms?: number | null;
  error_status?: number | null;
  error?: string | null;
};
export type TurnCompletedEvent = Envelope & TurnSummary & { kind: "turn_completed" };
export type RawEvent = Envelope & { kind: "raw"; line_type: string; payload: unknown };
export type TaskStartedEvent = Envelope & { kind: "task_started"; prompt_chars?: number };
export type TaskFinishedEvent = Envelope & { kind: "task_finished"; state: TaskOutcome };
export type QueueChangedEvent = Envelope & { kind: "queue_changed"; queued: { task_id: string; position: number }[] };
export type SessionStateChangedEvent = Envelope & {
  kind: "session_state_changed";
  state: SessionStatus;
  reason?: string | null;
};
export type SessionControlledEvent = Envelope & { kind: "session_controlled"; action: string; value?: string | null };
export type ContainerStatsEvent = Envelope & {
  kind: "container_stats";
  cpu_cores: number;
  memory_bytes: number;
  memory_limit_bytes?: number | null;
  network_rx_bytes: number;
  network_tx_bytes: number;
  pids: number;
};
export type FileChangedEvent = Envelope & { kind: "file_changed"; path: string; change: FileChange };
export type ApprovalDecidedEvent = Envelope & {
  kind: "approval_decided";
  approval_id: string;
  request_id: string;
  decision: ApprovalDecision;
  by?: string | null;
  via: string;
  message?: string | null;
};
export type ClaudeExitedEvent = Envelope & { kind: "claude_exited"; code?: number | null; signal?: number | null };
export type OutputLostEvent = Envelope & {
  kind: "output_lost";
  message: string;
  after_seq?: number | null;
  next_seq?: number | null;
};
export type ErrorEvent = Envelope & { kind: "error"; source: string; message: string };

/** A kind this client does not model (or a body it cannot read), kept whole. */
export type UnknownEvent = Envelope & {
  kind: "unknown";
  /** The `kind` the server sent. */
  original_kind: string;
  raw: Record<string, unknown>;
};

export type SessionEvent =
  | TurnStartedEvent
  | TextDeltaEvent
  | ThinkingDeltaEvent
  | ToolInputDeltaEvent
  | AssistantBlockEvent
  | ToolCallStartedEvent
  | ToolResultEvent
  | UserMessageEvent
  | PermissionRequestedEvent
  | PermissionCancelledEvent
  | PermissionDeniedEvent
  | ApiRetryEvent
  | TurnCompletedEvent
  | RawEvent
  | TaskStartedEvent
  | TaskFinishedEvent
  | QueueChangedEvent
  | SessionStateChangedEvent
  | SessionControlledEvent
  | ContainerStatsEvent
  | FileChangedEvent
  | ApprovalDecidedEvent
  | ClaudeExitedEvent
  | OutputLostEvent
  | ErrorEvent
  | UnknownEvent;

export type EventKind = SessionEvent["kind"];

type Check = (o: Record<string, unknown>) => boolean;

const str = (v: unknown): v is string => typeof v === "string";
const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const obj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * What each known kind must carry for the reducer to read it safely. Optional fields are read
 * defensively where used, so only the fields the reducer dereferences unconditionally are listed.
 */
const REQUIRED: Record<Exclude<EventKind, "unknown">, Check> = {
  turn_started: () => true,
  text_delta: (o) => num(o.index) && str(o.text),
  thinking_delta: (o) => num(o.index) && str(o.text),
  tool_input_delta: (o) => num(o.index) && str(o.partial_json),
  assistant_block: (o) => obj(o.block) && str(o.block.type),
  tool_call_started: (o) => str(o.tool_use_id) && str(o.name) && obj(o.input) && str(o.input.tool),
  tool_result: (o) => str(o.tool_use_id) && str(o.output),
  user_message: (o) => str(o.text),
  permission_requested: (o) => str(o.request_id) && str(o.tool_name) && obj(o.input),
  permission_cancelled: (o) => str(o.request_id),
  permission_denied: (o) => str(o.tool_name),
  api_retry: () => true,
  turn_completed: (o) => str(o.subtype),
  raw: (o) => str(o.line_type),
  task_started: () => true,
  task_finished: (o) => str(o.state),
  queue_changed: (o) => Array.isArray(o.queued),
  session_state_changed: (o) => str(o.state),
  session_controlled: (o) => str(o.action),
  container_stats: () => true,
  file_changed: (o) => str(o.path) && obj(o.change) && str(o.change.type),
  approval_decided: (o) => str(o.approval_id) && str(o.request_id) && str(o.decision),
  claude_exited: () => true,
  output_lost: (o) => str(o.message),
  error: (o) => str(o.message),
};

function isKnownKind(kind: string): kind is keyof typeof REQUIRED {
  return Object.prototype.hasOwnProperty.call(REQUIRED, kind);
}

/**
 * Reads one flat event. Returns null only when the envelope itself is unusable (no numeric `seq`
 * or no `kind`): such an object cannot be ordered, so it cannot be applied.
 */
export function parseEvent(value: unknown): SessionEvent | null {
  if (!obj(value) || !num(value.seq) || !str(value.kind)) return null;
  const envelope: Envelope = {
    seq: value.seq,
    task_id: str(value.task_id) ? value.task_id : null,
    at: str(value.at) ? value.at : "",
  };
  const kind = value.kind;
  if (kind !== "unknown" && isKnownKind(kind) && REQUIRED[kind](value)) {
    // The check above covers what the reducer relies on; the rest is the server's contract.
    return { ...value, ...envelope } as unknown as SessionEvent;
  }
  return { ...envelope, kind: "unknown", original_kind: kind, raw: value };
}

/** A server → client frame of the events WebSocket. */
export type ServerFrame =
  | { type: "event"; event: SessionEvent }
  | { type: "error"; code: string; message: string; approvalId: string | null }
  | { type: "other" };

export function parseFrame(text: string): ServerFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!obj(value)) return null;
  if (value.type === "event") {
    const event = parseEvent(value.event);
    return event ? { type: "event", event } : null;
  }
  if (value.type === "error") {
    const error = obj(value.error) ? value.error : {};
    return {
      type: "error",
      code: str(error.code) ? error.code : "error",
      message: str(error.message) ? error.message : "The event feed failed.",
      approvalId: str(value.approval_id) ? value.approval_id : null,
    };
  }
  return { type: "other" };
}
