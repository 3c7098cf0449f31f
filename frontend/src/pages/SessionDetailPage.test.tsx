import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeWebSocket } from "../test/fakeWebSocket";
import { json, makeMe, makeSession, ORG_ID, renderApp, stubFetch } from "../test/helpers";

const SESSION = makeSession();
const TASK_ID = "0190f0aa-0000-7000-8000-000000000001";

/** Plays the server: events of the task, numbered from 1 and stamped now. */
function sendTaskEvents(socket: FakeWebSocket, ...bodies: Record<string, unknown>[]) {
  for (const [i, body] of bodies.entries()) {
    socket.event(i + 1, { task_id: TASK_ID, at: new Date().toISOString(), ...body });
  }
}

function stubApi() {
  return stubFetch((_request, url) => {
    if (url.pathname === "/api/v1/members") return json([]);
    if (url.pathname === `/api/v1/sessions/${SESSION.id}`) return json(SESSION);
    if (url.pathname === `/api/v1/sessions/${SESSION.id}/tasks`) return json({ items: [] });
    if (url.pathname === `/api/v1/sessions/${SESSION.id}/queue`) return json([]);
    return undefined;
  });
}

describe("session detail page", () => {
  beforeEach(() => {
    FakeWebSocket.all = [];
    vi.stubGlobal("WebSocket", FakeWebSocket);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("opens on the Chat tab and moves between tabs with the arrow keys", async () => {
    stubApi();
    const user = userEvent.setup();
    renderApp(`/sessions/${SESSION.id}`, makeMe("member"));
    const chat = await screen.findByRole("tab", { name: "Chat" });
    expect(chat).toHaveAttribute("aria-selected", "true");
    expect(screen.getByRole("tabpanel", { name: "Chat" })).toBeInTheDocument();
    expect(screen.getByRole("tab", { name: "Details" })).toHaveAttribute("tabindex", "-1");

    chat.focus();
    await user.keyboard("{ArrowLeft}");
    const details = screen.getByRole("tab", { name: "Details" });
    expect(details).toHaveAttribute("aria-selected", "true");
    expect(details).toHaveFocus();
    expect(screen.getByRole("tabpanel", { name: "Details" })).toHaveTextContent("Session id");
    expect(screen.queryByRole("tabpanel", { name: "Chat" })).not.toBeInTheDocument();

    await user.keyboard("{Home}");
    expect(screen.getByRole("tab", { name: "Chat" })).toHaveAttribute("aria-selected", "true");
  });

  it("opens the tab named in the URL", async () => {
    stubApi();
    renderApp(`/sessions/${SESSION.id}?tab=details`, makeMe("member"));
    expect(await screen.findByRole("tab", { name: "Details" })).toHaveAttribute("aria-selected", "true");
    expect(screen.getByRole("tabpanel", { name: "Details" })).toHaveTextContent("Permission mode");
  });

  it("renders the live event stream in the chat", async () => {
    stubApi();
    renderApp(`/sessions/${SESSION.id}`, makeMe("member"));
    await waitFor(() => {
      expect(FakeWebSocket.all).toHaveLength(1);
    });
    const socket = FakeWebSocket.all[0];
    const url = new URL(socket?.url ?? "");
    expect(url.pathname).toBe(`/api/v1/sessions/${SESSION.id}/events`);
    expect(url.searchParams.get("after_seq")).toBe("0");
    expect(url.searchParams.get("org_id")).toBe(ORG_ID);

    if (!socket) throw new Error("no socket");
    act(() => {
      socket.open();
      sendTaskEvents(
        socket,
        { kind: "task_started" },
        { kind: "user_message", text: "Why is the build red?", is_replay: true },
        { kind: "text_delta", message_id: "m1", index: 0, text: "Because of **one** " },
        { kind: "text_delta", message_id: "m1", index: 0, text: "failing test." },
      );
    });
    const log = screen.getByRole("region", { name: "Conversation" });
    expect(await within(log).findByText("Why is the build red?")).toBeInTheDocument();
    expect(await within(log).findByText(/failing test\./)).toBeInTheDocument();
    expect(within(log).getByText("one").tagName).toBe("STRONG");
    expect(screen.getByText("Live")).toBeInTheDocument();
    expect(screen.getByText("Claude is working…")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Stop turn" })).toBeInTheDocument();
  });

  it("shows a viewer the chat without a composer", async () => {
    stubApi();
    renderApp(`/sessions/${SESSION.id}`, makeMe("viewer"));
    expect(await screen.findByText(/only its owner and admins can send messages/)).toBeInTheDocument();
    expect(screen.queryByRole("textbox", { name: "Message" })).not.toBeInTheDocument();
  });
});
