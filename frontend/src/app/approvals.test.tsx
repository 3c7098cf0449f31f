import { act, screen, waitForElementToBeRemoved, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Approval } from "../components/approvals/decide";
import { apiError, json, makeMe, makeSession, renderApp, stubFetch } from "../test/helpers";
import { APPROVALS_POLL_MS, visiblePending } from "./approvals";

const SESSION = makeSession();

function approval(n: number, overrides: Partial<Approval> = {}): Approval {
  return {
    id: `00000000-0000-4000-8000-00000000000${n}`,
    session_id: SESSION.id,
    tool_name: n === 1 ? "Bash" : "Write",
    input: (n === 1 ? { command: "make test" } : { file_path: "/src/a.ts", content: "x" }) as unknown as Approval["input"],
    state: "pending",
    created_at: "2025-01-02T10:00:00Z",
    expires_at: new Date(Date.now() + 600_000).toISOString(),
    ...overrides,
  };
}

/** The api: a mutable list of pending approvals; decisions answer 200 or, when set, 409. */
function stubApi(pending: Approval[], decisionStatus = 200) {
  return stubFetch(async (request, url) => {
    if (url.pathname === "/api/v1/approvals") return json(pending);
    if (url.pathname === `/api/v1/sessions/${SESSION.id}`) return json(SESSION);
    if (url.pathname === "/api/v1/sessions") return json({ items: [] });
    const decide = /^\/api\/v1\/approvals\/([^/]+)\/decision$/.exec(url.pathname);
    if (decide && request.method === "POST") {
      if (decisionStatus === 409) return apiError(409, "conflict", "This request was already decided.");
      const body = (await request.json()) as { decision: string };
      const found = pending.find((a) => a.id === decide[1]);
      return json({ ...found, state: body.decision === "deny" ? "denied" : "allowed", decision: body.decision });
    }
    return apiError(404, "route_not_found", `no stub for ${url.pathname}`);
  });
}

const approvalCalls = (requests: Request[]) =>
  requests.filter((r) => new URL(r.url).pathname === "/api/v1/approvals").length;

afterEach(() => {
  vi.useRealTimers();
});

describe("visiblePending", () => {
  it("keeps pending requests not decided from this tab", () => {
    const list = [approval(1), approval(2), approval(3, { state: "expired" })];
    expect(visiblePending(list, new Set([approval(2).id])).map((a) => a.id)).toEqual([approval(1).id]);
  });
});

describe("approvals badge", () => {
  it("counts pending requests and follows the 10 s poll", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const pending = [approval(1), approval(2)];
    const requests = stubApi(pending);
    renderApp("/sessions", makeMe("member"));
    const badge = await screen.findByRole("link", { name: "Approvals: 2 pending" });
    expect(badge).toHaveAttribute("href", "/approvals");
    expect(within(badge).getByText("2")).toBeInTheDocument();
    const before = approvalCalls(requests);

    pending.pop();
    await act(async () => {
      await vi.advanceTimersByTimeAsync(APPROVALS_POLL_MS);
    });
    expect(await screen.findByRole("link", { name: "Approvals: 1 pending" })).toBeInTheDocument();
    expect(approvalCalls(requests)).toBe(before + 1);
  });

  it("says none pending without a number", async () => {
    stubApi([]);
    renderApp("/sessions", makeMe("member"));
    const badge = await screen.findByRole("link", { name: "Approvals: none pending" });
    expect(badge).toHaveTextContent("");
  });

  it("hides itself when the api has no approvals endpoint", async () => {
    stubFetch((_r, url) => (url.pathname === "/api/v1/sessions" ? json({ items: [] }) : undefined));
    renderApp("/sessions", makeMe("member"));
    // Shown while the first request runs, gone once it answers 404.
    await waitForElementToBeRemoved(screen.getByRole("link", { name: /^Approvals/ }));
    expect(await screen.findByText(/No sessions yet/)).toBeInTheDocument();
  });
});

describe("approvals page", () => {
  it("lists requests with their session, and a decision removes one and lowers the badge", async () => {
    const pending = [approval(1), approval(2)];
    stubApi(pending);
    renderApp("/approvals", makeMe("member"));
    expect(await screen.findByRole("heading", { level: 1, name: "Approvals" })).toBeInTheDocument();
    const cards = await screen.findAllByRole("article");
    expect(cards).toHaveLength(2);
    const [first] = cards;
    if (!first) throw new Error("no card");
    expect(await within(first).findByRole("link", { name: SESSION.name })).toBeInTheDocument();
    expect(within(first).getByText("make test")).toBeInTheDocument();
    // Members cannot widen "Always" to the organisation.
    expect(screen.queryByRole("radio", { name: "The whole organisation" })).not.toBeInTheDocument();

    await userEvent.click(within(first).getByRole("button", { name: "Yes" }));
    expect(await screen.findByText(`Bash on ${SESSION.name}: allowed once.`)).toBeInTheDocument();
    expect(screen.getAllByRole("article")).toHaveLength(1);
    expect(screen.getByRole("link", { name: "Approvals: 1 pending" })).toBeInTheDocument();
    expect(screen.getByRole("heading", { level: 1, name: "Approvals" })).toHaveFocus();
  });

  it("drops a request someone else decided first (409)", async () => {
    stubApi([approval(1)], 409);
    renderApp("/approvals", makeMe("admin"));
    const card = await screen.findByRole("article");
    expect(within(card).getByRole("radio", { name: "The whole organisation" })).toBeInTheDocument();
    await userEvent.click(within(card).getByRole("button", { name: "No" }));
    expect(await screen.findByText(/was already decided elsewhere/)).toBeInTheDocument();
    expect(screen.queryByRole("article")).not.toBeInTheDocument();
  });

  it("shows viewers the requests without decision buttons", async () => {
    stubApi([approval(1)]);
    renderApp("/approvals", makeMe("viewer"));
    const card = await screen.findByRole("article");
    expect(within(card).queryByRole("button", { name: "Yes" })).not.toBeInTheDocument();
    expect(within(card).getByText(/Only the session's owner or an admin can decide/)).toBeInTheDocument();
  });
});
