import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { apiError, json, makeMe, renderApp, stubFetch } from "../../test/helpers";
import { makeUsageBlock } from "./usageBlockFixture";

const BLOCK = makeUsageBlock({ time_left_secs: 45 * 60 });

function stub(block: Response) {
  return stubFetch((_r, url) => {
    if (url.pathname === "/api/v1/usage/block") return block;
    if (url.pathname === "/api/v1/sessions") return json({ items: [] });
    if (url.pathname === "/api/v1/approvals") return json([]);
    return undefined;
  });
}

describe("usage block in the header", () => {
  it("shows tokens, cost and time left, with details on demand", async () => {
    stub(json(BLOCK));
    renderApp("/sessions", makeMe("member"));
    const button = await screen.findByRole("button", { name: "Usage block: 1.2M tokens, $3.46, 45 min left. Details" });
    expect(button).toHaveAttribute("aria-expanded", "false");
    await userEvent.click(button);
    expect(button).toHaveAttribute("aria-expanded", "true");
    expect(screen.getByText("12.3K tokens/min")).toBeVisible();
    expect(screen.getByText("$1.20/h")).toBeVisible();
    await userEvent.keyboard("{Escape}");
    expect(button).toHaveAttribute("aria-expanded", "false");
    expect(button).toHaveFocus();
  });

  it.each([
    ["404", () => apiError(404, "route_not_found", "no such route")],
    ["500", () => apiError(500, "internal", "boom")],
  ])("hides itself on %s", async (_label, response) => {
    const requests = stub(response());
    renderApp("/sessions", makeMe("member"));
    await waitFor(() => {
      expect(requests.some((r) => new URL(r.url).pathname === "/api/v1/usage/block")).toBe(true);
    });
    expect(await screen.findByText(/No sessions yet/)).toBeInTheDocument();
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByRole("button", { name: /Usage block/ })).not.toBeInTheDocument();
  });
});
