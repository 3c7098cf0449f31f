import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import { AppRoutes } from "../app/App";
import { AuthProvider } from "../app/auth";
import { apiError, json, makeMe, stubFetch } from "../test/helpers";

function renderAt(path: string) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <AuthProvider>
        <AppRoutes />
      </AuthProvider>
    </MemoryRouter>,
  );
}

describe("login page", () => {
  it("shows the error the sign-in redirect carries, and the offered methods", async () => {
    stubFetch((_request, url) => {
      if (url.pathname === "/api/v1/me") return apiError(401, "unauthenticated", "sign in");
      if (url.pathname === "/api/v1/auth/config") return json({ oidc: true, dev_login: false });
      return undefined;
    });
    renderAt("/login?error=the%20identity%20provider%20refused%20the%20login&code=login_failed");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Sign-in failed. the identity provider refused the login");
    expect(alert).toHaveTextContent("Code: login_failed");
    expect(await screen.findByRole("link", { name: "Sign in with SSO" })).toHaveAttribute(
      "href",
      "/api/v1/auth/oidc/login?return_to=%2Fsessions",
    );
    expect(screen.queryByRole("button", { name: "Dev login" })).not.toBeInTheDocument();
  });

  it("sends signed-out visitors to /login and back after the dev login", async () => {
    let signedIn = false;
    stubFetch((request, url) => {
      if (url.pathname === "/api/v1/me") {
        return signedIn ? json(makeMe("member")) : apiError(401, "unauthenticated", "sign in");
      }
      if (url.pathname === "/api/v1/auth/config") return json({ oidc: false, dev_login: true });
      if (url.pathname === "/api/v1/auth/dev-login" && request.method === "POST") {
        signedIn = true;
        return json({ user: makeMe("member").user, csrf_token: "t" });
      }
      if (url.pathname === "/api/v1/tokens") return json([]);
      return undefined;
    });
    renderAt("/tokens");
    await userEvent.click(await screen.findByRole("button", { name: "Dev login" }));
    expect(await screen.findByRole("heading", { level: 1, name: "API tokens" })).toBeInTheDocument();
  });
});
