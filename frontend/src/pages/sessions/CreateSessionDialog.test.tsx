import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { apiError, json, makeMe, makeSession, renderApp, stubFetch } from "../../test/helpers";

function stubSessionsApi(createResponse: () => Response) {
  return stubFetch((request, url) => {
    if (url.pathname === "/api/v1/members") return json([]);
    if (url.pathname === "/api/v1/sessions" && request.method === "GET") return json({ items: [] });
    if (url.pathname === "/api/v1/sessions" && request.method === "POST") return createResponse();
    return undefined;
  });
}

async function openDialog() {
  const user = userEvent.setup();
  renderApp("/sessions", makeMe("member"));
  await user.click(await screen.findByRole("button", { name: "New session" }));
  const dialog = screen.getByRole("dialog", { name: "New session" });
  return { user, dialog };
}

describe("create-session dialog", () => {
  it("shows a validation error from the api at the field it names", async () => {
    const requests = stubSessionsApi(() =>
      apiError(400, "validation_failed", "limits.memory_mb: must be between 64 and 4096", "limits.memory_mb"),
    );
    const { user, dialog } = await openDialog();

    const name = within(dialog).getByLabelText("Name");
    expect(name).toHaveFocus();
    await user.type(name, "Refactor");
    const memory = within(dialog).getByLabelText(/^Memory/);
    await user.type(memory, "999999");
    await user.click(within(dialog).getByRole("button", { name: "Create session" }));

    await waitFor(() => {
      expect(memory).toHaveAttribute("aria-invalid", "true");
    });
    // Shown without the api's "limits.memory_mb: " prefix, which is redundant at the field.
    expect(memory).toHaveAccessibleDescription("At most 4096 must be between 64 and 4096");
    await waitFor(() => {
      expect(memory).toHaveFocus();
    });
    // The message sits at the field, not in the form-level alert; other fields stay valid.
    expect(within(dialog).queryByRole("alert")).not.toBeInTheDocument();
    expect(name).not.toHaveAttribute("aria-invalid");
    expect(screen.getByRole("dialog", { name: "New session" })).toBeInTheDocument();

    const post = requests.find((r) => r.method === "POST");
    expect(post?.headers.get("X-CSRF-Token")).toBe("csrf-from-me");
    expect(await post?.json()).toEqual({
      name: "Refactor",
      permission_mode: "default",
      network_policy: "none",
      image: "local/claude-sandbox:latest",
      limits: { memory_mb: 999999 },
    });

    // Editing the field clears its error.
    await user.clear(memory);
    expect(memory).not.toHaveAttribute("aria-invalid");
  });

  it("shows errors without a matching field in the form's alert", async () => {
    stubSessionsApi(() => apiError(429, "quota_exceeded", "you already have 5 active sessions"));
    const { user, dialog } = await openDialog();
    await user.type(within(dialog).getByLabelText("Name"), "One more");
    await user.click(within(dialog).getByRole("button", { name: "Create session" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("you already have 5 active sessions");
  });

  it("requires a name before calling the api", async () => {
    const requests = stubSessionsApi(() => json(makeSession(), 201));
    const { user, dialog } = await openDialog();
    await user.click(within(dialog).getByRole("button", { name: "Create session" }));
    expect(within(dialog).getByLabelText("Name")).toHaveAccessibleDescription("Enter a name.");
    expect(requests.some((r) => r.method === "POST")).toBe(false);
  });

  it("opens the new session on success", async () => {
    const created = makeSession({ state: "pending", name: "Refactor" });
    stubFetch((request, url) => {
      if (url.pathname === "/api/v1/members") return json([]);
      if (url.pathname === "/api/v1/sessions" && request.method === "GET") return json({ items: [] });
      if (url.pathname === "/api/v1/sessions" && request.method === "POST") return json(created, 201);
      if (url.pathname === `/api/v1/sessions/${created.id}`) return json(created);
      if (url.pathname === `/api/v1/sessions/${created.id}/tasks`) return json({ items: [] });
      return undefined;
    });
    const { user, dialog } = await openDialog();
    await user.type(within(dialog).getByLabelText("Name"), "Refactor");
    await user.click(within(dialog).getByRole("button", { name: "Create session" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Refactor" })).toBeInTheDocument();
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("closes on Escape and keeps Tab inside", async () => {
    stubSessionsApi(() => json(makeSession(), 201));
    const { user, dialog } = await openDialog();
    const create = within(dialog).getByRole("button", { name: "Create session" });
    create.focus();
    await user.tab();
    expect(within(dialog).getByLabelText("Name")).toHaveFocus();
    await user.tab({ shift: true });
    expect(create).toHaveFocus();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "New session" })).toHaveFocus();
  });
});
