import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { ChatItem } from "../../../lib/events/reducer";
import { apiError, json, stubFetch } from "../../../test/helpers";
import { ApprovalItem } from "./ApprovalItem";
import { renderWithApi } from "./testUtils";

type Approval = Extract<ChatItem, { type: "approval" }>;
const APPROVAL_ID = "0190f0aa-0000-7000-8000-0000000000aa";

function approval(overrides: Partial<Approval> = {}): Approval {
  return {
    type: "approval",
    key: "a1",
    parent: null,
    approvalId: APPROVAL_ID,
    requestId: "r1",
    toolName: "Bash",
    input: { tool: "bash", command: "rm -rf target", description: "Clean the build" },
    toolUseId: "tu1",
    description: "Claude wants to clean the build",
    blockedPath: null,
    state: "pending",
    decision: null,
    at: "2026-01-01T00:00:00Z",
    ...overrides,
  };
}

const names = new Map([["u1", "Ada Admin"]]);

function stubDecision(response: () => Response) {
  return stubFetch((request, url) => {
    if (url.pathname === `/api/v1/approvals/${APPROVAL_ID}/decision` && request.method === "POST") return response();
    return undefined;
  });
}

describe("inline approval", () => {
  it("shows the tool, the full input without the parser's tag, and the description", () => {
    stubDecision(() => json({}));
    renderWithApi(<ApprovalItem item={approval()} sessionId="s1" canDecide canDecideForOrg={false} names={names} />);
    expect(screen.getByRole("heading", { name: /Bash/ })).toBeInTheDocument();
    expect(screen.getByText("Claude wants to clean the build")).toBeInTheDocument();
    const input = screen.getByLabelText("Input of Bash");
    expect(input).toHaveTextContent('"command": "rm -rf target"');
    expect(input.textContent).not.toContain('"tool"');
    // Members decide for this session only.
    expect(screen.queryByRole("radio", { name: "The whole organisation" })).not.toBeInTheDocument();
  });

  it("posts a denial with its message", async () => {
    const requests = stubDecision(() => json({ id: APPROVAL_ID, state: "denied" }));
    const user = userEvent.setup();
    renderWithApi(<ApprovalItem item={approval()} sessionId="s1" canDecide canDecideForOrg={false} names={names} />);
    await user.type(screen.getByLabelText(/Message for Claude/), "Use cargo clean");
    await user.click(screen.getByRole("button", { name: "No" }));
    await waitFor(() => {
      expect(requests).toHaveLength(1);
    });
    expect(await requests[0]?.json()).toEqual({ decision: "deny", message: "Use cargo clean" });
  });

  it("lets an admin make Always apply to the organisation", async () => {
    const requests = stubDecision(() => json({ id: APPROVAL_ID, state: "allowed" }));
    const user = userEvent.setup();
    renderWithApi(<ApprovalItem item={approval()} sessionId="s1" canDecide canDecideForOrg names={names} />, "admin");
    await user.click(screen.getByRole("radio", { name: "The whole organisation" }));
    await user.click(screen.getByRole("button", { name: "Always" }));
    await waitFor(() => {
      expect(requests).toHaveLength(1);
    });
    expect(await requests[0]?.json()).toEqual({ decision: "always", scope: "organization" });
  });

  it("says so when someone else decided first (409)", async () => {
    stubDecision(() => apiError(409, "conflict", "already allowed via rest"));
    const user = userEvent.setup();
    renderWithApi(<ApprovalItem item={approval()} sessionId="s1" canDecide canDecideForOrg={false} names={names} />);
    await user.click(screen.getByRole("button", { name: "Yes" }));
    expect(await screen.findByText("Already decided elsewhere.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Yes" })).not.toBeInTheDocument();
  });

  it("shows the decision from the approval_decided event: what, who and how", () => {
    renderWithApi(
      <ApprovalItem
        item={approval({
          state: "decided",
          decision: { decision: "always", by: "u1", via: "link", message: null, at: "2026-01-01T00:00:05Z" },
        })}
        sessionId="s1"
        canDecide
        canDecideForOrg={false}
        names={names}
      />,
    );
    expect(screen.getByText("Always allowed by Ada Admin via link.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Yes" })).not.toBeInTheDocument();
  });

  it("offers no buttons to someone who may not decide", () => {
    renderWithApi(
      <ApprovalItem item={approval()} sessionId="s1" canDecide={false} canDecideForOrg={false} names={names} />,
      "viewer",
    );
    expect(screen.queryByRole("button", { name: "Yes" })).not.toBeInTheDocument();
    expect(screen.getByText("Waiting for the session's owner or an admin.")).toBeInTheDocument();
  });
});
