/** Showing a tool call's input: the whole JSON, plus the one field that says what it does. */

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The full input, pretty-printed (strings as they are). */
export function formatInput(input: unknown): string {
  if (input === undefined) return "(no input)";
  if (typeof input === "string") return input;
  // JSON.stringify is total on parsed JSON; only a non-JSON value (a cycle) could throw.
  try {
    return JSON.stringify(input, null, 2);
  } catch {
    return "(input not shown: not JSON)";
  }
}

// The field of the common tools that a reviewer wants first; the full input stays one tap away.
const SUMMARY_FIELDS = ["command", "file_path", "notebook_path", "url", "path", "pattern", "query"] as const;

/** The most telling single value of the input (the shell command, the file), or null. */
export function summarizeInput(_toolName: string, input: unknown): string | null {
  if (!isRecord(input)) return null;
  for (const field of SUMMARY_FIELDS) {
    const value = input[field];
    if (typeof value === "string" && value.trim()) return value;
  }
  return null;
}
