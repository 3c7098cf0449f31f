/**
 * Builds the chat model from the session's event stream. Pure: `applyEvents(state, events)`
 * never mutates `state` and returns the same object when nothing applied.
 *
 * Ordering is by `seq` alone (the server numbers events gap-free):
 * - `seq <= lastSeq` was applied already: dropped, so a replay after a reconnect is harmless;
 * - `seq > lastSeq + 1` arrived ahead of a gap: held until the missing events come, so the model
 *   is always the result of one prefix of the stream.
 *
 * A batch is applied on a private copy (touched turns and indexes are copied once per batch, not
 * once per event), which keeps a long history replay linear.
 */
import type { FileChangeNotice, FileEdit, TurnFileChanges } from "../../pages/session/contracts";
import type {
  ApprovalDecision,
  AssistantBlockEvent,
  SessionEvent,
  SessionStatus,
  TaskOutcome,
  ToolInput,
  TurnSummary,
} from "./types";

export interface ToolResultInfo {
  isError: boolean;
  lineCount: number;
  outputBytes: number;
  output: string;
  truncated: boolean;
}

export interface ApprovalDecisionInfo {
  decision: ApprovalDecision;
  by: string | null;
  via: string;
  message: string | null;
  at: string;
}

interface ItemBase {
  /** Stable React key within the turn. */
  key: string;
  /** The Task tool call of the sub-agent that produced this item, if any. */
  parent: string | null;
}

export type ChatItem =
  | (ItemBase & { type: "user"; text: string; synthetic: boolean })
  | (ItemBase & { type: "text"; text: string; streaming: boolean; aborted: boolean })
  | (ItemBase & { type: "thinking"; text: string; streaming: boolean; aborted: boolean })
  | (ItemBase & {
      type: "tool";
      toolUseId: string | null;
      /** Empty while only streamed input is known. */
      name: string;
      input: ToolInput | null;
      /** The JSON input as the model writes it, before `tool_call_started`. */
      partialInput: string;
      result: ToolResultInfo | null;
    })
  | (ItemBase & {
      type: "approval";
      approvalId: string | null;
      requestId: string;
      toolName: string;
      input: ToolInput;
      toolUseId: string | null;
      description: string | null;
      blockedPath: string | null;
      state: "pending" | "decided" | "cancelled";
      decision: ApprovalDecisionInfo | null;
      at: string;
    })
  | (ItemBase & { type: "stats"; summary: TurnSummary })
  | (ItemBase & { type: "notice"; level: "info" | "warning" | "error"; text: string; at: string })
  | (ItemBase & { type: "other"; kind: string; raw: unknown });

export interface ChatTurn {
  /** The task id, or `system-<seq>` for events between tasks. */
  key: string;
  taskId: string | null;
  /** The prompt as Claude received it (the CLI's replay echo). */
  prompt: string | null;
  state: "running" | TaskOutcome | null;
  model: string | null;
  startedAt: string;
  items: ChatItem[];
}

export interface ChatModel {
  turns: ChatTurn[];
  /** Waiting task ids in run order (from `queue_changed`); null until the first one arrives. */
  queue: string[] | null;
  runningTaskId: string | null;
  sessionState: { state: SessionStatus; reason: string | null } | null;
  /** The model and permission mode last reported by a turn or a session control. */
  settings: { model: string | null; permissionMode: string | null };
  containerStats: Record<string, unknown> | null;
  fileChanges: FileChangeNotice[];
  turnFiles: TurnFileChanges[];
}

interface Indexes {
  turnByTask: ReadonlyMap<string, number>;
  /** `<turn>|<block key>` → item index, for streamed blocks not finished yet. */
  openBlocks: ReadonlyMap<string, number>;
  tools: ReadonlyMap<string, [number, number]>;
  approvals: ReadonlyMap<string, [number, number]>;
  /** Tool use id → the task whose `turnFiles` entry lists it. */
  fileTools: ReadonlyMap<string, string>;
  /** The workspace root reported by the CLI, to make tool paths workspace-relative. */
  cwd: string | null;
}

export interface EventsState {
  /** The highest seq applied; the next connection resumes after it. */
  lastSeq: number;
  /** Events that arrived ahead of a gap, by seq. */
  held: ReadonlyMap<number, SessionEvent>;
  /** How many events were applied (a cheap change counter for consumers). */
  applied: number;
  /** When the last applied event happened (server time); "" before the first. */
  lastAt: string;
  model: ChatModel;
  index: Indexes;
}

export const initialEventsState: EventsState = {
  lastSeq: 0,
  held: new Map(),
  applied: 0,
  lastAt: "",
  model: {
    turns: [],
    queue: null,
    runningTaskId: null,
    sessionState: null,
    settings: { model: null, permissionMode: null },
    containerStats: null,
    fileChanges: [],
    turnFiles: [],
  },
  index: {
    turnByTask: new Map(),
    openBlocks: new Map(),
    tools: new Map(),
    approvals: new Map(),
    fileTools: new Map(),
    cwd: null,
  },
};

/** Held events beyond this many mean the stream is broken, not late; the oldest are dropped. */
const MAX_HELD = 5000;

export function applyEvents(state: EventsState, events: readonly SessionEvent[]): EventsState {
  let held: Map<number, SessionEvent> | null = null;
  const ready: SessionEvent[] = [];
  let next = state.lastSeq + 1;
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  for (const event of sorted) {
    if (event.seq < next) continue;
    if (event.seq === next) {
      ready.push(event);
      next += 1;
      // Whatever waited for this one may follow now.
      while ((held ?? state.held).has(next)) {
        held ??= new Map(state.held);
        const waiting = held.get(next);
        held.delete(next);
        if (waiting) ready.push(waiting);
        next += 1;
      }
    } else {
      held ??= new Map(state.held);
      if (!held.has(event.seq)) held.set(event.seq, event);
    }
  }
  if (held) {
    for (const seq of held.keys()) if (seq < next) held.delete(seq);
    while (held.size > MAX_HELD) {
      const oldest = Math.min(...held.keys());
      held.delete(oldest);
    }
  }
  if (ready.length === 0) {
    return held ? { ...state, held } : state;
  }
  const draft = new Draft(state);
  for (const event of ready) draft.apply(event);
  return {
    lastSeq: next - 1,
    held: held ?? state.held,
    applied: state.applied + ready.length,
    lastAt: ready[ready.length - 1]?.at ?? state.lastAt,
    model: draft.model(),
    index: draft.index,
  };
}

/** The first seq missing before the held events, or null when nothing waits. */
export function gapAt(state: EventsState): number | null {
  return state.held.size > 0 ? state.lastSeq + 1 : null;
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0]?.trim() ?? "";
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

/** The calls of one MultiEdit, when its input has the expected shape. */
function multiEdits(input: unknown): { filePath: string; edits: { old: string; new: string }[] } | null {
  if (typeof input !== "object" || input === null) return null;
  const { file_path: filePath, edits } = input as { file_path?: unknown; edits?: unknown };
  if (typeof filePath !== "string" || !Array.isArray(edits)) return null;
  const parsed: { old: string; new: string }[] = [];
  for (const e of edits as unknown[]) {
    if (typeof e !== "object" || e === null) continue;
    const { old_string: before, new_string: after } = e as { old_string?: unknown; new_string?: unknown };
    parsed.push({ old: typeof before === "string" ? before : "", new: typeof after === "string" ? after : "" });
  }
  return { filePath, edits: parsed };
}

/** {@link Indexes} while a batch is applied: the same fields, writable maps. */
type DraftIndexes = {
  -readonly [K in keyof Indexes]: Indexes[K] extends ReadonlyMap<infer Key, infer Value> ? Map<Key, Value> : Indexes[K];
};

class Draft {
  readonly index: DraftIndexes;
  #turns: ChatTurn[];
  #owned = new Set<ChatTurn>();
  #base: ChatModel;
  #patch: Partial<ChatModel> = {};
  #turnFiles: TurnFileChanges[] | null = null;
  #ownedFiles = new Set<TurnFileChanges>();

  constructor(state: EventsState) {
    this.#base = state.model;
    this.#turns = [...state.model.turns];
    this.index = {
      turnByTask: new Map(state.index.turnByTask),
      openBlocks: new Map(state.index.openBlocks),
      tools: new Map(state.index.tools),
      approvals: new Map(state.index.approvals),
      fileTools: new Map(state.index.fileTools),
      cwd: state.index.cwd,
    };
  }

  model(): ChatModel {
    return { ...this.#base, ...this.#patch, turns: this.#turns, turnFiles: this.#turnFiles ?? this.#base.turnFiles };
  }

  #get<K extends keyof ChatModel>(key: K): ChatModel[K] {
    return this.#patch[key] ?? this.#base[key];
  }

  #set<K extends keyof ChatModel>(key: K, value: ChatModel[K]): void {
    this.#patch[key] = value;
  }

  /** The turn at `i`, copied once per batch so that it may be changed. */
  #turn(i: number): ChatTurn {
    const turn = this.#turns[i];
    if (!turn) throw new Error(`no turn ${i}`);
    if (this.#owned.has(turn)) return turn;
    const copy = { ...turn, items: [...turn.items] };
    this.#turns[i] = copy;
    this.#owned.add(copy);
    return copy;
  }

  /** The index of the turn an event belongs to, creating it when needed. */
  #turnIndexFor(event: SessionEvent): number {
    const taskId = event.task_id;
    if (taskId) {
      const known = this.index.turnByTask.get(taskId);
      if (known !== undefined) return known;
      const turn: ChatTurn = {
        key: taskId,
        taskId,
        prompt: null,
        state: null,
        model: null,
        startedAt: event.at,
        items: [],
      };
      this.#turns.push(turn);
      this.#owned.add(turn);
      const i = this.#turns.length - 1;
      this.index.turnByTask.set(taskId, i);
      return i;
    }
    const last = this.#turns.length - 1;
    if (last >= 0 && this.#turns[last]?.taskId === null) return last;
    const turn: ChatTurn = {
      key: `system-${event.seq}`,
      taskId: null,
      prompt: null,
      state: null,
      model: null,
      startedAt: event.at,
      items: [],
    };
    this.#turns.push(turn);
    this.#owned.add(turn);
    return this.#turns.length - 1;
  }

  #push(event: SessionEvent, item: ChatItem): [number, number] {
    const t = this.#turnIndexFor(event);
    const turn = this.#turn(t);
    turn.items.push(item);
    return [t, turn.items.length - 1];
  }

  #update(t: number, i: number, change: (item: ChatItem) => ChatItem): void {
    const turn = this.#turn(t);
    const item = turn.items[i];
    if (item) turn.items[i] = change(item);
  }

  #notice(event: SessionEvent, level: "info" | "warning" | "error", text: string): void {
    this.#push(event, { type: "notice", key: `n${event.seq}`, parent: null, level, text, at: event.at });
  }

  /** Marks every block of a turn as no longer streaming (the turn or task ended). */
  #settle(t: number): void {
    const turn = this.#turns[t];
    if (!turn?.items.some((i) => (i.type === "text" || i.type === "thinking") && i.streaming)) return;
    const owned = this.#turn(t);
    owned.items = owned.items.map((i) =>
      (i.type === "text" || i.type === "thinking") && i.streaming ? { ...i, streaming: false } : i,
    );
    const prefix = `${t}|`;
    for (const key of [...this.index.openBlocks.keys()]) if (key.startsWith(prefix)) this.index.openBlocks.delete(key);
  }

  #relative(path: string): string {
    const cwd = this.index.cwd;
    if (cwd && path.startsWith(`${cwd.replace(/\/$/, "")}/`)) return path.slice(cwd.replace(/\/$/, "").length + 1);
    return path;
  }

  #files(): TurnFileChanges[] {
    this.#turnFiles ??= [...this.#base.turnFiles];
    return this.#turnFiles;
  }

  #fileTurn(taskId: string, title: string): TurnFileChanges {
    const files = this.#files();
    const i = files.findIndex((f) => f.taskId === taskId);
    if (i < 0) {
      const created: TurnFileChanges = { taskId, title, files: [] };
      files.push(created);
      this.#ownedFiles.add(created);
      return created;
    }
    const existing = files[i];
    if (existing && this.#ownedFiles.has(existing)) return existing;
    if (!existing) throw new Error(`no file turn ${i}`);
    const copy: TurnFileChanges = { ...existing, files: existing.files.map((f) => ({ ...f, edits: [...f.edits] })) };
    files[i] = copy;
    this.#ownedFiles.add(copy);
    return copy;
  }

  #recordEdits(taskId: string | null, turn: ChatTurn, toolUseId: string, name: string, input: ToolInput): void {
    if (!taskId) return;
    const found: { path: string; edit: FileEdit }[] = [];
    if (input.tool === "edit") {
      found.push({
        path: input.file_path,
        edit: { toolUseId, tool: "Edit", before: input.old_string, after: input.new_string, ok: true },
      });
    } else if (input.tool === "write") {
      found.push({
        path: input.file_path,
        edit: { toolUseId, tool: "Write", before: "", after: input.content, ok: true },
      });
    } else if (input.tool === "other" && name === "MultiEdit") {
      const multi = multiEdits(input.input);
      for (const e of multi?.edits ?? []) {
        found.push({
          path: multi?.filePath ?? "",
          edit: { toolUseId, tool: "MultiEdit", before: e.old, after: e.new, ok: true },
        });
      }
    }
    if (found.length === 0) return;
    const entry = this.#fileTurn(taskId, turn.prompt ? firstLine(turn.prompt) : "Turn");
    for (const { path, edit } of found) {
      const rel = this.#relative(path);
      let file = entry.files.find((f) => f.path === rel);
      if (!file) {
        file = { path: rel, edits: [] };
        entry.files.push(file);
      }
      file.edits.push(edit);
    }
    this.index.fileTools.set(toolUseId, taskId);
  }

  #blockItem(
    event: AssistantBlockEvent | SessionEvent,
    type: "text" | "thinking",
    key: string,
    text: string,
    append: boolean,
    aborted: boolean,
  ) {
    const t = this.#turnIndexFor(event);
    const openKey = `${t}|${key}`;
    const open = this.index.openBlocks.get(openKey);
    if (open !== undefined) {
      this.#update(t, open, (item) =>
        item.type === type ? { ...item, text: append ? item.text + text : text, streaming: append, aborted } : item,
      );
      if (!append) this.index.openBlocks.delete(openKey);
      return;
    }
    const parent = "parent_tool_use_id" in event ? (event.parent_tool_use_id ?? null) : null;
    const [, i] = this.#push(event, { type, key: `b${event.seq}`, parent, text, streaming: append, aborted });
    if (append) this.index.openBlocks.set(openKey, i);
  }

  apply(event: SessionEvent): void {
    switch (event.kind) {
      case "turn_started": {
        const t = this.#turnIndexFor(event);
        this.#turn(t).model = event.model ?? null;
        if (event.cwd) this.index.cwd = event.cwd;
        const settings = this.#get("settings");
        this.#set("settings", {
          model: event.model ?? settings.model,
          permissionMode: event.permission_mode ?? settings.permissionMode,
        });
        return;
      }
      case "text_delta":
      case "thinking_delta": {
        const type = event.kind === "text_delta" ? "text" : "thinking";
        const key = `${type}:${event.message_id ?? "-"}:${event.index}:${event.parent_tool_use_id ?? ""}`;
        this.#blockItem(event, type, key, event.text, true, false);
        return;
      }
      case "assistant_block": {
        const { block } = event;
        if (block.type === "text" || block.type === "thinking") {
          const text = block.type === "text" ? block.text : block.thinking;
          if (event.index === null || event.index === undefined) {
            this.#push(event, {
              type: block.type,
              key: `b${event.seq}`,
              parent: event.parent_tool_use_id ?? null,
              text,
              streaming: false,
              aborted: event.aborted ?? false,
            });
            return;
          }
          const key = `${block.type}:${event.message_id ?? "-"}:${event.index}:${event.parent_tool_use_id ?? ""}`;
          this.#blockItem(event, block.type, key, text, false, event.aborted ?? false);
          return;
        }
        this.#push(event, {
          type: "other",
          key: `o${event.seq}`,
          parent: event.parent_tool_use_id ?? null,
          kind: "assistant_block",
          raw: block,
        });
        return;
      }
      case "tool_input_delta": {
        const t = this.#turnIndexFor(event);
        const openKey = `${t}|tool:${event.message_id ?? "-"}:${event.index}`;
        const open =
          this.index.openBlocks.get(openKey) ??
          (event.tool_use_id ? this.index.tools.get(event.tool_use_id)?.[1] : undefined);
        if (open !== undefined) {
          this.#update(t, open, (item) =>
            item.type === "tool" ? { ...item, partialInput: item.partialInput + event.partial_json } : item,
          );
          return;
        }
        const [, i] = this.#push(event, {
          type: "tool",
          key: `t${event.seq}`,
          parent: null,
          toolUseId: event.tool_use_id ?? null,
          name: "",
          input: null,
          partialInput: event.partial_json,
          result: null,
        });
        this.index.openBlocks.set(openKey, i);
        if (event.tool_use_id) this.index.tools.set(event.tool_use_id, [t, i]);
        return;
      }
      case "tool_call_started": {
        const t = this.#turnIndexFor(event);
        const openKey = `${t}|tool:${event.message_id ?? "-"}:${event.index ?? "-"}`;
        const open = this.index.openBlocks.get(openKey);
        const at: [number, number] | undefined =
          this.index.tools.get(event.tool_use_id) ?? (open !== undefined ? [t, open] : undefined);
        this.index.openBlocks.delete(openKey);
        const parent = event.parent_tool_use_id ?? null;
        if (at) {
          this.#update(at[0], at[1], (item) =>
            item.type === "tool"
              ? { ...item, toolUseId: event.tool_use_id, name: event.name, input: event.input, parent }
              : item,
          );
          this.index.tools.set(event.tool_use_id, at);
        } else {
          this.index.tools.set(
            event.tool_use_id,
            this.#push(event, {
              type: "tool",
              key: `t${event.seq}`,
              parent,
              toolUseId: event.tool_use_id,
              name: event.name,
              input: event.input,
              partialInput: "",
              result: null,
            }),
          );
        }
        const turn = this.#turns[this.index.tools.get(event.tool_use_id)?.[0] ?? t];
        if (turn) this.#recordEdits(turn.taskId, turn, event.tool_use_id, event.name, event.input);
        return;
      }
      case "tool_result": {
        const result: ToolResultInfo = {
          isError: event.is_error,
          lineCount: event.line_count,
          outputBytes: event.output_bytes,
          output: event.output,
          truncated: event.truncated,
        };
        const at = this.index.tools.get(event.tool_use_id);
        if (at) {
          this.#update(at[0], at[1], (item) => (item.type === "tool" ? { ...item, result } : item));
        } else {
          // A result without its call (the call was before a trimmed history): still show it.
          this.index.tools.set(
            event.tool_use_id,
            this.#push(event, {
              type: "tool",
              key: `t${event.seq}`,
              parent: event.parent_tool_use_id ?? null,
              toolUseId: event.tool_use_id,
              name: "",
              input: null,
              partialInput: "",
              result,
            }),
          );
        }
        const taskId = this.index.fileTools.get(event.tool_use_id);
        if (taskId && event.is_error) {
          const entry = this.#fileTurn(taskId, "");
          for (const file of entry.files) {
            file.edits = file.edits.map((e) => (e.toolUseId === event.tool_use_id ? { ...e, ok: false } : e));
          }
        } else if (taskId) {
          // Claude's own writes happen inside the sandbox, where file-service does not see them
          // (no file_changed event): the successful Edit/Write result is the change notice.
          const entry = this.#fileTurn(taskId, "");
          const notices: FileChangeNotice[] = entry.files
            .filter((f) => !f.path.startsWith("/") && f.edits.some((e) => e.toolUseId === event.tool_use_id))
            .map((f) => ({ seq: event.seq, path: f.path, change: "modified", taskId: event.task_id }));
          if (notices.length > 0) this.#set("fileChanges", [...this.#get("fileChanges"), ...notices]);
        }
        return;
      }
      case "user_message": {
        const t = this.#turnIndexFor(event);
        const turn = this.#turns[t];
        if (event.is_replay && turn?.prompt === null) {
          this.#turn(t).prompt = event.text;
          if (turn.taskId) {
            const files = this.#turnFiles ?? this.#base.turnFiles;
            if (files.some((f) => f.taskId === turn.taskId))
              this.#fileTurn(turn.taskId, "").title = firstLine(event.text);
          }
          return;
        }
        this.#push(event, {
          type: "user",
          key: `u${event.seq}`,
          parent: null,
          text: event.text,
          synthetic: event.is_synthetic ?? false,
        });
        return;
      }
      case "permission_requested": {
        const at = this.#push(event, {
          type: "approval",
          key: `a${event.seq}`,
          parent: null,
          approvalId: event.approval_id ?? null,
          requestId: event.request_id,
          toolName: event.tool_name,
          input: event.input,
          toolUseId: event.tool_use_id ?? null,
          description: event.description ?? null,
          blockedPath: event.blocked_path ?? null,
          state: "pending",
          decision: null,
          at: event.at,
        });
        this.index.approvals.set(event.request_id, at);
        return;
      }
      case "permission_cancelled": {
        const at = this.index.approvals.get(event.request_id);
        if (at)
          this.#update(at[0], at[1], (item) =>
            item.type === "approval" && item.state === "pending" ? { ...item, state: "cancelled" } : item,
          );
        return;
      }
      case "approval_decided": {
        const at = this.index.approvals.get(event.request_id);
        const decision: ApprovalDecisionInfo = {
          decision: event.decision,
          by: event.by ?? null,
          via: event.via,
          message: event.message ?? null,
          at: event.at,
        };
        if (at) {
          this.#update(at[0], at[1], (item) =>
            item.type === "approval"
              ? { ...item, state: "decided", decision, approvalId: item.approvalId ?? event.approval_id }
              : item,
          );
        } else {
          this.#notice(event, "info", `A permission request was answered: ${event.decision} (via ${event.via}).`);
        }
        return;
      }
      case "permission_denied":
        this.#notice(
          event,
          "warning",
          `${event.tool_name} was refused${event.reason_type ? ` (${event.reason_type})` : ""}${event.message ? `: ${event.message}` : "."}`,
        );
        return;
      case "api_retry": {
        const attempt = event.attempt
          ? ` (attempt ${event.attempt}${event.max_retries ? ` of ${event.max_retries}` : ""})`
          : "";
        const why = event.error ?? (event.error_status ? `HTTP ${event.error_status}` : "an error");
        this.#notice(event, "warning", `The model API failed with ${why}; retrying${attempt}.`);
        return;
      }
      case "turn_completed": {
        const { kind: _kind, seq: _seq, task_id: _task, at: _at, ...summary } = event;
        const t = this.#turnIndexFor(event);
        this.#settle(t);
        this.#push(event, { type: "stats", key: `s${event.seq}`, parent: null, summary });
        return;
      }
      case "raw":
        // CLI lines with nothing typed to say (message_start, status, control responses): a few
        // per model call. They stay in the stored history; in the chat they would only be noise.
        return;
      case "task_started": {
        const t = this.#turnIndexFor(event);
        this.#turn(t).state = "running";
        this.#set("runningTaskId", event.task_id);
        return;
      }
      case "task_finished": {
        const t = this.#turnIndexFor(event);
        this.#settle(t);
        this.#turn(t).state = event.state;
        if (this.#get("runningTaskId") === event.task_id) this.#set("runningTaskId", null);
        return;
      }
      case "queue_changed":
        this.#set(
          "queue",
          [...event.queued].sort((a, b) => a.position - b.position).map((q) => q.task_id),
        );
        return;
      case "session_state_changed":
        this.#set("sessionState", { state: event.state, reason: event.reason ?? null });
        this.#notice(
          event,
          event.state === "failed" ? "error" : "info",
          `Session ${event.state}${event.reason ? `: ${event.reason}` : "."}`,
        );
        return;
      case "session_controlled": {
        const settings = this.#get("settings");
        if (event.action === "set_model") this.#set("settings", { ...settings, model: event.value ?? settings.model });
        if (event.action === "set_permission_mode") {
          this.#set("settings", { ...settings, permissionMode: event.value ?? settings.permissionMode });
        }
        const text: Record<string, string> = {
          clear: "Conversation cleared: the next prompt starts a new conversation.",
          restart: "The sandbox restarted; the conversation continues.",
          set_model: `Model set to ${event.value ?? "the default"}.`,
          set_permission_mode: `Permission mode set to ${event.value ?? "the default"}.`,
        };
        this.#notice(
          event,
          "info",
          text[event.action] ?? `Session control: ${event.action}${event.value ? ` ${event.value}` : ""}.`,
        );
        return;
      }
      case "container_stats": {
        const { kind: _kind, seq: _seq, task_id: _task, ...stats } = event;
        this.#set("containerStats", stats);
        return;
      }
      case "file_changed": {
        const notice: FileChangeNotice = {
          seq: event.seq,
          path: event.path,
          change: event.change.type,
          taskId: event.task_id,
          ...(event.change.type === "renamed" ? { from: event.change.from } : {}),
        };
        this.#set("fileChanges", [...this.#get("fileChanges"), notice]);
        return;
      }
      case "claude_exited": {
        const how = event.signal ? `signal ${event.signal}` : `code ${event.code ?? "unknown"}`;
        this.#notice(
          event,
          event.code === 0 ? "info" : "warning",
          `Claude exited (${how}); it restarts for the next prompt.`,
        );
        return;
      }
      case "output_lost":
        this.#notice(event, "warning", `Some output was lost: ${event.message}`);
        return;
      case "error":
        this.#notice(event, "error", event.message);
        return;
      case "unknown":
        this.#push(event, {
          type: "other",
          key: `o${event.seq}`,
          parent: null,
          kind: event.original_kind,
          raw: event.raw,
        });
        return;
    }
  }
}

/** Approvals still waiting for an answer, oldest first. */
export function pendingApprovals(model: ChatModel): Extract<ChatItem, { type: "approval" }>[] {
  const out: Extract<ChatItem, { type: "approval" }>[] = [];
  for (const turn of model.turns)
    for (const item of turn.items) if (item.type === "approval" && item.state === "pending") out.push(item);
  return out;
}
