// A viewer sees no admin navigation, and the admin pages refuse them when opened directly (the
// api refuses the data too).

/** @param {import("../lib/harness.mjs").Test} t */
export default async function viewerNoAdmin(t) {
  const page = await t.newPage("viewer");

  await t.step("no Admin in the navigation, no New session", async () => {
    await page.goto("/sessions");
    await page.getByRole("heading", { level: 1, name: "Sessions" }).waitFor();
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Sessions" }).waitFor();
    await nav.getByRole("link", { name: "Usage" }).waitFor();
    if ((await nav.getByRole("link", { name: "Admin" }).count()) > 0) throw new Error("a viewer sees the Admin link");
    if ((await page.getByRole("button", { name: "New session" }).count()) > 0) {
      throw new Error("a viewer sees New session");
    }
    await t.screenshot(page, "sessions-viewer");
  });

  for (const path of ["/admin", "/admin/members", "/admin/audit"]) {
    await t.step(`${path} is refused`, async () => {
      await page.goto(path);
      await page.getByRole("heading", { level: 1, name: "Not available" }).waitFor();
      await page.getByText("The admin area is for organisation owners and admins.").waitFor();
      if ((await page.getByRole("heading", { name: /^(Members|Audit log)$/ }).count()) > 0) {
        throw new Error(`${path} shows admin content to a viewer`);
      }
      if (path === "/admin") await t.screenshot(page, "admin-refused");
    });
  }

  await t.step("the api refuses the admin data too", async () => {
    for (const path of ["/api/v1/audit-logs", "/api/v1/invitations"]) {
      const response = await page.request.get(path);
      if (response.status() !== 403) throw new Error(`${path}: ${response.status()} ${await response.text()}`);
    }
  });
}
