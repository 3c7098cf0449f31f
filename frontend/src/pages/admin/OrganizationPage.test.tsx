import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { Organization, OrgPolicy, Role } from "../../api/types";
import { apiError, json, makeMe, makeOrg, ORG_ID, renderApp, stubFetch } from "../../test/helpers";

function orgWith(role: Role, policy: Partial<OrgPolicy> = {}): Organization {
  const base = makeOrg(role);
  return {
    ...base,
    policy: {
      ...base.policy,
      allowed_tools: ["Bash(npm test)"],
      denied_tools: ["WebFetch"],
      egress_allowlist: ["github.com"],
      monthly_budget_micros: 250_000_000,
      ...policy,
    },
  };
}

/** The organisation endpoints plus what the shell and the other admin tabs load. */
function stubOrgApi(org: Organization, patch: (body: unknown) => Response = (body) => json({ ...org, ...(body as object) })) {
  let current = org;
  return stubFetch((request, url) => {
    if (url.pathname === "/api/v1/organization" && request.method === "GET") return json(current);
    if (url.pathname === "/api/v1/organization" && request.method === "PATCH") {
      return (async () => {
        const response = patch(await request.json());
        // Later reads (/me after saving) see the saved organisation.
        if (response.ok) current = (await response.clone().json()) as Organization;
        return response;
      })();
    }
    if (url.pathname === "/api/v1/me") return json(makeMe(org.role, [current]));
    if (url.pathname === "/api/v1/members") return json([]);
    return undefined;
  });
}

async function openAsOwner(org = orgWith("owner"), patch?: (body: unknown) => Response) {
  const requests = stubOrgApi(org, patch);
  const user = userEvent.setup();
  renderApp("/admin/organization", makeMe(org.role, [org]));
  const form = await screen.findByRole("form", { name: "Organisation settings" });
  return { user, form, requests };
}

function patchBodies(requests: Request[]) {
  return Promise.all(requests.filter((r) => r.method === "PATCH").map((r) => r.json() as Promise<unknown>));
}

describe("organisation settings", () => {
  it("loads the organisation and shows its policy", async () => {
    const { form, requests } = await openAsOwner();
    expect(within(form).getByLabelText("Name")).toHaveValue("Acme");
    expect(within(form).getByLabelText("Default model")).toHaveValue("claude-sonnet-4-5");
    expect(within(form).getByLabelText("Memory (MB)")).toHaveValue(4096);
    expect(within(form).getByLabelText("Active sessions per user")).toHaveValue(5);
    expect(within(form).getByLabelText("Idle timeout (seconds)")).toHaveAccessibleDescription("60 to 2,592,000; now 4 h");
    expect(within(form).getByRole("list", { name: "Allowed tools" })).toHaveTextContent("Bash(npm test)");
    expect(within(form).getByRole("list", { name: "Denied tools" })).toHaveTextContent("WebFetch");
    expect(within(form).getByRole("checkbox", { name: /^none/ })).toBeChecked();
    expect(within(form).getByRole("checkbox", { name: /^allowlist/ })).toBeChecked();
    expect(within(form).getByRole("checkbox", { name: /^open/ })).not.toBeChecked();
    expect(within(form).getByLabelText("Monthly model budget (USD)")).toHaveValue("250");
    // Nothing changed yet: nothing to save.
    expect(within(form).getByRole("button", { name: "Save changes" })).toBeDisabled();
    const get = requests.find((r) => new URL(r.url).pathname === "/api/v1/organization");
    expect(get?.headers.get("X-Org-Id")).toBe(ORG_ID);
  });

  it("sends only the name when only the name changed", async () => {
    const { user, form, requests } = await openAsOwner();
    const name = within(form).getByLabelText("Name");
    await user.clear(name);
    await user.type(name, "Acme Labs");
    await user.click(within(form).getByRole("button", { name: "Save changes" }));

    expect(await within(form).findByRole("status")).toHaveTextContent("Organisation settings saved.");
    expect(await patchBodies(requests)).toEqual([{ name: "Acme Labs" }]);
    expect(requests.find((r) => r.method === "PATCH")?.headers.get("X-CSRF-Token")).toBe("csrf-from-me");
    // The rest of the app re-reads the organisation (header, switcher, new-session form).
    await waitFor(() => {
      expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Acme Labs");
    });
    expect(within(form).getByRole("button", { name: "Save changes" })).toBeDisabled();
  });

  it("keeps the stored order of lists, so an untouched policy is not sent", async () => {
    const { user, form, requests } = await openAsOwner(orgWith("owner", { allowed_network_policies: ["allowlist", "none"] }));
    await user.type(within(form).getByLabelText("Name"), "!");
    await user.click(within(form).getByRole("button", { name: "Save changes" }));
    expect(await within(form).findByRole("status")).toHaveTextContent("Organisation settings saved.");
    expect(await patchBodies(requests)).toEqual([{ name: "Acme!" }]);
  });

  it("sends the whole policy, without the name, when a policy field changed", async () => {
    const org = orgWith("owner");
    const { user, form, requests } = await openAsOwner(org);
    const memory = within(form).getByLabelText("Memory (MB)");
    await user.clear(memory);
    await user.type(memory, "8192");
    // Enter in the add box adds the rule rather than submitting the form.
    await user.type(within(form).getByLabelText("Add to allowed tools"), "Bash(cargo test){Enter}");
    await user.click(within(form).getByRole("button", { name: "Remove WebFetch from denied tools" }));
    await user.click(within(form).getByRole("checkbox", { name: /^open/ }));
    const budget = within(form).getByLabelText("Monthly model budget (USD)");
    await user.clear(budget);
    await user.type(budget, "12.5");
    expect(within(form).getByRole("status")).toHaveTextContent("You have unsaved changes.");
    await user.click(within(form).getByRole("button", { name: "Save changes" }));

    expect(await within(form).findByRole("status")).toHaveTextContent("Organisation settings saved.");
    // The api replaces the policy wholesale (left-out fields would reset to defaults).
    expect(await patchBodies(requests)).toEqual([
      {
        policy: {
          ...org.policy,
          max_memory_mb: 8192,
          allowed_tools: ["Bash(npm test)", "Bash(cargo test)"],
          denied_tools: [],
          allowed_network_policies: ["none", "allowlist", "open"],
          monthly_budget_micros: 12_500_000,
        },
      },
    ]);
  });

  it("shows a validation error from the api at the field it names", async () => {
    const { user, form } = await openAsOwner(orgWith("owner"), () =>
      apiError(400, "validation_failed", "policy.max_memory_mb: must be between 256 and 262144", "policy.max_memory_mb"),
    );
    const memory = within(form).getByLabelText("Memory (MB)");
    await user.clear(memory);
    await user.type(memory, "100");
    await user.click(within(form).getByRole("button", { name: "Save changes" }));

    await waitFor(() => {
      expect(memory).toHaveAttribute("aria-invalid", "true");
    });
    expect(memory).toHaveAccessibleDescription("256 to 262,144 must be between 256 and 262144");
    await waitFor(() => {
      expect(memory).toHaveFocus();
    });
    expect(within(form).queryByRole("alert")).not.toBeInTheDocument();
    expect(within(form).getByRole("status")).toHaveTextContent("You have unsaved changes.");

    // Editing the field clears its error.
    await user.type(memory, "0");
    expect(memory).not.toHaveAttribute("aria-invalid");
  });

  it("shows an api error for a list at that list's add box", async () => {
    const { user, form } = await openAsOwner(orgWith("owner"), () =>
      apiError(400, "validation_failed", "policy.allowed_images: must list at least one image name", "policy.allowed_images"),
    );
    await user.click(
      within(form).getByRole("button", { name: "Remove local/claude-sandbox:latest from sandbox images" }),
    );
    await user.click(within(form).getByRole("button", { name: "Save changes" }));
    const add = within(form).getByLabelText("Add to sandbox images");
    await waitFor(() => {
      expect(add).toHaveAccessibleDescription("must list at least one image name");
    });
    expect(add).toHaveAttribute("aria-invalid", "true");
  });

  it("puts errors that name no shown field in the form's alert", async () => {
    const { user, form } = await openAsOwner(orgWith("owner"), () =>
      apiError(403, "forbidden", "managing the organisation needs the owner role"),
    );
    await user.type(within(form).getByLabelText("Default model"), "-latest");
    await user.click(within(form).getByRole("button", { name: "Save changes" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("managing the organisation needs the owner role");
  });

  it("checks tool rules and whole numbers before calling the api", async () => {
    const { user, form, requests } = await openAsOwner();
    const add = within(form).getByLabelText("Add to denied tools");
    await user.type(add, "Bash(npm test){Enter}");
    expect(add).toHaveAccessibleDescription("Already in allowed tools; remove it there first.");
    await user.clear(add);
    expect(add).not.toHaveAttribute("aria-invalid");

    const pids = within(form).getByLabelText("Processes (max PIDs)");
    await user.clear(pids);
    await user.click(within(form).getByRole("button", { name: "Save changes" }));
    expect(pids).toHaveAccessibleDescription("32 to 65,536 Enter a whole number.");
    expect(requests.some((r) => r.method === "PATCH")).toBe(false);
  });

  it("asks before leaving with unsaved changes", async () => {
    const { user, form } = await openAsOwner();
    await user.type(within(form).getByLabelText("Name"), " Inc");
    await user.click(screen.getByRole("link", { name: "Members" }));

    const dialog = screen.getByRole("alertdialog", { name: "Leave without saving?" });
    await user.click(within(dialog).getByRole("button", { name: "Keep editing" }));
    expect(screen.getByLabelText("Name")).toHaveValue("Acme Inc");

    await user.click(screen.getByRole("link", { name: "Members" }));
    await user.click(
      within(screen.getByRole("alertdialog", { name: "Leave without saving?" })).getByRole("button", {
        name: "Discard changes",
      }),
    );
    expect(await screen.findByRole("heading", { level: 2, name: "Members" })).toBeInTheDocument();
  });

  it("leaves without asking when nothing changed", async () => {
    const { user } = await openAsOwner();
    await user.click(screen.getByRole("link", { name: "Members" }));
    expect(await screen.findByRole("heading", { level: 2, name: "Members" })).toBeInTheDocument();
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
  });

  it("shows admins the settings read-only (only owners may change them)", async () => {
    const org = orgWith("admin");
    stubOrgApi(org);
    renderApp("/admin/organization", makeMe("admin", [org]));
    const form = await screen.findByRole("form", { name: "Organisation settings" });
    expect(within(form).getByText(/Only the organisation's owners can change these settings/)).toBeInTheDocument();
    expect(within(form).getByLabelText("Name")).toBeDisabled();
    expect(within(form).getByLabelText("Memory (MB)")).toBeDisabled();
    expect(within(form).getByRole("list", { name: "Allowed tools" })).toHaveTextContent("Bash(npm test)");
    expect(within(form).queryByRole("button", { name: /Save|Remove|Add/ })).not.toBeInTheDocument();
  });
});

describe("organisation nav entry", () => {
  it.each<Role>(["owner", "admin"])("is in the admin navigation for an %s", async (role) => {
    stubOrgApi(orgWith(role));
    renderApp("/admin/members", makeMe(role));
    const nav = await screen.findByRole("navigation", { name: "Admin" });
    expect(within(nav).getByRole("link", { name: "Organisation" })).toHaveAttribute("href", "/admin/organization");
  });

  it.each<Role>(["member", "viewer"])("is out of reach of a %s", async (role) => {
    const requests = stubOrgApi(orgWith(role));
    renderApp("/admin/organization", makeMe(role));
    expect(await screen.findByRole("heading", { name: "Not available" })).toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "Organisation" })).not.toBeInTheDocument();
    expect(screen.queryByRole("form", { name: "Organisation settings" })).not.toBeInTheDocument();
    expect(requests.some((r) => new URL(r.url).pathname === "/api/v1/organization")).toBe(false);
  });
});
