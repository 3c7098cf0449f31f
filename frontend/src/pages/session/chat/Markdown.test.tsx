import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "./markdown";
import { Markdown } from "./Markdown";

describe("markdown", () => {
  it("renders markdown", () => {
    const html = renderMarkdown("# Title\n\nSome **bold** and `code`.\n\n- a\n- b");
    expect(html).toContain("<h1>Title</h1>");
    expect(html).toContain("<strong>bold</strong>");
    expect(html).toContain("<code>code</code>");
    expect(html).toContain("<li>a</li>");
  });

  it("strips scripts, event handlers and javascript: links", () => {
    const { container } = render(
      <Markdown
        text={
          'Hi <script>window.pwned = 1</script><img src="x" onerror="window.pwned = 1"> [go](javascript:alert(1)) <a href="#" onclick="x()">c</a>'
        }
      />,
    );
    expect(container.querySelector("script")).toBeNull();
    expect(container.querySelector("img")).not.toBeNull();
    expect(container.querySelector("img")?.getAttribute("onerror")).toBeNull();
    expect(container.innerHTML).not.toContain("javascript:");
    expect(container.innerHTML).not.toContain("onclick");
    expect((window as { pwned?: number }).pwned).toBeUndefined();
  });

  it("opens links in a new tab without an opener", () => {
    const { container } = render(<Markdown text="See [the docs](https://example.com/docs)." />);
    const link = container.querySelector("a");
    expect(link?.getAttribute("href")).toBe("https://example.com/docs");
    expect(link?.getAttribute("target")).toBe("_blank");
    expect(link?.getAttribute("rel")).toBe("noopener noreferrer");
  });
});
