/**
 * Monaco, configured once. Only ever reached through dynamic `import()` (see LazyEditors.tsx),
 * so neither Monaco nor its worker is part of the app's main bundle.
 *
 * - `editor.api` is the standalone editor; `editor.all` adds its built-in features (find and
 *   replace, folding, multi-cursor, …) without any language service.
 * - The basic languages are Monarch tokenizers (syntax colouring on the main thread, each
 *   loaded on first use): no TypeScript/JSON/CSS language workers, so the editor worker is the
 *   only worker, emitted by Vite from the `?worker` import.
 */
import * as monaco from "monaco-editor/esm/vs/editor/editor.api";
import "monaco-editor/esm/vs/editor/editor.all.js";
import "monaco-editor/esm/vs/basic-languages/monaco.contribution.js";
import EditorWorker from "monaco-editor/esm/vs/editor/editor.worker?worker";
import type { Theme } from "../../../../app/theme";

self.MonacoEnvironment = {
  getWorker: () => new EditorWorker(),
};

/** JSON has no basic tokenizer (only a language service with its own worker); JavaScript's colours it well. */
const ALIASES: Record<string, string> = { json: "javascript" };

/** A language Monaco knows, or plain text. */
export function knownLanguage(id: string): string {
  const wanted = ALIASES[id] ?? id;
  return monaco.languages.getLanguages().some((l) => l.id === wanted) ? wanted : "plaintext";
}

export function applyTheme(theme: Theme): void {
  // One theme for every editor on the page: Monaco's theme is global.
  monaco.editor.setTheme(theme === "dark" ? "vs-dark" : "vs");
}

export const FONT_FAMILY = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace';

export { monaco };
