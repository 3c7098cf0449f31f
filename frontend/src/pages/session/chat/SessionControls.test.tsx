import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { apiError, json, makeSession, stubFetch } from "../../../test/helpers";
import { SessionControls } from "./SessionControls";
import { renderWithApi } from "./testUtils";

const SESSION = makeSession();

describe("SessionControls", () => {
  it("patches the permission mode and reports the updated session", async () => {
    const updated = { ...SESSION, permission_mode: "plan" };
    const requests = stubFetch((request, url) =>
      url.pathname === `/api/v1/sessions/${SESSION.id}` && request.method === "PATCH" ? json(updated) : undefined,
    );
    const onChange = vi.fn();
    const user = userEvent.setup();
    renderWithApi(<SessionControls session={SESSION} disabled={false} onChange={onChange} />);
    await user.selectOptions(screen.getByLabelText("Permissions"), "Plan only");
    await waitFor(() => {
      expect(onChange).toHaveBeenCalledWith(updated);
    });
    expect(await requests[0]?.json()).toEqual({ permission_mode: "plan" });
  });

  it("patches the model and shows a failure", async () => {
    const requests = stubFetch((request, url) =>
      url.pathname === `/api/v1/sessions/${SESSION.id}` && request.method === "PATCH"
        ? apiError(400, "validation_failed", "model: not allowed by the organisation's policy", "model")
        : undefined,
    );
    const user = userEvent.setup();
    renderWithApi(<SessionControls session={SESSION} disabled={false} onChange={vi.fn()} />);
    await user.selectOptions(screen.getByLabelText("Model"), "opus");
    expect(await screen.findByRole("alert")).toHaveTextContent("not allowed by the organisation's policy");
    expect(await requests[0]?.json()).toEqual({ model: "opus" });
  });
});
