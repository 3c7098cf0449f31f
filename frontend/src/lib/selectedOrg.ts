/**
 * The organisation the user picked in the app, kept in localStorage so that it survives reloads
 * and is shared with the other pages of the same origin (the GraphiQL page sends it as
 * `X-Org-Id` too).
 */

export const ORG_STORAGE_KEY = "rc.orgId";

/** The stored organisation id, or null (none picked yet, or storage unavailable). */
export function storedOrgId(): string | null {
  try {
    return localStorage.getItem(ORG_STORAGE_KEY);
  } catch {
    return null;
  }
}

export function storeOrgId(id: string): void {
  try {
    localStorage.setItem(ORG_STORAGE_KEY, id);
  } catch {
    // Storage unavailable (private mode): the choice lasts for this page only.
  }
}
