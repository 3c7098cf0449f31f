// The dev login: the login page's "Dev login" button signs in the local developer account (the
// first user, owner of the default organisation) and lands on the sessions page.

/** @param {import("../lib/harness.mjs").Test} t */
export default async function devLogin(t) {
  // Signed out, the app's profile request is answered 401 before it shows the login page.
  t.allowHttpError(401, /^\/api\/v1\/me$/);
  const page = await t.newPage();

  await t.step("a signed-out visit lands on the login page", async () => {
    await page.goto("/");
    await t.expectPath(page, /^\/login\?return_to=/);
    await page.getByRole("heading", { level: 1, name: /Remote Claude/ }).waitFor();
    await page.getByRole("button", { name: "Dev login" }).waitFor();
    await t.screenshot(page, "login");
  });

  await t.step("Dev login opens the sessions page", async () => {
    await page.getByRole("button", { name: "Dev login" }).click();
    await t.expectPath(page, /^\/sessions$/);
    await page.getByRole("heading", { level: 1, name: "Sessions" }).waitFor();
    // The first user owns the default organisation: they may create sessions and see Admin.
    await page.getByRole("button", { name: "New session" }).waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" }).waitFor();
    await page.getByText("No sessions yet.").waitFor();
    await t.screenshot(page, "sessions-empty");
  });

  await t.step("a session created elsewhere appears without a reload", async () => {
    // As if from another tab or an API client. An empty list does not poll at all, so only the
    // live list (`/api/v1/sessions/changes`) can bring the new row.
    const status = await page.evaluate(async () => {
      const csrf = globalThis.document.cookie
        .split("; ")
        .find((c) => c.startsWith("rc_csrf="))
        ?.slice("rc_csrf=".length);
      const res = await fetch("/api/v1/sessions", {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": decodeURIComponent(csrf ?? "") },
        body: JSON.stringify({ name: "made elsewhere" }),
      });
      return res.status;
    });
    if (status !== 201) throw new Error(`creating a session answered ${status}`);
    const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: "made elsewhere" }) });
    await row.waitFor();
    await t.expectText(row.getByRole("cell").nth(1), /^pending/);
  });
}
