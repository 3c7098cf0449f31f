import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Role } from "../api/types";
import { json, makeMe, renderApp, stubFetch } from "../test/helpers";

function stubApi() {
  return stubFetch((_request, url) => {
    if (url.pathname === "/api/v1/members") return json([]);
    if (url.pathname === "/api/v1/sessions") return json({ items: [] });
    if (url.pathname === "/api/v1/invitations") return json([]);
    return undefined;
  });
}

describe("admin navigation by role", () => {
  it.each<Role>(["member", "viewer"])("hides Admin from a %s", async (role) => {
    stubApi();
    renderApp("/sessions", makeMe(role));
    const nav = await screen.findByRole("navigation", { name: "Main" });
    expect(nav).toHaveTextContent("Sessions");
    expect(screen.queryByRole("link", { name: "Admin" })).not.toBeInTheDocument();
    expect(screen.getByRole("link", { name: "API tokens" })).toBeInTheDocument();
  });

  it.each<Role>(["owner", "admin"])("shows Admin to an %s", async (role) => {
    stubApi();
    renderApp("/sessions", makeMe(role));
    expect(await screen.findByRole("link", { name: "Admin" })).toHaveAttribute("href", "/admin");
  });

  it("guards the admin routes against members who type the address", async () => {
    const requests = stubApi();
    renderApp("/admin/members", makeMe("member"));
    expect(await screen.findByRole("heading", { name: "Not available" })).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Members" })).not.toBeInTheDocument();
    expect(requests.some((r) => new URL(r.url).pathname === "/api/v1/invitations")).toBe(false);
  });

  it("lets admins in", async () => {
    stubApi();
    renderApp("/admin/members", makeMe("admin"));
    expect(await screen.findByRole("heading", { level: 2, name: "Members" })).toBeInTheDocument();
    expect(screen.getByRole("navigation", { name: "Admin" })).toBeInTheDocument();
  });

  it("hides session creation from viewers", async () => {
    stubApi();
    renderApp("/sessions", makeMe("viewer"));
    expect(await screen.findByText("No sessions yet.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "New session" })).not.toBeInTheDocument();
  });
});

describe("scripted model banner", () => {
  it("says so when sessions talk to the scripted fake model", async () => {
    stubApi();
    renderApp("/sessions", { ...makeMe("member"), scripted_model: true });
    expect(await screen.findByRole("note")).toHaveTextContent("Scripted fake model");
  });

  it("stays away with the real model", async () => {
    stubApi();
    renderApp("/sessions", makeMe("member"));
    await screen.findByRole("navigation", { name: "Main" });
    expect(screen.queryByText(/Scripted fake model/)).not.toBeInTheDocument();
  });
});
