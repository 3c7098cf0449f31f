/** Workspace paths (relative, `/`-separated, `""` = the root) and what the Files tab derives from them. */
import type { FileChangeNotice } from "../contracts";

/** Files above this size are offered as a download instead of opened in the editor. */
export const MAX_EDITABLE_BYTES = 2 * 1024 * 1024;

export function parentOf(path: string): string {
  const at = path.lastIndexOf("/");
  return at < 0 ? "" : path.slice(0, at);
}

export function baseName(path: string): string {
  const at = path.lastIndexOf("/");
  return at < 0 ? path : path.slice(at + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir ? `${dir}/${name}` : name;
}

/** Whether `path` is `dir` itself or lies beneath it. */
export function isWithin(path: string, dir: string): boolean {
  return dir === "" || path === dir || path.startsWith(`${dir}/`);
}

/**
 * A name typed by the user, relative to `dir`: `a/b.txt` creates inside subdirectories.
 * Returns an error message for what the api would refuse anyway (absolute, `..`, empty).
 */
export function resolveName(dir: string, typed: string): { path: string } | { error: string } {
  const name = typed.trim();
  if (!name) return { error: "Enter a name." };
  if (name.startsWith("/")) return { error: "Use a path relative to the folder, without a leading /." };
  const parts = name.split("/").filter((p) => p && p !== ".");
  if (parts.includes("..")) return { error: "Names may not contain “..”." };
  if (parts.length === 0) return { error: "Enter a name." };
  return { path: joinPath(dir, parts.join("/")) };
}

/**
 * Monaco language ids by extension (and a few file names). Languages Monaco does not know
 * fall back to plain text; see monaco/setup.ts for what is registered.
 */
const BY_EXTENSION: Record<string, string> = {
  ts: "typescript",
  tsx: "typescript",
  mts: "typescript",
  cts: "typescript",
  js: "javascript",
  jsx: "javascript",
  mjs: "javascript",
  cjs: "javascript",
  json: "json",
  jsonc: "json",
  md: "markdown",
  markdown: "markdown",
  css: "css",
  scss: "scss",
  less: "less",
  html: "html",
  htm: "html",
  xml: "xml",
  svg: "xml",
  yml: "yaml",
  yaml: "yaml",
  toml: "ini",
  ini: "ini",
  py: "python",
  rs: "rust",
  go: "go",
  java: "java",
  kt: "kotlin",
  c: "c",
  h: "c",
  cc: "cpp",
  cpp: "cpp",
  hpp: "cpp",
  cs: "csharp",
  rb: "ruby",
  php: "php",
  sh: "shell",
  bash: "shell",
  zsh: "shell",
  sql: "sql",
  graphql: "graphql",
  gql: "graphql",
  swift: "swift",
  lua: "lua",
  r: "r",
  dockerfile: "dockerfile",
};

const BY_NAME: Record<string, string> = {
  dockerfile: "dockerfile",
  makefile: "shell",
  ".bashrc": "shell",
  ".profile": "shell",
};

export function languageFor(path: string): string {
  const name = baseName(path).toLowerCase();
  const byName = BY_NAME[name];
  if (byName) return byName;
  const dot = name.lastIndexOf(".");
  if (dot < 0) return "plaintext";
  return BY_EXTENSION[name.slice(dot + 1)] ?? "plaintext";
}

/**
 * The file's text, or null when it does not look like text: a NUL byte in the first 8 KiB,
 * or bytes that are not valid UTF-8. Opening such a file in an editor and saving it back
 * would corrupt it, so it is offered as a download instead.
 */
export function decodeText(bytes: Uint8Array): string | null {
  const head = bytes.subarray(0, 8192);
  if (head.includes(0)) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

export interface ChangeEffects {
  /** Listed directories to read again. */
  dirs: Set<string>;
  /** Paths that changed (new name of a rename), for the open file. */
  changed: Set<string>;
  /** Paths that went away (deleted, or the old name of a rename); directories included. */
  removed: Set<string>;
}

/** What a batch of `file_changed` notices means for the tree and the open file. */
export function changeEffects(notices: readonly FileChangeNotice[]): ChangeEffects {
  const effects: ChangeEffects = { dirs: new Set(), changed: new Set(), removed: new Set() };
  for (const notice of notices) {
    effects.dirs.add(parentOf(notice.path));
    if (notice.change === "deleted") {
      effects.removed.add(notice.path);
    } else {
      effects.changed.add(notice.path);
    }
    if (notice.change === "renamed" && notice.from !== undefined) {
      effects.dirs.add(parentOf(notice.from));
      effects.removed.add(notice.from);
    }
  }
  return effects;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit] ?? "TiB"}`;
}
