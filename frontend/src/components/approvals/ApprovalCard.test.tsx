import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { describe, expect, it, vi } from "vitest";
import type { Role } from "../../api/types";
import { isAdmin } from "../../lib/roles";
import { AuthProvider } from "../../app/auth";
import { apiError, json, makeMe, stubFetch } from "../../test/helpers";
import { ApprovalCard } from "./ApprovalCard";
import type { DecisionOutcome } from "./decide";
import { formatRemaining } from "./ExpiresIn";

const APPROVAL_ID = "11111111-2222-4333-8444-555555555555";
const SESSION_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

function approvalJson(decision: string) {
  return {
    id: APPROVAL_ID,
    session_id: SESSION_ID,
    tool_name: "Bash",
    input: { command: "rm -rf build" },
    state: decision === "deny" ? "denied" : "allowed",
    decision,
    created_at: "2025-01-02T10:00:00Z",
    expires_at: "2025-01-02T10:10:00Z",
  };
}

function renderCard(role: Role, onDecided = vi.fn<(o: DecisionOutcome) => void>()) {
  render(
    <MemoryRouter>
      <AuthProvider initialMe={makeMe(role)}>
        <ApprovalCard
          approvalId={APPROVAL_ID}
          sessionId={SESSION_ID}
          toolName="Bash"
          input={{ command: "rm -rf build", description: "Clean" }}
          canDecideForOrg={isAdmin(role)}
          onDecided={onDecided}
          sessionName="Fix the build"
        />
      </AuthProvider>
    </MemoryRouter>,
  );
  return onDecided;
}

function stubDecision(status = 200) {
  return stubFetch(async (request, url) => {
    if (url.pathname === `/api/v1/approvals/${APPROVAL_ID}/decision` && request.method === "POST") {
      if (status === 409) return apiError(409, "conflict", "already decided");
      if (status !== 200) return apiError(status, "forbidden", "You may not decide this request.");
      const body = (await request.json()) as { decision: string };
      return json(approvalJson(body.decision));
    }
    return apiError(404, "route_not_found", "unexpected request");
  });
}

async function sentBody(requests: Request[]) {
  const post = requests.find((r) => r.method === "POST");
  expect(post).toBeDefined();
  return (await post?.json()) as unknown;
}

describe("ApprovalCard", () => {
  it("shows the tool, the session link and the full input", () => {
    stubDecision();
    renderCard("member");
    expect(screen.getByRole("article", { name: "Permission request: Bash" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Fix the build" })).toHaveAttribute("href", `/sessions/${SESSION_ID}`);
    expect(screen.getByLabelText("Input of Bash").textContent).toContain('"description": "Clean"');
  });

  it("posts allow without scope or message for Yes", async () => {
    const requests = stubDecision();
    const onDecided = renderCard("member");
    await userEvent.click(screen.getByRole("button", { name: "Yes" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Allowed once.");
    expect(await sentBody(requests)).toEqual({ decision: "allow" });
    expect(requests[0]?.headers.get("X-CSRF-Token")).toBe("csrf-from-me");
    expect(onDecided).toHaveBeenCalledWith(expect.objectContaining({ kind: "decided", decision: "allow" }));
  });

  it("posts always with session scope for members, who get no organisation option", async () => {
    const requests = stubDecision();
    renderCard("member");
    expect(screen.queryByRole("radio", { name: "The whole organisation" })).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Always (this session)" }));
    await screen.findByRole("status");
    expect(await sentBody(requests)).toEqual({ decision: "always", scope: "session" });
  });

  it.each<Role>(["owner", "admin"])("lets an %s make Always apply to the organisation", async (role) => {
    const requests = stubDecision();
    renderCard(role);
    await userEvent.click(screen.getByRole("radio", { name: "The whole organisation" }));
    await userEvent.click(screen.getByRole("button", { name: "Always" }));
    await screen.findByRole("status");
    expect(await sentBody(requests)).toEqual({ decision: "always", scope: "organization" });
  });

  it("posts deny with the trimmed message for No", async () => {
    const requests = stubDecision();
    renderCard("member");
    await userEvent.type(screen.getByLabelText(/Message for Claude/), "  use make clean  ");
    await userEvent.click(screen.getByRole("button", { name: "No" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Denied.");
    expect(await sentBody(requests)).toEqual({ decision: "deny", message: "use make clean" });
  });

  it("reports a 409 as already decided", async () => {
    stubDecision(409);
    const onDecided = renderCard("member");
    await userEvent.click(screen.getByRole("button", { name: "Yes" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Already decided elsewhere.");
    expect(onDecided).toHaveBeenCalledWith({ kind: "already_decided" });
  });

  it("keeps the controls and shows other errors", async () => {
    stubDecision(403);
    const onDecided = renderCard("member");
    await userEvent.click(screen.getByRole("button", { name: "Yes" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("You may not decide this request.");
    expect(screen.getByRole("button", { name: "Yes" })).toBeEnabled();
    expect(onDecided).not.toHaveBeenCalled();
  });
});

describe("formatRemaining", () => {
  it("counts down in the largest sensible units", () => {
    expect(formatRemaining(0)).toBe("expired");
    expect(formatRemaining(-5)).toBe("expired");
    expect(formatRemaining(42.7)).toBe("42 s");
    expect(formatRemaining(250)).toBe("4 min 10 s");
    expect(formatRemaining(3 * 3600 + 120)).toBe("3 h 2 min");
  });
});
