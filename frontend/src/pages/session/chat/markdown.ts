/**
 * Claude's markdown as safe HTML: marked renders, DOMPurify removes anything executable (the text
 * comes from a model that reads untrusted repositories and web pages), and links open in a new
 * tab without handing it `window.opener`.
 */
import createDOMPurify from "dompurify";
import { Marked } from "marked";

const marked = new Marked({ gfm: true, breaks: false, async: false });

// A private instance: the link hook must not change how other parts of the app sanitise.
let purifier: ReturnType<typeof createDOMPurify> | null = null;

function getPurifier() {
  if (purifier) return purifier;
  purifier = createDOMPurify(window);
  purifier.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A" && node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  });
  return purifier;
}

export function renderMarkdown(text: string): string {
  const html = marked.parse(text, { async: false });
  return getPurifier().sanitize(html, {
    USE_PROFILES: { html: true },
    // Forms and embedded documents have no place in a chat message.
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "object", "embed"],
    FORBID_ATTR: ["style"],
  });
}
