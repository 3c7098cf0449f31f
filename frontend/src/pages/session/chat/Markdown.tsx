import { memo, useMemo } from "react";
import { renderMarkdown } from "./markdown";

/** Rendered markdown; re-parsed only when the text changes (streamed text grows per batch). */
export const Markdown = memo(function Markdown({ text, className }: { text: string; className?: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  return (
    <div className={`chat-markdown${className ? ` ${className}` : ""}`} dangerouslySetInnerHTML={{ __html: html }} />
  );
});
