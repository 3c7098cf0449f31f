import { describe, expect, it } from "vitest";
import { applyEvents, type ChatItem, type EventsState, gapAt, initialEventsState, pendingApprovals } from "./reducer";
import { parseEvent, parseFrame, type SessionEvent } from "./types";

const TASK = "0190f0aa-0000-7000-8000-000000000001";
const TASK2 = "0190f0aa-0000-7000-8000-000000000002";

/** Flat events as the server sends them, numbered from 1. */
function stream(bodies: Record<string, unknown>[], taskId: string | null = TASK, first = 1): SessionEvent[] {
  return bodies.map((body, i) => {
    const event = parseEvent({
      seq: first + i,
      task_id: taskId,
      at: `2026-01-01T00:00:${String(i).padStart(2, "0")}Z`,
      ...body,
    });
    if (!event) throw new Error("bad fixture");
    return event;
  });
}

function items(state: EventsState, turn = 0): ChatItem[] {
  return state.model.turns[turn]?.items ?? [];
}

const conversation = stream([
  { kind: "task_started", prompt_chars: 5 },
  { kind: "turn_started", model: "claude-sonnet-4-5", permission_mode: "default", cwd: "/workspace", tools: [] },
  { kind: "user_message", text: "Fix the bug\nplease", is_replay: true },
  { kind: "thinking_delta", message_id: "m1", index: 0, text: "Let me " },
  { kind: "thinking_delta", message_id: "m1", index: 0, text: "look." },
  { kind: "text_delta", message_id: "m1", index: 1, text: "Hel" },
  { kind: "text_delta", message_id: "m1", index: 1, text: "lo" },
  {
    kind: "tool_call_started",
    tool_use_id: "tu1",
    name: "Edit",
    message_id: "m1",
    index: 2,
    input: { tool: "edit", file_path: "/workspace/src/a.rs", old_string: "a", new_string: "b", replace_all: false },
  },
  {
    kind: "tool_result",
    tool_use_id: "tu1",
    is_error: false,
    line_count: 1,
    output_bytes: 2,
    output: "ok",
    truncated: false,
  },
  {
    kind: "turn_completed",
    subtype: "success",
    is_error: false,
    duration_ms: 1200,
    cost_usd_turn: 0.01,
    usage: { input_tokens: 10, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    model_calls: 2,
    models: ["claude-sonnet-4-5"],
  },
  { kind: "task_finished", state: "succeeded" },
]);

describe("applyEvents", () => {
  it("builds a turn: prompt, thinking, streamed text per block, tool call joined with its result, stats", () => {
    const state = applyEvents(initialEventsState, conversation);
    expect(state.lastSeq).toBe(conversation.length);
    const turn = state.model.turns[0];
    expect(turn?.taskId).toBe(TASK);
    expect(turn?.prompt).toBe("Fix the bug\nplease");
    expect(turn?.state).toBe("succeeded");
    expect(turn?.model).toBe("claude-sonnet-4-5");
    const [thinking, text, tool, stats] = items(state);
    expect(thinking).toMatchObject({ type: "thinking", text: "Let me look.", streaming: false });
    expect(text).toMatchObject({ type: "text", text: "Hello", streaming: false });
    expect(tool).toMatchObject({
      type: "tool",
      name: "Edit",
      toolUseId: "tu1",
      result: { output: "ok", isError: false, lineCount: 1 },
    });
    expect(stats).toMatchObject({ type: "stats", summary: { duration_ms: 1200, cost_usd_turn: 0.01, model_calls: 2 } });
    expect(items(state)).toHaveLength(4);
    expect(state.model.runningTaskId).toBeNull();
  });

  it("keeps a block streaming until its assistant_block arrives, which replaces the deltas' text", () => {
    let state = applyEvents(initialEventsState, conversation.slice(0, 6));
    expect(items(state)[1]).toMatchObject({ type: "text", text: "Hel", streaming: true });
    state = applyEvents(
      state,
      stream(
        [{ kind: "assistant_block", message_id: "m1", index: 1, block: { type: "text", text: "Hello!" } }],
        TASK,
        7,
      ),
    );
    expect(items(state)[1]).toMatchObject({ type: "text", text: "Hello!", streaming: false });
    expect(items(state)).toHaveLength(2);
  });

  it("applies the same events twice to the same model (replay after a reconnect)", () => {
    const once = applyEvents(initialEventsState, conversation);
    const twice = applyEvents(once, conversation);
    expect(twice).toBe(once);
    // A replay that overlaps: the first half again, then the rest.
    const overlap = applyEvents(applyEvents(initialEventsState, conversation.slice(0, 7)), conversation.slice(3));
    expect(overlap.model).toEqual(once.model);
    expect(overlap.lastSeq).toBe(once.lastSeq);
  });

  it("orders a batch by seq", () => {
    const shuffled = [...conversation].reverse();
    expect(applyEvents(initialEventsState, shuffled).model).toEqual(
      applyEvents(initialEventsState, conversation).model,
    );
  });

  it("holds an event that arrives ahead of a gap and releases it when the gap fills", () => {
    const first = conversation.slice(0, 5);
    const ahead = conversation.slice(6, 8);
    let state = applyEvents(initialEventsState, first);
    state = applyEvents(state, ahead);
    expect(state.lastSeq).toBe(5);
    expect(gapAt(state)).toBe(6);
    expect(items(state).some((i) => i.type === "tool")).toBe(false);

    state = applyEvents(state, conversation.slice(5, 6));
    expect(state.lastSeq).toBe(8);
    expect(gapAt(state)).toBeNull();
    expect(state.held.size).toBe(0);
    expect(items(state)[1]).toMatchObject({ type: "text", text: "Hello" });
    expect(items(state)[2]).toMatchObject({ type: "tool", name: "Edit" });
  });

  it("keeps an unknown kind as a generic item instead of failing", () => {
    const state = applyEvents(
      initialEventsState,
      stream([
        { kind: "hologram_projected", beam: 3 },
        { kind: "text_delta", index: 0 },
      ]),
    );
    expect(state.lastSeq).toBe(2);
    expect(items(state)[0]).toMatchObject({ type: "other", kind: "hologram_projected" });
    // A known kind missing what the chat needs is kept the same way.
    expect(items(state)[1]).toMatchObject({ type: "other", kind: "text_delta" });
  });

  it("joins a permission request with its decision, and shows a withdrawn one as cancelled", () => {
    const approvalId = "0190f0aa-0000-7000-8000-0000000000aa";
    let state = applyEvents(
      initialEventsState,
      stream([
        {
          kind: "permission_requested",
          request_id: "r1",
          tool_name: "Bash",
          input: { tool: "bash", command: "rm -rf build", description: "Clean" },
          tool_use_id: "tu9",
          description: "Clean the build",
          approval_id: approvalId,
        },
        {
          kind: "permission_requested",
          request_id: "r2",
          tool_name: "Write",
          input: { tool: "write", file_path: "x", content: "y" },
        },
      ]),
    );
    expect(pendingApprovals(state.model).map((a) => a.requestId)).toEqual(["r1", "r2"]);
    state = applyEvents(
      state,
      stream(
        [
          {
            kind: "approval_decided",
            approval_id: approvalId,
            request_id: "r1",
            decision: "deny",
            by: "u1",
            via: "web",
            message: "no",
          },
          { kind: "permission_cancelled", request_id: "r2" },
        ],
        TASK,
        3,
      ),
    );
    expect(items(state)[0]).toMatchObject({
      type: "approval",
      approvalId,
      state: "decided",
      decision: { decision: "deny", by: "u1", via: "web", message: "no" },
    });
    expect(items(state)[1]).toMatchObject({ type: "approval", state: "cancelled" });
    expect(pendingApprovals(state.model)).toEqual([]);
  });

  it("tracks the queue, the running task, session state and settings", () => {
    const state = applyEvents(initialEventsState, [
      ...stream(
        [
          {
            kind: "queue_changed",
            queued: [
              { task_id: TASK2, position: 2 },
              { task_id: TASK, position: 1 },
            ],
          },
        ],
        null,
        1,
      ),
      ...stream([{ kind: "task_started" }], TASK, 2),
      ...stream(
        [
          { kind: "session_state_changed", state: "running", reason: null },
          { kind: "session_controlled", action: "set_model", value: "opus" },
        ],
        null,
        3,
      ),
    ]);
    expect(state.model.queue).toEqual([TASK, TASK2]);
    expect(state.model.runningTaskId).toBe(TASK);
    expect(state.model.sessionState).toEqual({ state: "running", reason: null });
    expect(state.model.settings.model).toBe("opus");
    // Events between tasks form their own segment after the task's turn.
    expect(state.model.turns.map((t) => t.taskId)).toEqual([TASK, null]);
  });

  it("derives file change notices (also from Claude's successful edits) and per-turn edits with workspace-relative paths", () => {
    const state = applyEvents(initialEventsState, [
      ...conversation,
      ...stream(
        [
          { kind: "file_changed", path: "src/a.rs", change: { type: "modified" } },
          { kind: "file_changed", path: "b.rs", change: { type: "renamed", from: "a.rs" } },
          {
            kind: "tool_call_started",
            tool_use_id: "tu2",
            name: "MultiEdit",
            input: {
              tool: "other",
              name: "MultiEdit",
              input: { file_path: "/workspace/src/a.rs", edits: [{ old_string: "b", new_string: "c" }] },
            },
          },
          {
            kind: "tool_result",
            tool_use_id: "tu2",
            is_error: true,
            line_count: 1,
            output_bytes: 5,
            output: "nope",
            truncated: false,
          },
        ],
        TASK,
        conversation.length + 1,
      ),
    ]);
    expect(state.model.fileChanges).toEqual([
      // Claude's successful Edit (tu1) is a change file-service never sees; tu2 failed, so no notice.
      { seq: 9, path: "src/a.rs", change: "modified", taskId: TASK },
      { seq: 12, path: "src/a.rs", change: "modified", taskId: TASK },
      { seq: 13, path: "b.rs", change: "renamed", from: "a.rs", taskId: TASK },
    ]);
    expect(state.model.turnFiles).toEqual([
      {
        taskId: TASK,
        title: "Fix the bug",
        files: [
          {
            path: "src/a.rs",
            edits: [
              { toolUseId: "tu1", tool: "Edit", before: "a", after: "b", ok: true },
              { toolUseId: "tu2", tool: "MultiEdit", before: "b", after: "c", ok: false },
            ],
          },
        ],
      },
    ]);
  });

  it("does not change the state it was given", () => {
    const before = applyEvents(initialEventsState, conversation.slice(0, 6));
    const snapshot = structuredClone({ model: before.model, lastSeq: before.lastSeq });
    applyEvents(before, conversation.slice(6));
    expect({ model: before.model, lastSeq: before.lastSeq }).toEqual(snapshot);
  });
});

describe("parseFrame", () => {
  it("reads event frames, error frames and replies to client messages", () => {
    expect(
      parseFrame(
        JSON.stringify({ type: "event", event: { seq: 3, task_id: null, at: "x", kind: "queue_changed", queued: [] } }),
      ),
    ).toMatchObject({ type: "event", event: { seq: 3, kind: "queue_changed" } });
    expect(parseFrame(JSON.stringify({ type: "error", error: { code: "internal", message: "boom" } }))).toEqual({
      type: "error",
      code: "internal",
      message: "boom",
      approvalId: null,
    });
    expect(
      parseFrame(JSON.stringify({ type: "error", error: { code: "conflict", message: "x" }, approval_id: "a1" })),
    ).toMatchObject({
      approvalId: "a1",
    });
    expect(parseFrame("not json")).toBeNull();
    expect(parseFrame(JSON.stringify({ type: "event", event: { kind: "text_delta" } }))).toBeNull();
  });
});
