/** Monaco's code editor as a React component. Loaded lazily (LazyEditors.tsx): never import it directly. */
import { useEffect, useRef } from "react";
import type { Theme } from "../../../../app/theme";
import { applyTheme, FONT_FAMILY, knownLanguage, monaco } from "./setup";

export interface CodeEditorProps {
  /** The text to show; when it changes from outside (reload), the editor takes it over. */
  value: string;
  /** Monaco language id (paths.ts `languageFor`). */
  language: string;
  theme: Theme;
  readOnly: boolean;
  /** Accessible name of the editor's input. */
  ariaLabel: string;
  onChange?: (value: string) => void;
  /** Ctrl/Cmd+S inside the editor. */
  onSave?: () => void;
  /** Fixed height in pixels; by default the stylesheet sizes it (`.code-editor`). */
  height?: number;
}

export default function CodeEditor({
  value,
  language,
  theme,
  readOnly,
  ariaLabel,
  onChange,
  onSave,
  height,
}: CodeEditorProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const editorRef = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  const handlers = useRef({ onChange, onSave });
  useEffect(() => {
    handlers.current = { onChange, onSave };
  });
  // Read once at creation; later changes go through the effects below.
  const initial = useRef({ value, language, readOnly, ariaLabel });

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const start = initial.current;
    const editor = monaco.editor.create(host, {
      value: start.value,
      language: knownLanguage(start.language),
      readOnly: start.readOnly,
      ariaLabel: start.ariaLabel,
      automaticLayout: true,
      fontFamily: FONT_FAMILY,
      fontSize: 13,
      minimap: { enabled: false },
      scrollBeyondLastLine: false,
      tabSize: 2,
      // Tab moves focus out of the editor after Ctrl+M, as Monaco documents; keep its default.
    });
    editorRef.current = editor;
    const changes = editor.onDidChangeModelContent(() => handlers.current.onChange?.(editor.getValue()));
    editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, () => handlers.current.onSave?.());
    return () => {
      changes.dispose();
      editor.getModel()?.dispose();
      editor.dispose();
      editorRef.current = null;
    };
  }, []);

  useEffect(() => {
    const editor = editorRef.current;
    if (editor && editor.getValue() !== value) editor.setValue(value);
  }, [value]);

  useEffect(() => {
    const model = editorRef.current?.getModel();
    if (model) monaco.editor.setModelLanguage(model, knownLanguage(language));
  }, [language]);

  useEffect(() => {
    editorRef.current?.updateOptions({ readOnly, ariaLabel });
  }, [readOnly, ariaLabel]);

  useEffect(() => {
    applyTheme(theme);
  }, [theme]);

  return <div ref={hostRef} className="code-editor" style={height ? { height, minHeight: 0 } : undefined} />;
}
