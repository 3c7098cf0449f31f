// Creating a session in the "New session" dialog: a value the api refuses comes back as a message
// at its field; a valid form creates the session, the app opens it, and its state badge reaches
// "running" once the real sandbox (Docker, sandbox image, Claude Code CLI) has started.

/** How long a cold sandbox may take to start on a loaded 2-core CI machine. */
const START_BOUND_MS = 60_000;

/** @param {import("../lib/harness.mjs").Test} t */
export default async function createSession(t) {
  const name = t.datum("sessionName");
  // The refused create is a 400 on purpose.
  t.allowHttpError(400, /^\/api\/v1\/sessions$/);
  const page = await t.newPage("owner");

  await t.step("the sessions page, empty", async () => {
    await page.goto("/sessions");
    await page.getByRole("heading", { level: 1, name: "Sessions" }).waitFor();
    await page.getByText("No sessions yet.").waitFor();
  });

  const dialog = page.getByRole("dialog", { name: "New session" });
  const memory = dialog.getByLabel(/^Memory \(MB\)/);

  await t.step("the api's validation message shows at the field", async () => {
    await page.getByRole("button", { name: "New session" }).click();
    await dialog.waitFor();
    await dialog.getByLabel(/^Name/).fill(name);
    // A whole number above 0 passes the form's own check; the api's limit is 256 MB or more.
    await memory.fill("100");
    await t.screenshot(page, "create-dialog");
    await dialog.getByRole("button", { name: "Create session" }).click();
    await t.until("the memory field to be marked invalid", async () => (await memory.getAttribute("aria-invalid")) === "true");
    const message = await fieldError(page, memory);
    if (!/between 256 and \d+/.test(message)) throw new Error(`unexpected field message: ${JSON.stringify(message)}`);
    await t.screenshot(page, "create-dialog-error");
  });

  await t.step("a valid form creates the session and opens it", async () => {
    await memory.fill("");
    await t.until("the field error to clear", async () => (await memory.getAttribute("aria-invalid")) === null);
    await dialog.getByRole("button", { name: "Create session" }).click();
    await t.expectPath(page, /^\/sessions\/[0-9a-f-]{36}$/);
    await page.getByRole("heading", { level: 1, name }).waitFor();
  });

  await t.step("the state badge reaches running (the sandbox started)", async () => {
    // The session page re-reads a changing session every few seconds. The badge has no role or
    // label of its own: it is the first state badge in the page's main region.
    const badge = page.getByRole("main").locator(".badge").first();
    await t.until(
      "the session to be running",
      async () => {
        const state = (await badge.textContent())?.trim();
        if (state === "failed") throw new Error("the session failed to start");
        return state === "running";
      },
      START_BOUND_MS,
    );
    await t.screenshot(page, "session-running");
  });

  await t.step("the sessions list shows it running", async () => {
    await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link", { name: "Sessions" }).click();
    const row = page.getByRole("row").filter({ has: page.getByRole("link", { name }) });
    await t.expectText(row.getByRole("cell").nth(1), /^running$/);
    await t.screenshot(page, "sessions-list");
  });
}

/**
 * The error message tied to a control (the element its aria-describedby names `…-error`).
 * @param {import("playwright-core").Page} page
 * @param {import("playwright-core").Locator} control
 */
async function fieldError(page, control) {
  const ids = ((await control.getAttribute("aria-describedby")) ?? "").split(/\s+/);
  const id = ids.find((i) => i.endsWith("-error"));
  if (!id) throw new Error(`the control has no error description (aria-describedby: ${ids.join(" ")})`);
  return (await page.locator(`[id="${id}"]`).textContent()) ?? "";
}
