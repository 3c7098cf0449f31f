/**
 * One tool call with its result. The server parses the inputs of the tools shown specially
 * (Bash, Edit, Write, Read, TodoWrite); everything else arrives as `other` and is shown as JSON.
 * Icons are symbols rather than emoji, so they render without an emoji font.
 */
import { memo } from "react";
import type { ChatItem, ToolResultInfo } from "../../../lib/events/reducer";
import type { TodoItem, ToolInput } from "../../../lib/events/types";
import { formatInteger } from "../../../lib/format";

type ToolItem = Extract<ChatItem, { type: "tool" }>;

/** Content longer than this many lines starts collapsed. */
const LONG_LINES = 20;

const ICONS: Record<string, string> = {
  Bash: "⌘",
  Edit: "✎",
  MultiEdit: "✎",
  Write: "✚",
  Read: "▤",
  TodoWrite: "☑",
  Grep: "⌕",
  Glob: "✱",
  WebFetch: "◍",
  WebSearch: "⌕",
  Task: "⚙",
  NotebookEdit: "✎",
};

export function toolIcon(name: string): string {
  return ICONS[name] ?? "⚒";
}

/** The tool's name as the model called it (the parsed input's tag when the event has none). */
function displayName(item: ToolItem): string {
  if (item.name) return item.name;
  const tags: Record<string, string> = {
    bash: "Bash",
    edit: "Edit",
    write: "Write",
    read: "Read",
    todo_write: "TodoWrite",
  };
  if (!item.input) return "Tool";
  return item.input.tool === "other" ? item.input.name : (tags[item.input.tool] ?? "Tool");
}

function lineCount(text: string): number {
  if (!text) return 0;
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

function pretty(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

function plural(n: number, one: string, many: string): string {
  return `${formatInteger(n)} ${n === 1 ? one : many}`;
}

/** A block of code that starts collapsed when long. */
function Collapsible({ label, text, className }: { label: string; text: string; className?: string }) {
  const lines = lineCount(text);
  return (
    <details className="tool-collapsible" open={lines <= LONG_LINES}>
      <summary>
        {label} <span className="muted small">({plural(lines, "line", "lines")})</span>
      </summary>
      <pre className={className} tabIndex={0}>
        {text}
      </pre>
    </details>
  );
}

function Diff({ before, after, replaceAll }: { before: string; after: string; replaceAll?: boolean }) {
  return (
    <div className="tool-diff">
      {replaceAll ? <p className="small muted">Replaces every occurrence.</p> : null}
      <div className="tool-diff-side">
        <p className="tool-diff-label">Before</p>
        <pre className="tool-diff-old" aria-label="Text before the edit" tabIndex={0}>
          {before || "(empty)"}
        </pre>
      </div>
      <div className="tool-diff-side">
        <p className="tool-diff-label">After</p>
        <pre className="tool-diff-new" aria-label="Text after the edit" tabIndex={0}>
          {after || "(empty)"}
        </pre>
      </div>
    </div>
  );
}

const TODO_MARK: Record<string, string> = { completed: "☑", in_progress: "◐", pending: "☐" };
const TODO_LABEL: Record<string, string> = { completed: "done", in_progress: "in progress", pending: "to do" };

function Todos({ todos }: { todos: TodoItem[] }) {
  return (
    <ul className="tool-todos" aria-label="Todo list">
      {todos.map((todo, i) => (
        <li key={i} className={`tool-todo tool-todo-${todo.status}`}>
          <span aria-hidden="true" className="tool-todo-mark">
            {TODO_MARK[todo.status] ?? "•"}
          </span>
          <span>
            {todo.status === "in_progress" && todo.active_form ? todo.active_form : todo.content}
            <span className="visually-hidden"> ({TODO_LABEL[todo.status] ?? todo.status})</span>
          </span>
        </li>
      ))}
    </ul>
  );
}

interface MultiEditInput {
  file_path: string;
  edits: { old_string?: string; new_string?: string; replace_all?: boolean }[];
}

function asMultiEdit(input: unknown): MultiEditInput | null {
  if (typeof input !== "object" || input === null) return null;
  const candidate = input as Partial<MultiEditInput>;
  return typeof candidate.file_path === "string" && Array.isArray(candidate.edits)
    ? (candidate as MultiEditInput)
    : null;
}

/** The one line shown next to the tool's name. */
function summary(name: string, input: ToolInput | null): string | null {
  if (!input) return null;
  switch (input.tool) {
    case "bash":
      return input.description ?? null;
    case "edit":
    case "write":
    case "read":
      return input.file_path;
    case "todo_write": {
      const done = input.todos.filter((t) => t.status === "completed").length;
      return `${formatInteger(done)} of ${plural(input.todos.length, "task", "tasks")} done`;
    }
    case "other": {
      if (name === "MultiEdit") return asMultiEdit(input.input)?.file_path ?? null;
      if (typeof input.input !== "object" || input.input === null) return null;
      const fields = input.input as Record<string, unknown>;
      for (const key of ["pattern", "url", "query", "path", "file_path", "description"]) {
        const value = fields[key];
        if (typeof value === "string" && value) return value;
      }
      return null;
    }
  }
}

function InputView({ name, input, result }: { name: string; input: ToolInput; result: ToolResultInfo | null }) {
  switch (input.tool) {
    case "bash":
      return (
        <pre className="tool-command" aria-label="Command" tabIndex={0}>
          <span aria-hidden="true" className="muted">
            ${" "}
          </span>
          {input.command}
        </pre>
      );
    case "edit":
      return <Diff before={input.old_string} after={input.new_string} replaceAll={input.replace_all} />;
    case "write":
      return <Collapsible label="Content" text={input.content} />;
    case "read": {
      const range =
        input.offset || input.limit
          ? `from line ${formatInteger(input.offset ?? 1)}${input.limit ? `, ${plural(input.limit, "line", "lines")}` : ""}`
          : null;
      return (
        <p className="small muted">
          {result ? `${plural(result.lineCount, "line", "lines")} read` : "Reading…"}
          {range ? ` (${range})` : null}
        </p>
      );
    }
    case "todo_write":
      return <Todos todos={input.todos} />;
    case "other": {
      const multi = name === "MultiEdit" ? asMultiEdit(input.input) : null;
      if (multi) {
        return (
          <ol className="tool-multiedit">
            {multi.edits.map((edit, i) => (
              <li key={i}>
                <Diff before={edit.old_string ?? ""} after={edit.new_string ?? ""} replaceAll={edit.replace_all} />
              </li>
            ))}
          </ol>
        );
      }
      return <Collapsible label="Input" text={pretty(input.input)} />;
    }
  }
}

function ResultView({ result, hideOutput }: { result: ToolResultInfo; hideOutput: boolean }) {
  const lines = plural(result.lineCount, "line", "lines");
  if (hideOutput && !result.isError) return null;
  return (
    <details className={`tool-result${result.isError ? " tool-result-error" : ""}`} open={result.isError}>
      <summary>
        {result.isError ? "Error" : "Output"} <span className="muted small">({lines})</span>
      </summary>
      <pre tabIndex={0}>{result.output || "(no output)"}</pre>
      {result.truncated ? (
        <p className="small muted">
          Output truncated: {formatInteger(result.outputBytes)} bytes in all; the chat shows the first part.
        </p>
      ) : null}
    </details>
  );
}

export const ToolCard = memo(function ToolCard({ item, turnEnded = false }: { item: ToolItem; turnEnded?: boolean }) {
  const name = displayName(item);
  const line = summary(name, item.input);
  // A call still without a result when its turn ended was interrupted; it will not finish.
  const state = item.result ? (item.result.isError ? "failed" : "done") : turnEnded ? "stopped" : "running";
  // Read shows its line count instead of the file's text; the model already has it.
  const hideOutput = item.input?.tool === "read";
  return (
    <article className={`tool-card tool-card-${state}`} aria-label={`Tool call ${name}${line ? `: ${line}` : ""}`}>
      <header className="tool-card-head">
        <span className="tool-card-icon" aria-hidden="true">
          {toolIcon(name)}
        </span>
        <span className="tool-card-name">{name}</span>
        {line ? <span className="tool-card-summary mono break">{line}</span> : null}
        <span className={`tool-card-state tool-card-state-${state}`}>
          {state === "running" ? "running…" : state === "stopped" ? "no result" : state}
        </span>
      </header>
      {item.input ? (
        <InputView name={name} input={item.input} result={item.result} />
      ) : item.partialInput ? (
        <pre className="tool-partial" aria-label="Input being written">
          {item.partialInput}
        </pre>
      ) : null}
      {item.result ? <ResultView result={item.result} hideOutput={hideOutput} /> : null}
    </article>
  );
});
