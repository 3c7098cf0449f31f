// An admin changes a member's role on the members page; the change sticks and the audit log page
// shows it (filtered by action), with its details.

/** @param {import("../lib/harness.mjs").Test} t */
export default async function memberRoleAudit(t) {
  const memberName = t.datum("memberName");
  const memberId = t.datum("memberId");
  const newRole = t.datum("newRole");
  const page = await t.newPage("admin");
  const roleSelect = page.getByLabel(`Role of ${memberName}`);

  await t.step("the admin area opens on the members page", async () => {
    await page.goto("/admin");
    await t.expectPath(page, /^\/admin\/members$/);
    await page.getByRole("heading", { level: 2, name: "Members" }).waitFor();
    await roleSelect.waitFor();
    await t.screenshot(page, "members");
  });

  await t.step(`the member's role becomes ${newRole}`, async () => {
    await roleSelect.selectOption(newRole);
    await page.getByRole("status").filter({ hasText: `${memberName} is now ${newRole}.` }).waitFor({ state: "attached" });
    // It was saved: a reload shows it.
    await page.reload();
    await t.until(`the select to show ${newRole} after a reload`, async () => (await roleSelect.inputValue()) === newRole);
  });

  await t.step("the audit log shows the change", async () => {
    await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Audit log" }).click();
    await t.expectPath(page, /^\/admin\/audit$/);
    await page.getByRole("heading", { level: 2, name: "Audit log" }).waitFor();
    await page.getByLabel("Action").fill("member.*");
    await page.getByRole("button", { name: "Apply filters" }).click();
    const row = page.getByRole("row").filter({ hasText: "member.role_change" }).filter({ hasText: memberId });
    await row.waitFor();
    await row.getByText("Show").click();
    await row.getByText(`"to": "${newRole}"`).waitFor();
    await t.screenshot(page, "audit-log");
  });
}
