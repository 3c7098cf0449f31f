/** Monaco's diff editor (read-only) as a React component. Loaded lazily (LazyEditors.tsx). */
import { useEffect, useRef } from "react";
import type { Theme } from "../../../../app/theme";
import { applyTheme, FONT_FAMILY, knownLanguage, monaco } from "./setup";

export interface DiffViewProps {
  original: string;
  modified: string;
  language: string;
  theme: Theme;
  ariaLabel: string;
}

const LINE_HEIGHT = 19;

export default function DiffView({ original, modified, language, theme, ariaLabel }: DiffViewProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const lines = Math.max(original.split("\n").length, modified.split("\n").length);
  // Each edit gets the height it needs (up to a cap), so a list of small edits reads like a patch.
  const height = Math.min(Math.max(lines, 3) * LINE_HEIGHT + 24, 480);

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const lang = knownLanguage(language);
    const originalModel = monaco.editor.createModel(original, lang);
    const modifiedModel = monaco.editor.createModel(modified, lang);
    const editor = monaco.editor.createDiffEditor(host, {
      readOnly: true,
      originalEditable: false,
      automaticLayout: true,
      fontFamily: FONT_FAMILY,
      fontSize: 13,
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      renderSideBySide: host.clientWidth > 700,
      // Narrow screens get the inline view instead of two unreadable columns.
      useInlineViewWhenSpaceIsLimited: true,
      ariaLabel,
      originalAriaLabel: `${ariaLabel}, before`,
      modifiedAriaLabel: `${ariaLabel}, after`,
    });
    editor.setModel({ original: originalModel, modified: modifiedModel });
    return () => {
      editor.dispose();
      originalModel.dispose();
      modifiedModel.dispose();
    };
  }, [original, modified, language, ariaLabel]);

  useEffect(() => {
    applyTheme(theme);
  }, [theme]);

  return <div ref={hostRef} className="diff-view" style={{ height }} />;
}
