/** Rendering chat parts with the app's providers (API client, router) for tests. */
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router";
import type { Role } from "../../../api/types";
import { AuthProvider } from "../../../app/auth";
import { makeMe } from "../../../test/helpers";

export function renderWithApi(ui: ReactNode, role: Role = "member") {
  return render(
    <MemoryRouter>
      <AuthProvider initialMe={makeMe(role)}>{ui}</AuthProvider>
    </MemoryRouter>,
  );
}
