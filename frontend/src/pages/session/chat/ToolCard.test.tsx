import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ChatItem, ToolResultInfo } from "../../../lib/events/reducer";
import type { ToolInput } from "../../../lib/events/types";
import { ToolCard } from "./ToolCard";

type ToolItem = Extract<ChatItem, { type: "tool" }>;

function tool(
  name: string,
  input: ToolInput | null,
  result: Partial<ToolResultInfo> | null = null,
  partialInput = "",
): ToolItem {
  return {
    type: "tool",
    key: "t1",
    parent: null,
    toolUseId: "tu1",
    name,
    input,
    partialInput,
    result: result ? { isError: false, lineCount: 1, outputBytes: 10, output: "", truncated: false, ...result } : null,
  };
}

describe("ToolCard", () => {
  it("shows a Bash command with its description and output", () => {
    render(
      <ToolCard
        item={tool(
          "Bash",
          { tool: "bash", command: "cargo test -q", description: "Run the tests" },
          { output: "ok\n3 passed", lineCount: 2 },
        )}
      />,
    );
    const card = screen.getByRole("article", { name: "Tool call Bash: Run the tests" });
    expect(within(card).getByLabelText("Command")).toHaveTextContent("cargo test -q");
    expect(within(card).getByText("Output")).toBeInTheDocument();
    expect(within(card).getByText("(2 lines)")).toBeInTheDocument();
    expect(within(card).getByText(/3 passed/)).toBeInTheDocument();
    expect(within(card).getByText("done")).toBeInTheDocument();
  });

  it("shows an Edit as before and after, noting replace_all", () => {
    render(
      <ToolCard
        item={tool("Edit", {
          tool: "edit",
          file_path: "src/main.rs",
          old_string: "let a = 1;",
          new_string: "let a = 2;",
          replace_all: true,
        })}
      />,
    );
    expect(screen.getByLabelText("Text before the edit")).toHaveTextContent("let a = 1;");
    expect(screen.getByLabelText("Text after the edit")).toHaveTextContent("let a = 2;");
    expect(screen.getByText("Replaces every occurrence.")).toBeInTheDocument();
    expect(screen.getByText("src/main.rs")).toBeInTheDocument();
    expect(screen.getByText("running…")).toBeInTheDocument();
  });

  it("shows each edit of a MultiEdit", () => {
    render(
      <ToolCard
        item={tool("MultiEdit", {
          tool: "other",
          name: "MultiEdit",
          input: {
            file_path: "a.txt",
            edits: [
              { old_string: "one", new_string: "uno" },
              { old_string: "two", new_string: "dos" },
            ],
          },
        })}
      />,
    );
    expect(screen.getAllByLabelText("Text before the edit").map((e) => e.textContent)).toEqual(["one", "two"]);
    expect(screen.getAllByLabelText("Text after the edit").map((e) => e.textContent)).toEqual(["uno", "dos"]);
  });

  it("collapses a long Write and keeps a short one open", () => {
    const long = Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n");
    const { container, rerender } = render(
      <ToolCard item={tool("Write", { tool: "write", file_path: "big.txt", content: long })} />,
    );
    expect(screen.getByText("big.txt")).toBeInTheDocument();
    expect(screen.getByText("(40 lines)")).toBeInTheDocument();
    expect(container.querySelector("details")).not.toHaveAttribute("open");
    rerender(<ToolCard item={tool("Write", { tool: "write", file_path: "small.txt", content: "hi" })} />);
    expect(container.querySelector("details")).toHaveAttribute("open");
  });

  it("shows a Read's path and the line count from its result, not the file", () => {
    render(
      <ToolCard
        item={tool(
          "Read",
          { tool: "read", file_path: "/w/lib.rs", offset: null, limit: null },
          { lineCount: 120, output: "SECRET CONTENT" },
        )}
      />,
    );
    expect(screen.getByText("/w/lib.rs")).toBeInTheDocument();
    expect(screen.getByText("120 lines read")).toBeInTheDocument();
    expect(screen.queryByText("SECRET CONTENT")).not.toBeInTheDocument();
  });

  it("shows a TodoWrite as a checklist with each status", () => {
    render(
      <ToolCard
        item={tool("TodoWrite", {
          tool: "todo_write",
          todos: [
            { content: "Write tests", status: "completed", active_form: "Writing tests" },
            { content: "Fix bug", status: "in_progress", active_form: "Fixing the bug" },
            { content: "Ship", status: "pending" },
          ],
        })}
      />,
    );
    const items = within(screen.getByRole("list", { name: "Todo list" })).getAllByRole("listitem");
    expect(items.map((i) => i.textContent)).toEqual([
      "☑Write tests (done)",
      "◐Fixing the bug (in progress)",
      "☐Ship (to do)",
    ]);
    expect(screen.getByText("1 of 3 tasks done")).toBeInTheDocument();
  });

  it("shows any other tool by name with its JSON input", () => {
    render(<ToolCard item={tool("Grep", { tool: "other", name: "Grep", input: { pattern: "TODO", path: "src" } })} />);
    expect(screen.getByRole("article", { name: "Tool call Grep: TODO" })).toBeInTheDocument();
    expect(screen.getByText(/"path": "src"/)).toBeInTheDocument();
  });

  it("marks a failed result as an error, open, with the truncation note", () => {
    const { container } = render(
      <ToolCard
        item={tool(
          "Bash",
          { tool: "bash", command: "make" },
          { isError: true, output: "make: *** Error 2", truncated: true, outputBytes: 900000 },
        )}
      />,
    );
    expect(screen.getByText("Error")).toBeInTheDocument();
    expect(screen.getByText("failed")).toBeInTheDocument();
    expect(container.querySelector(".tool-result-error")).toHaveAttribute("open");
    expect(screen.getByText(/Output truncated: 900,000 bytes/)).toBeInTheDocument();
  });

  it("says a call has no result once its turn ended without one", () => {
    const item = tool("Bash", { tool: "bash", command: "sleep 100" });
    const { rerender } = render(<ToolCard item={item} />);
    expect(screen.getByText("running…")).toBeInTheDocument();
    rerender(<ToolCard item={item} turnEnded />);
    expect(screen.getByText("no result")).toBeInTheDocument();
  });

  it("shows the input as it streams before the call is complete", () => {
    render(<ToolCard item={tool("", null, null, '{"command": "ls')} />);
    expect(screen.getByLabelText("Input being written")).toHaveTextContent('{"command": "ls');
  });
});
