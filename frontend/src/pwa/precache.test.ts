import { describe, expect, it } from "vitest";
import { type BundleItem, cacheVersion, precacheList } from "./precache";

const chunk = (
  fileName: string,
  extra: Partial<Extract<BundleItem, { type: "chunk" }>> = {},
): Extract<BundleItem, { type: "chunk" }> => ({
  type: "chunk",
  fileName,
  name: fileName.replace(/^assets\/|-\w+\.js$/g, ""),
  isEntry: false,
  imports: [],
  viteMetadata: { importedCss: new Set(), importedAssets: new Set() },
  ...extra,
});

function bundle(items: BundleItem[]): Record<string, BundleItem> {
  return Object.fromEntries(items.map((item) => [item.fileName, item]));
}

const BUNDLE = bundle([
  chunk("assets/index-AAA.js", {
    name: "index",
    isEntry: true,
    imports: ["assets/jsx-runtime-BBB.js"],
    viteMetadata: { importedCss: new Set(["assets/index-CCC.css"]), importedAssets: new Set(["assets/favicon-DDD.svg"]) },
  }),
  chunk("assets/jsx-runtime-BBB.js", { imports: ["assets/index-AAA.js"] }), // cycles happen
  chunk("assets/graphiql-EEE.js", { name: "graphiql", isEntry: true, imports: ["assets/jsx-runtime-BBB.js", "assets/monaco-FFF.js"] }),
  chunk("assets/monaco-FFF.js"),
  chunk("assets/terminal-GGG.js"), // a lazy chunk of the app
  { type: "asset", fileName: "assets/index-CCC.css" },
  { type: "asset", fileName: "assets/favicon-DDD.svg" },
  { type: "asset", fileName: "index.html" },
  { type: "asset", fileName: "graphiql.html" },
]);

describe("precacheList", () => {
  it("takes the app entry's static imports with their CSS and assets, plus the extras", () => {
    expect(precacheList(BUNDLE, { entry: "index", extra: ["/", "/assets/icon-192.png"] })).toEqual([
      "/",
      "/assets/icon-192.png",
      "/assets/favicon-DDD.svg",
      "/assets/index-AAA.js",
      "/assets/index-CCC.css",
      "/assets/jsx-runtime-BBB.js",
    ]);
  });

  it("leaves out other pages' chunks and lazy chunks", () => {
    const list = precacheList(BUNDLE, { entry: "index" });
    expect(list).not.toContain("/assets/graphiql-EEE.js");
    expect(list).not.toContain("/assets/monaco-FFF.js");
    expect(list).not.toContain("/assets/terminal-GGG.js");
    expect(list).not.toContain("/graphiql.html");
  });

  it("fails the build when the entry is missing", () => {
    expect(() => precacheList(BUNDLE, { entry: "app" })).toThrow(/no entry chunk named "app"/);
  });

  it("does not list an extra twice", () => {
    expect(precacheList(BUNDLE, { entry: "index", extra: ["/assets/index-AAA.js"] }).filter((u) => u === "/assets/index-AAA.js")).toHaveLength(1);
  });
});

describe("cacheVersion", () => {
  it("is stable for the same files and changes with any of them", () => {
    const a = cacheVersion(["/", "/assets/index-AAA.js", "<html>"]);
    expect(a).toMatch(/^[0-9a-f]{8}$/);
    expect(cacheVersion(["/", "/assets/index-AAA.js", "<html>"])).toBe(a);
    expect(cacheVersion(["/", "/assets/index-AAB.js", "<html>"])).not.toBe(a);
    expect(cacheVersion(["ab", "c"])).not.toBe(cacheVersion(["a", "bc"]));
  });
});
