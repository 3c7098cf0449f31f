// The session view against a running sandbox (real Claude Code CLI, scripted model): a reply
// streams into the chat; a Bash tool call waits for approval, is approved with "Yes" and its card
// shows the command's output; `echo` in a Bash terminal; the file the tool wrote is edited in
// Monaco and saved (the Rust test reads it back through the api).

/** Bounds for one turn of the real CLI on a loaded 2-core machine. */
const TURN_BOUND_MS = 60_000;

/** @param {import("../lib/harness.mjs").Test} t */
export default async function sessionView(t) {
  const sessionId = t.datum("sessionId");
  const command = t.datum("command");
  const expectedOutput = t.datum("expectedOutput");
  const file = t.datum("file");
  const addition = t.datum("addition");
  const page = await t.newPage("owner");

  await t.step("the session view opens on the chat", async () => {
    await page.goto(`/sessions/${sessionId}`);
    await page.getByRole("tab", { name: "Chat", selected: true }).waitFor();
    // Loaded: empty, or showing the session's start if its `session_state_changed` event was
    // stored before the page opened (session-manager writes it around the moment the row
    // turns `running`, which is what the test waited for).
    await page
      .getByRole("region", { name: "Conversation" })
      .getByText(/No messages yet|Session running\./)
      .first()
      .waitFor();
  });

  const message = page.getByRole("textbox", { name: "Message" });

  await t.step("a reply streams in", async () => {
    // 30 deltas, 100 ms apart: the text must be seen growing, not only complete.
    await message.fill("stream please [[slow:30:100]]");
    await page.getByRole("button", { name: "Send" }).click();
    const turn = page.getByRole("listitem", { name: /^Turn: stream please/ });
    const body = turn.locator(".chat-turn-body");
    /** @type {Set<number>} */
    const lengths = new Set();
    await t.until(
      "the turn to succeed",
      async () => {
        const text = (await body.textContent().catch(() => null)) ?? "";
        if (text) lengths.add(text.length);
        return (await turn.getByText("succeeded", { exact: true }).count()) > 0;
      },
      TURN_BOUND_MS,
    );
    if (lengths.size < 3) throw new Error(`the reply did not stream (text lengths seen: ${[...lengths].join(", ")})`);
    await t.screenshot(page, "chat-streamed");
  });

  await t.step("a Bash call asks for approval; Yes runs it and its card shows the output", async () => {
    await message.fill(`[[tool:Bash:${command}]]`);
    await page.getByRole("button", { name: "Send" }).click();
    const request = page.getByRole("article", { name: /Permission request: Bash/ });
    await request.waitFor({ timeout: TURN_BOUND_MS });
    await page.getByText("Claude is waiting for approval: Bash.").waitFor();
    await t.screenshot(page, "approval-pending");
    await request.getByRole("button", { name: "Yes" }).click();
    const card = page.getByRole("article", { name: /^Tool call Bash/ });
    await card.getByText("done", { exact: true }).waitFor({ timeout: TURN_BOUND_MS });
    await card.getByText(/^Output/).click();
    await t.expectText(card.locator(".tool-result pre"), new RegExp(`^${expectedOutput}\\s*$`));
    await page.getByText(/Allowed once by .* via /).waitFor();
    await t.screenshot(page, "tool-card");
  });

  await t.step("echo in a Bash terminal", async () => {
    await page.getByRole("tab", { name: "Terminal" }).click();
    await page.getByRole("button", { name: "Open Bash" }).click();
    const input = page.getByRole("textbox", { name: /terminal input$/ });
    await input.waitFor();
    await input.focus();
    // $((40+2)): the expected text appears only in the command's output, not in its echo.
    await page.keyboard.type("echo e2e-$((40+2))\n");
    // xterm.js draws rows as DOM text; it has no accessible output.
    await t.expectText(page.locator(".xterm-rows"), /e2e-42/, TURN_BOUND_MS);
    await t.screenshot(page, "terminal");
  });

  await t.step("edit and save a file in Monaco", async () => {
    await page.getByRole("tab", { name: "Files" }).click();
    await page.getByRole("tree", { name: "Workspace files" }).getByRole("treeitem", { name: file }).click();
    const pane = page.getByRole("region", { name: `Editor: ${file}` });
    // Monaco's own input area; typing goes where its cursor is.
    const editor = pane.locator(".monaco-editor").first();
    await editor.waitFor();
    await t.expectText(editor.locator(".view-lines"), new RegExp(expectedOutput));
    await editor.locator(".view-lines").click();
    await page.keyboard.press("Control+End");
    await page.keyboard.type(addition);
    const save = pane.getByRole("button", { name: "Save" });
    await save.click();
    await t.until("the save to finish", async () => (await pane.getByTitle("Unsaved changes").count()) === 0);
    await t.screenshot(page, "editor-saved");
  });
}
