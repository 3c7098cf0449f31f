/// <reference types="vitest/config" />
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin, type ProxyOptions, transformWithOxc } from "vite";
import { cacheVersion, precacheList } from "./src/pwa/precache";

// The Rust api serves the built app from frontend/dist: index.html for unknown non-API GETs,
// static files under /assets, and exactly two root files the PWA needs there (sw.js, whose scope
// must be "/", and manifest.webmanifest), both emitted by the PWA plugin below; no public/ directory.
// Two pages: the app (index.html) and GraphiQL (graphiql.html, served at GET /graphql). Each has
// its own entry, so the app never loads GraphiQL, and Monaco only lazily (Files tab); what both
// use (React, a few app modules) lands in one common chunk that both pages preload.

/** Where the dev server forwards /api and /graphql. */
const API_URL = process.env.REMOTE_CLAUDE_API_URL ?? "http://127.0.0.1:8080";
/** The api's `api.public_url`: the only origin it accepts on cookie-authenticated mutations. */
const PUBLIC_ORIGIN = new URL(process.env.REMOTE_CLAUDE_PUBLIC_URL ?? "http://localhost:8080").origin;
const DEV_PORT = 5173;

/**
 * The api rejects cookie-authenticated mutations whose Origin is not its public origin. Requests
 * from this dev server's own pages carry the dev origin, so present them with the public one
 * (the CSRF token is still required). Other origins pass through unchanged and stay rejected.
 */
const proxy = (ws: boolean): ProxyOptions => ({
  target: API_URL,
  ws,
  configure(server) {
    const devOrigins = new Set([`http://localhost:${DEV_PORT}`, `http://127.0.0.1:${DEV_PORT}`]);
    server.on("proxyReq", (proxyReq, req) => {
      if (devOrigins.has(req.headers.origin ?? "")) proxyReq.setHeader("origin", PUBLIC_ORIGIN);
    });
    server.on("proxyReqWs", (proxyReq, req) => {
      if (devOrigins.has(req.headers.origin ?? "")) proxyReq.setHeader("origin", PUBLIC_ORIGIN);
    });
  },
});

/** Light and dark page colours (styles.css `--surface`/`--bg`) for the manifest and theme-color. */
const THEME = { light: "#ffffff", dark: "#1f1e1b", background: "#f7f7f5" };

const ICONS = [
  { file: "icon-192.png", sizes: "192x192", purpose: "any" },
  { file: "icon-512.png", sizes: "512x512", purpose: "any" },
  { file: "icon-maskable-192.png", sizes: "192x192", purpose: "maskable" },
  { file: "icon-maskable-512.png", sizes: "512x512", purpose: "maskable" },
] as const;

const fromHere = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/**
 * The installable app: emits `dist/manifest.webmanifest` and `dist/sw.js` at the dist root (the
 * api serves exactly those two names from there), the icons under `assets/`, and links the
 * manifest from index.html. The worker is `src/pwa/sw.ts` with its types stripped and the
 * build's precache list (the app entry's static imports, see src/pwa/precache.ts) prepended.
 * Build only: the dev server has no worker (it would cache modules being edited).
 */
function pwa(): Plugin {
  const iconRefs = new Map<string, string>();
  let svgRef = "";
  return {
    name: "rc-pwa",
    apply: "build",
    enforce: "post",
    buildStart() {
      for (const icon of ICONS) {
        iconRefs.set(
          icon.file,
          this.emitFile({ type: "asset", name: icon.file, source: readFileSync(fromHere(`src/pwa/icons/${icon.file}`)) }),
        );
      }
      svgRef = this.emitFile({ type: "asset", name: "icon.svg", source: readFileSync(fromHere("src/assets/favicon.svg")) });
    },
    transformIndexHtml: {
      order: "post",
      handler(_html, ctx) {
        // Only the app page is installable; GraphiQL is a tool page inside it.
        if (!ctx.filename.endsWith("index.html")) return [];
        return [{ tag: "link", attrs: { rel: "manifest", href: "/manifest.webmanifest" }, injectTo: "head" }];
      },
    },
    async generateBundle(_options, bundle) {
      const url = (ref: string) => `/${this.getFileName(ref)}`;
      const manifest = {
        id: "/",
        name: "Remote Claude",
        short_name: "Claude",
        description: "Claude Code in sandboxes, from your browser.",
        start_url: "/",
        scope: "/",
        display: "standalone",
        // The manifest has one colour each; index.html's theme-color metas follow the system theme.
        theme_color: THEME.light,
        background_color: THEME.background,
        icons: [
          ...ICONS.map((icon) => ({ src: url(iconRefs.get(icon.file) ?? ""), sizes: icon.sizes, type: "image/png", purpose: icon.purpose })),
          { src: url(svgRef), sizes: "any", type: "image/svg+xml", purpose: "any" },
        ],
      };
      this.emitFile({ type: "asset", fileName: "manifest.webmanifest", source: `${JSON.stringify(manifest, null, 2)}\n` });

      const icon192 = url(iconRefs.get("icon-192.png") ?? "");
      const precache = precacheList(bundle, {
        entry: "index",
        extra: ["/", icon192],
      });
      const html = Object.values(bundle).find((item) => item.fileName === "index.html");
      const htmlSource = html?.type === "asset" ? String(html.source) : "";
      const config = { version: cacheVersion([...precache, htmlSource]), precache, icon: icon192 };

      const source = readFileSync(fromHere("src/pwa/sw.ts"), "utf8");
      const { code } = await transformWithOxc(source, "sw.ts", { lang: "ts" });
      // A classic worker script: the stripped module must not keep an empty export.
      const body = code.replace(/^export \{\s*\};?\s*$/m, "");
      this.emitFile({
        type: "asset",
        fileName: "sw.js",
        source: `const __RC_SW_CONFIG__ = ${JSON.stringify(config)};\n${body}`,
      });
    },
  };
}

export default defineConfig({
  plugins: [react(), pwa()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    // No source maps in the served bundle: they would publish the sources and triple dist/.
    sourcemap: false,
    target: "es2022",
    rolldownOptions: {
      input: {
        index: fileURLToPath(new URL("index.html", import.meta.url)),
        graphiql: fileURLToPath(new URL("graphiql.html", import.meta.url)),
      },
      onwarn(warning, warn) {
        // GraphiQL's packages start modules with React Compiler directives ("use no memo"),
        // which mean nothing once bundled.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE" && warning.id?.includes("node_modules")) return;
        warn(warning);
      },
    },
  },
  optimizeDeps: {
    // GraphiQL's Monaco setup imports the workers with `?worker`, which Vite's transform handles
    // but the dev server's dependency pre-bundler cannot load: serve those two modules as they
    // are. The pre-bundler then does not see what the GraphQL worker imports, so pre-bundle that
    // here (CommonJS packages, and a single `graphql` instance). The build is not affected.
    exclude: ["graphiql/setup-workers/vite", "@graphiql/react/setup-workers/vite"],
    include: [
      "graphql",
      "graphiql > @graphiql/react > graphql-language-service",
      "graphiql > @graphiql/react > monaco-graphql > picomatch-browser",
    ],
  },
  server: {
    port: DEV_PORT,
    strictPort: true,
    proxy: {
      "/api": proxy(true),
      "/graphql": proxy(true),
    },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
