/** `candidate` if it is a same-origin path (the api applies the same rule to `return_to`). */
export function safeReturnPath(candidate: string | null | undefined, fallback = "/sessions"): string {
  if (
    candidate?.startsWith("/") &&
    !candidate.startsWith("//") &&
    !candidate.includes("\\") &&
    !candidate.startsWith("/login") &&
    candidate.length < 2000
  ) {
    return candidate;
  }
  return fallback;
}
