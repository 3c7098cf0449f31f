import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { Session } from "../api/types";
import { json, makeMe, makeSession, renderApp, stubFetch } from "../test/helpers";
import { mergeFirstPage } from "./SessionsPage";

/** Serves the sessions list from `current()` (read per request) and records every request. */
function stubSessions(current: () => Session[], onStart?: (id: string) => Session) {
  return stubFetch((request, url) => {
    if (url.pathname === "/api/v1/members") return json([]);
    if (url.pathname === "/api/v1/sessions" && request.method === "GET") return json({ items: current() });
    const start = /^\/api\/v1\/sessions\/([^/]+)\/start$/.exec(url.pathname);
    if (start?.[1] && request.method === "POST" && onStart) return json(onStart(start[1]));
    return undefined;
  });
}

function row(name: string): HTMLElement {
  const link = screen.getByRole("link", { name });
  const tr = link.closest("tr");
  if (!tr) throw new Error(`no row for ${name}`);
  return tr;
}

describe("SessionsPage", () => {
  it("shows progress while a sandbox starts, and the badge follows the session by itself", async () => {
    let sessions = [makeSession({ id: "s1", name: "booting", state: "starting" })];
    const requests = stubSessions(() => sessions);
    renderApp("/sessions", makeMe("owner"));
    await screen.findByRole("link", { name: "booting" });
    expect(within(row("booting")).getByText("Starting the sandbox…")).toBeInTheDocument();

    // The sandbox comes up; the page notices without a reload (focus triggers a refresh at once,
    // the same path as the timer).
    sessions = [makeSession({ id: "s1", name: "booting", state: "running" })];
    const before = requests.length;
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1100));
      window.dispatchEvent(new Event("focus"));
    });
    await waitFor(() => {
      expect(within(row("booting")).getByText("running")).toBeInTheDocument();
    });
    expect(requests.length).toBeGreaterThan(before);
    expect(within(row("booting")).queryByText("Starting the sandbox…")).not.toBeInTheDocument();
  });

  it("resumes a stopped session from the list and shows why a failed one failed", async () => {
    let paused = makeSession({ id: "s2", name: "paused", state: "stopped" });
    const failed = makeSession({ id: "s3", name: "broken", state: "failed", state_reason: "image missing" });
    const requests = stubSessions(
      () => [paused, failed],
      () => {
        paused = { ...paused, state: "pending" };
        return paused;
      },
    );
    const user = userEvent.setup();
    renderApp("/sessions", makeMe("owner"));
    await screen.findByRole("link", { name: "paused" });
    expect(within(row("broken")).getByText("image missing")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Start paused" }));
    await waitFor(() => {
      expect(within(row("paused")).getByText("Waiting for a sandbox…")).toBeInTheDocument();
    });
    expect(requests.some((r) => r.method === "POST" && new URL(r.url).pathname === "/api/v1/sessions/s2/start")).toBe(
      true,
    );
    expect(within(row("paused")).queryByRole("button", { name: "Start paused" })).not.toBeInTheDocument();
  });

  it("offers no Start to a viewer", async () => {
    stubSessions(() => [makeSession({ id: "s4", name: "theirs", state: "stopped" })]);
    renderApp("/sessions", makeMe("viewer"));
    await screen.findByRole("link", { name: "theirs" });
    expect(screen.queryByRole("button", { name: "Start theirs" })).not.toBeInTheDocument();
  });
});

describe("mergeFirstPage", () => {
  // Ids are time-ordered like the api's UUIDv7: later sessions have larger ids.
  const s = (n: number, state: Session["state"] = "running") =>
    makeSession({ id: `0000000${n}`, name: `s${n}`, state, created_at: `2026-11-27T00:00:0${n}Z` });

  it("updates rows, puts newer sessions on top and keeps rows the page does not cover", () => {
    const shown = [s(4), s(3), s(1)];
    const fresh = [s(5), s(4, "stopped")];
    expect(mergeFirstPage(shown, fresh).map((x) => [x.id, x.state])).toEqual([
      ["00000005", "running"],
      ["00000004", "stopped"],
      ["00000003", "running"],
      ["00000001", "running"],
    ]);
  });

  it("after a resync drops rows the fresh page covers but lacks (deleted, or filtered out)", () => {
    const shown = [s(4), s(3), s(2), s(1)];
    // A full page (there is a next page) covers ids down to its last one: 3 is gone, 1 is older.
    expect(mergeFirstPage(shown, [s(4), s(2)], "next-cursor").map((x) => x.id)).toEqual([
      "00000004",
      "00000002",
      "00000001",
    ]);
    // The whole list (no next page): everything it lacks is gone.
    expect(mergeFirstPage(shown, [s(4)], null).map((x) => x.id)).toEqual(["00000004"]);
    expect(mergeFirstPage(shown, [], null)).toEqual([]);
  });
});
