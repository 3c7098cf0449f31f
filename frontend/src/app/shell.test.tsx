import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { json, makeMe, renderApp, stubFetch } from "../test/helpers";

describe("narrow-screen menu", () => {
  it("folds the navigation behind Menu, closes on Escape and after following a link", async () => {
    stubFetch((_r, url) => {
      if (url.pathname === "/api/v1/sessions") return json({ items: [] });
      if (url.pathname === "/api/v1/approvals") return json([]);
      return undefined;
    });
    renderApp("/sessions", makeMe("member"));
    const toggle = await screen.findByRole("button", { name: "Menu" });
    const panel = document.getElementById(toggle.getAttribute("aria-controls") ?? "");
    expect(panel).toContainElement(screen.getByRole("navigation", { name: "Main" }));
    expect(toggle).toHaveAttribute("aria-expanded", "false");
    expect(panel).not.toHaveClass("open");

    await userEvent.click(toggle);
    expect(toggle).toHaveAttribute("aria-expanded", "true");
    expect(panel).toHaveClass("open");

    await userEvent.click(screen.getByRole("link", { name: "Usage" }));
    expect(toggle).toHaveAttribute("aria-expanded", "false");

    await userEvent.click(toggle);
    await userEvent.tab();
    expect(screen.getByRole("link", { name: "Sessions" })).toHaveFocus();
    await userEvent.keyboard("{Escape}");
    expect(toggle).toHaveAttribute("aria-expanded", "false");
    expect(toggle).toHaveFocus();
  });
});
