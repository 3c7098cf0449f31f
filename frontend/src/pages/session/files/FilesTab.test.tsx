import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { AuthProvider } from "../../../app/auth";
import { apiError, json, makeMe, makeSession, stubFetch } from "../../../test/helpers";
import type { FileChangeNotice, FilesTabProps } from "../contracts";
import { FakeXhr } from "./fakeXhr";
import { FilesTab } from "./FilesTab";

// Monaco cannot run in jsdom: the lazily loaded editors become plain text areas.
vi.mock("./monaco/CodeEditor", () => ({
  default: (props: { value: string; ariaLabel: string; readOnly: boolean; onChange?: (v: string) => void }) => (
    <textarea
      aria-label={props.ariaLabel}
      value={props.value}
      readOnly={props.readOnly}
      onChange={(e) => props.onChange?.(e.target.value)}
    />
  ),
}));
vi.mock("./monaco/DiffView", () => ({
  default: (props: { original: string; modified: string; ariaLabel: string }) => (
    <pre aria-label={props.ariaLabel}>{`${props.original} => ${props.modified}`}</pre>
  ),
}));

const entry = (path: string, kind: "file" | "dir" = "file") => ({
  path,
  name: path.split("/").pop() ?? path,
  kind,
  size: 12,
  mode: 0o644,
  modified_ms: 0,
});

/** The workspace on the fake server; tests change it and watch what the tab asks for. */
let disk: Record<string, { content: string; etag: string }>;
let listings: Record<string, ReturnType<typeof entry>[]>;
let requests: Request[];
let putStatus: number;

beforeEach(() => {
  disk = { "README.md": { content: "hello", etag: "e1" }, "src/main.rs": { content: "fn main() {}", etag: "e2" } };
  listings = {
    "": [entry("README.md"), entry("src", "dir")],
    src: [entry("src/main.rs")],
  };
  putStatus = 200;
  requests = stubFetch(async (request, url) => {
    const path = url.searchParams.get("path") ?? "";
    const op = url.pathname.split("/files")[1];
    if (op === "/tree") {
      const entries = listings[path];
      return entries ? json({ path, entries, truncated: false }) : apiError(404, "not_found", `${path}: not found`);
    }
    if (op === "/stat") {
      const file = disk[path];
      return file ? json({ ...entry(path), etag: file.etag }) : apiError(404, "not_found", "gone");
    }
    if (op === "/content" && request.method === "GET") {
      const file = disk[path];
      return file
        ? new Response(file.content, { headers: { etag: `"${file.etag}"` } })
        : apiError(404, "not_found", "gone");
    }
    if (op === "/content" && request.method === "PUT") {
      if (putStatus === 412) return apiError(412, "precondition_failed", "changed");
      const content = await request.text();
      disk[path] = { content, etag: "saved" };
      return json({ ...entry(path), etag: "saved" }, 200, { etag: '"saved"' });
    }
    if (op === "/create") {
      const body = (await request.json()) as { path: string; kind: "file" | "dir" };
      if (body.kind === "dir") listings[body.path] = [];
      const parent = body.path.includes("/") ? body.path.slice(0, body.path.lastIndexOf("/")) : "";
      listings[parent] = [...(listings[parent] ?? []), entry(body.path, body.kind)];
      return json(entry(body.path, body.kind), 201);
    }
    if (request.method === "DELETE") {
      listings[""] = (listings[""] ?? []).filter((e) => e.path !== path);
      return new Response(null, { status: 204 });
    }
    return apiError(404, "route_not_found", `no stub for ${request.method} ${url.pathname}`);
  });
});

function renderTab(props: Partial<FilesTabProps> = {}) {
  const all: FilesTabProps = {
    session: makeSession(),
    canWrite: true,
    fileChanges: [],
    turns: [],
    ...props,
  };
  const view = render(
    <AuthProvider initialMe={makeMe("owner")}>
      <FilesTab {...all} />
    </AuthProvider>,
  );
  return {
    ...view,
    update: (next: Partial<FilesTabProps>) =>
      view.rerender(
        <AuthProvider initialMe={makeMe("owner")}>
          <FilesTab {...all} {...next} />
        </AuthProvider>,
      ),
  };
}

const treeReads = (dir: string) =>
  requests.filter((r) => {
    const url = new URL(r.url);
    return url.pathname.endsWith("/files/tree") && url.searchParams.get("path") === dir;
  }).length;

const notice = (seq: number, path: string, change: FileChangeNotice["change"]): FileChangeNotice => ({
  seq,
  path,
  change,
  taskId: null,
});

describe("FilesTab tree", () => {
  it("loads folders lazily and expands and collapses them with the keyboard", async () => {
    const user = userEvent.setup();
    renderTab();
    const tree = await screen.findByRole("tree", { name: "Workspace files" });
    const src = within(tree).getByRole("treeitem", { name: "src" });
    expect(src).toHaveAttribute("aria-expanded", "false");
    expect(treeReads("src")).toBe(0);
    // Folders first, so "src" is the tab stop.
    expect(src).toHaveAttribute("tabindex", "0");

    src.focus();
    await user.keyboard("{ArrowRight}");
    expect(await within(tree).findByRole("treeitem", { name: "main.rs" })).toHaveAttribute("aria-level", "2");
    expect(src).toHaveAttribute("aria-expanded", "true");
    expect(treeReads("src")).toBe(1);

    await user.keyboard("{ArrowRight}");
    expect(within(tree).getByRole("treeitem", { name: "main.rs" })).toHaveFocus();
    await user.keyboard("{ArrowLeft}");
    expect(src).toHaveFocus();
    await user.keyboard("{ArrowLeft}");
    expect(src).toHaveAttribute("aria-expanded", "false");
    expect(within(tree).queryByRole("treeitem", { name: "main.rs" })).toBeNull();

    // Opening again uses the listing already read.
    await user.keyboard("{Enter}");
    expect(within(tree).getByRole("treeitem", { name: "main.rs" })).toBeInTheDocument();
    expect(treeReads("src")).toBe(1);

    await user.keyboard("{End}");
    expect(within(tree).getByRole("treeitem", { name: "README.md" })).toHaveFocus();
  });

  it("re-reads the directories that new file_changed events touch, and only listed ones", async () => {
    const user = userEvent.setup();
    const view = renderTab({ fileChanges: [notice(1, "old.txt", "created")] });
    const tree = await screen.findByRole("tree");
    await user.click(within(tree).getByRole("treeitem", { name: "src" }));
    await within(tree).findByRole("treeitem", { name: "main.rs" });
    expect(treeReads("")).toBe(1);
    expect(treeReads("src")).toBe(1);

    listings.src = [entry("src/main.rs"), entry("src/lib.rs")];
    view.update({
      fileChanges: [notice(1, "old.txt", "created"), notice(2, "src/lib.rs", "created"), notice(3, "other/x", "created")],
    });
    expect(await within(tree).findByRole("treeitem", { name: "lib.rs" })).toBeInTheDocument();
    expect(treeReads("src")).toBe(2);
    // Neither the root (only an old notice named it) nor a folder never listed is read.
    expect(treeReads("")).toBe(1);
    expect(treeReads("other")).toBe(0);
  });
});

describe("FilesTab editor", () => {
  it("reloads an open clean file that changed on disk", async () => {
    const user = userEvent.setup();
    const view = renderTab();
    await user.click(await screen.findByRole("treeitem", { name: "README.md" }));
    const editor = await screen.findByRole("textbox", { name: "Contents of README.md" });
    expect(editor).toHaveValue("hello");

    disk["README.md"] = { content: "hello from Claude", etag: "e9" };
    view.update({ fileChanges: [notice(1, "README.md", "modified")] });
    await waitFor(() => expect(screen.getByRole("textbox", { name: "Contents of README.md" })).toHaveValue("hello from Claude"));
    expect(screen.queryByText(/changed on disk/)).toBeNull();
  });

  it("keeps local edits of a dirty file and says it changed on disk", async () => {
    const user = userEvent.setup();
    const view = renderTab();
    await user.click(await screen.findByRole("treeitem", { name: "README.md" }));
    const editor = await screen.findByRole("textbox", { name: "Contents of README.md" });
    await user.type(editor, "!");
    expect(screen.getByText("(unsaved changes)")).toBeInTheDocument();

    disk["README.md"] = { content: "theirs", etag: "e9" };
    view.update({ fileChanges: [notice(1, "README.md", "modified")] });
    expect(await screen.findByText("This file changed on disk while you were editing it.")).toBeInTheDocument();
    expect(editor).toHaveValue("hello!");

    await user.click(screen.getByRole("button", { name: /Reload from disk/ }));
    await waitFor(() => expect(screen.getByRole("textbox", { name: "Contents of README.md" })).toHaveValue("theirs"));
  });

  it("saves with If-Match and, on 412, offers the conflict choices", async () => {
    const user = userEvent.setup();
    renderTab();
    await user.click(await screen.findByRole("treeitem", { name: "README.md" }));
    const editor = await screen.findByRole("textbox", { name: "Contents of README.md" });
    await user.type(editor, "!");
    putStatus = 412;
    await user.keyboard("{Control>}s{/Control}");
    const dialog = await screen.findByRole("alertdialog", { name: "The file changed on disk" });
    const puts = () => requests.filter((r) => r.method === "PUT");
    expect(puts()[0]?.headers.get("If-Match")).toBe('"e1"');

    putStatus = 200;
    await user.click(within(dialog).getByRole("button", { name: "Overwrite with mine" }));
    await waitFor(() => expect(screen.queryByRole("alertdialog")).toBeNull());
    expect(puts()[1]?.headers.has("If-Match")).toBe(false);
    expect(disk["README.md"]?.content).toBe("hello!");
    expect(screen.queryByText("(unsaved changes)")).toBeNull();
  });

  it("asks before discarding unsaved edits when another file is opened", async () => {
    const user = userEvent.setup();
    renderTab();
    await user.click(await screen.findByRole("treeitem", { name: "README.md" }));
    await user.type(await screen.findByRole("textbox", { name: "Contents of README.md" }), "!");
    await user.click(screen.getByRole("treeitem", { name: "src" }));
    await user.click(await screen.findByRole("treeitem", { name: "main.rs" }));
    const confirm = await screen.findByRole("alertdialog", { name: "Discard unsaved changes?" });
    await user.click(within(confirm).getByRole("button", { name: "Keep editing" }));
    expect(screen.getByRole("textbox", { name: "Contents of README.md" })).toHaveValue("hello!");
  });

  it("is read only for viewers", async () => {
    const user = userEvent.setup();
    renderTab({ canWrite: false });
    await user.click(await screen.findByRole("treeitem", { name: "README.md" }));
    const editor = await screen.findByRole("textbox", { name: "Contents of README.md (read only)" });
    expect(editor).toHaveAttribute("readonly");
    expect(screen.queryByRole("button", { name: "Save" })).toBeNull();
    expect(screen.queryByRole("button", { name: "New file" })).toBeNull();
  });
});

describe("FilesTab changes view", () => {
  it("lists a turn's files and shows each edit", async () => {
    const user = userEvent.setup();
    renderTab({
      turns: [
        {
          taskId: "t1",
          title: "Add a greeting",
          files: [
            {
              path: "src/main.rs",
              edits: [{ toolUseId: "u1", tool: "Edit", before: "fn main() {}", after: "fn main() { hi() }", ok: true }],
            },
            { path: "NOTES.md", edits: [{ toolUseId: "u2", tool: "Write", before: "", after: "# Notes", ok: true }] },
          ],
        },
      ],
    });
    await user.click(screen.getByRole("tab", { name: "Changes (1)" }));
    expect(await screen.findByLabelText("Edit 1 of src/main.rs")).toHaveTextContent("fn main() {} => fn main() { hi() }");
    await user.click(screen.getByRole("button", { name: /NOTES\.md/ }));
    expect(await screen.findByRole("textbox", { name: "Write 1 of NOTES.md" })).toHaveValue("# Notes");
    await user.click(screen.getByRole("button", { name: "Open file" }));
    expect(screen.getByRole("tab", { name: "Workspace" })).toHaveAttribute("aria-selected", "true");
  });
});

describe("FilesTab actions", () => {
  it("creates a folder in the selected folder and refreshes it", async () => {
    const user = userEvent.setup();
    renderTab();
    await user.click(await screen.findByRole("treeitem", { name: "src" }));
    await screen.findByRole("treeitem", { name: "main.rs" });
    await user.click(screen.getByRole("button", { name: "New folder" }));
    const dialog = screen.getByRole("dialog", { name: "New folder" });
    expect(within(dialog).getByText("Created in /src. Use / to create inside subfolders.")).toBeInTheDocument();
    await user.type(within(dialog).getByRole("textbox", { name: "Name" }), "../escape");
    await user.click(within(dialog).getByRole("button", { name: "Create" }));
    expect(within(dialog).getByRole("textbox", { name: "Name" })).toHaveAccessibleDescription(/Names may not contain/);
    await user.clear(within(dialog).getByRole("textbox", { name: "Name" }));
    await user.type(within(dialog).getByRole("textbox", { name: "Name" }), "tests");
    await user.click(within(dialog).getByRole("button", { name: "Create" }));
    expect(await screen.findByRole("treeitem", { name: "tests" })).toHaveAttribute("aria-level", "2");
    const create = requests.find((r) => r.method === "POST");
    expect(await create?.json()).toEqual({ path: "src/tests", kind: "dir" });
  });

  it("deletes a folder recursively after confirmation", async () => {
    const user = userEvent.setup();
    renderTab();
    await user.click(await screen.findByRole("treeitem", { name: "src" }));
    await user.click(screen.getByRole("button", { name: "Delete" }));
    const confirm = screen.getByRole("alertdialog", { name: "Delete src?" });
    expect(requests.some((r) => r.method === "DELETE")).toBe(false);
    await user.click(within(confirm).getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(screen.queryByRole("treeitem", { name: "src" })).toBeNull());
    const del = new URL(requests.find((r) => r.method === "DELETE")?.url ?? "");
    expect(del.searchParams.get("path")).toBe("src");
    expect(del.searchParams.get("recursive")).toBe("true");
  });

  it("uploads picked files one by one with progress, and shows the size limit error", async () => {
    FakeXhr.all = [];
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const user = userEvent.setup();
    renderTab();
    await screen.findByRole("tree");
    await user.upload(screen.getByLabelText("Files to upload"), [
      new File(["0123456789"], "a.txt"),
      new File(["x"], "huge.bin"),
    ]);
    // One at a time: the second waits for the first.
    expect(FakeXhr.all).toHaveLength(1);
    const first = FakeXhr.all[0];
    if (!first) throw new Error("no upload");
    act(() => first.upload.onprogress?.(new ProgressEvent("progress", { lengthComputable: true, loaded: 4, total: 10 })));
    expect(screen.getByRole("progressbar", { name: "Upload of a.txt" })).toHaveAttribute("value", "40");
    const rootReads = treeReads("");
    listings[""] = [...(listings[""] ?? []), entry("a.txt")];
    act(() => {
      first.status = 201;
      first.responseText = JSON.stringify({ files: [entry("a.txt")] });
      first.onload?.();
    });
    expect(await screen.findByRole("treeitem", { name: "a.txt" })).toBeInTheDocument();
    expect(treeReads("")).toBe(rootReads + 1);
    await waitFor(() => expect(FakeXhr.all).toHaveLength(2));
    const second = FakeXhr.all[1];
    act(() => {
      if (!second) return;
      second.status = 413;
      second.responseText = JSON.stringify({
        error: { code: "payload_too_large", message: "the upload is larger than the limit of 536870912 bytes" },
      });
      second.onload?.();
    });
    expect(await screen.findByRole("alert")).toHaveTextContent("Failed: the upload is larger than the limit of 536870912 bytes");
  });
});
