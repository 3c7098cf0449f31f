// Single sign-on through the real OpenID provider (tools/oidc-provider, panva's oidc-provider with
// its development login and consent pages): the app's "Sign in with SSO" → the provider's sign-in
// page → its consent page → back in the app, signed in, on the page first asked for.

/** @param {import("../lib/harness.mjs").Test} t */
export default async function oidcLogin(t) {
  const login = t.datum("login");
  t.allowHttpError(401, /^\/api\/v1\/me$/);
  const page = await t.newPage();

  await t.step("the login page offers SSO only", async () => {
    await page.goto("/usage");
    await t.expectPath(page, /^\/login\?return_to=%2Fusage$/);
    await page.getByRole("link", { name: "Sign in with SSO" }).waitFor();
    // With an identity provider configured the dev login is off.
    if ((await page.getByRole("button", { name: "Dev login" }).count()) > 0) {
      throw new Error("the Dev login button is shown although SSO is configured");
    }
    await t.screenshot(page, "login-sso");
  });

  await t.step("the provider's sign-in page", async () => {
    await page.getByRole("link", { name: "Sign in with SSO" }).click();
    await page.waitForURL((url) => url.origin !== t.origin && url.pathname.startsWith("/interaction/"));
    await page.getByPlaceholder("Enter any login").fill(login);
    await page.getByPlaceholder("and password").fill("any password");
    await t.screenshot(page, "provider-sign-in");
    await page.getByRole("button", { name: "Sign-in" }).click();
  });

  await t.step("the provider's consent page, then back in the app", async () => {
    // The provider asks for consent to a new grant, then redirects to the app's callback.
    const where = await t.until("the consent page or the app", async () => {
      if (new URL(page.url()).origin === t.origin) return "app";
      if (await page.getByRole("button", { name: "Continue" }).isVisible()) return "consent";
      return null;
    });
    if (where === "consent") {
      await t.screenshot(page, "provider-consent");
      await page.getByRole("button", { name: "Continue" }).click();
    }
    await t.expectPath(page, /^\/usage$/);
    await page.getByRole("heading", { level: 1, name: "Usage" }).waitFor();
  });

  await t.step("signed in as the provider's user", async () => {
    const account = page.getByRole("button", { name: /^Account: / });
    await account.click();
    await page.getByText(login, { exact: true }).first().waitFor();
    await t.screenshot(page, "signed-in");
  });
}
