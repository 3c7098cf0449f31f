import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { apiError, json, makeSession, stubFetch } from "../../../test/helpers";
import { QueuePanel } from "./QueuePanel";
import { renderWithApi } from "./testUtils";

const SESSION = makeSession();

function task(id: string, prompt: string, position: number) {
  return {
    id,
    session_id: SESSION.id,
    created_by: SESSION.owner_id,
    prompt,
    state: "queued",
    position,
    created_at: "2026-01-01T00:00:00Z",
  };
}

const A = task("a", "First prompt", 1);
const B = task("b", "Second prompt", 2);
const C = task("c", "Third prompt", 3);

describe("QueuePanel", () => {
  it("moves a prompt up by sending the whole new order", async () => {
    const requests = stubFetch((request, url) => {
      if (url.pathname !== `/api/v1/sessions/${SESSION.id}/queue`) return undefined;
      return request.method === "PUT" ? json([A, C, B]) : json([A, B, C]);
    });
    const user = userEvent.setup();
    renderWithApi(<QueuePanel sessionId={SESSION.id} queuedIds={null} canWrite />);
    await user.click(await screen.findByRole("button", { name: "Move up: Third prompt" }));
    await waitFor(() => {
      expect(requests.some((r) => r.method === "PUT")).toBe(true);
    });
    expect(await requests.find((r) => r.method === "PUT")?.json()).toEqual({ task_ids: ["a", "c", "b"] });
    expect(await screen.findByText("Moved to position 2.")).toBeInTheDocument();
    expect(screen.getAllByRole("listitem").map((li) => li.textContent.split("↑")[0])).toEqual([
      "First prompt",
      "Third prompt",
      "Second prompt",
    ]);
    expect(screen.getByRole("button", { name: "Move up: First prompt" })).toBeDisabled();
  });

  it("hides a prompt the event stream no longer lists as waiting, even if the GET still had it", async () => {
    // The GET raced the start of the first task: it still says queued; the stream knows better.
    stubFetch((_request, url) => (url.pathname === `/api/v1/sessions/${SESSION.id}/queue` ? json([A, B]) : undefined));
    renderWithApi(<QueuePanel sessionId={SESSION.id} queuedIds={["b"]} canWrite />);
    expect(await screen.findByRole("button", { name: "Cancel: Second prompt" })).toBeInTheDocument();
    expect(screen.queryByText("First prompt")).not.toBeInTheDocument();
    expect(screen.getByText("(1 waiting)")).toBeInTheDocument();
  });

  it("reloads and says so when the queue changed meanwhile (409)", async () => {
    let gets = 0;
    stubFetch((request, url) => {
      if (url.pathname !== `/api/v1/sessions/${SESSION.id}/queue`) return undefined;
      if (request.method === "PUT") return apiError(409, "conflict", "the queue changed meanwhile; reload");
      gets += 1;
      return json(gets === 1 ? [A, B] : [B]);
    });
    const user = userEvent.setup();
    renderWithApi(<QueuePanel sessionId={SESSION.id} queuedIds={null} canWrite />);
    await user.click(await screen.findByRole("button", { name: "Move down: First prompt" }));
    expect(await screen.findByText("The queue changed meanwhile; it was reloaded. Try again.")).toBeInTheDocument();
    await waitFor(() => {
      expect(screen.queryByText("First prompt")).not.toBeInTheDocument();
    });
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("cancels a waiting prompt", async () => {
    const requests = stubFetch((_request, url) => {
      if (url.pathname === `/api/v1/tasks/b/cancel`) return json({ ...B, state: "cancelled" });
      if (url.pathname === `/api/v1/sessions/${SESSION.id}/queue`) return json([A, B]);
      return undefined;
    });
    const user = userEvent.setup();
    renderWithApi(<QueuePanel sessionId={SESSION.id} queuedIds={null} canWrite />);
    await user.click(await screen.findByRole("button", { name: "Cancel: Second prompt" }));
    await waitFor(() => {
      expect(screen.queryByText("Second prompt")).not.toBeInTheDocument();
    });
    expect(requests.some((r) => r.method === "POST" && r.url.endsWith("/api/v1/tasks/b/cancel"))).toBe(true);
  });

  it("shows no controls to someone who may not change the session", async () => {
    stubFetch((_request, url) => (url.pathname === `/api/v1/sessions/${SESSION.id}/queue` ? json([A]) : undefined));
    renderWithApi(<QueuePanel sessionId={SESSION.id} queuedIds={null} canWrite={false} />, "viewer");
    expect(await screen.findByText("First prompt")).toBeInTheDocument();
    expect(screen.queryByRole("button")).not.toBeInTheDocument();
  });
});
