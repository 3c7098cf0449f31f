/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type ProxyOptions } from "vite";

// The Rust api serves the built app from frontend/dist: index.html for unknown non-API GETs and
// static files under /assets only, so every asset must be emitted there (no public/ directory).
// Two pages: the app (index.html) and GraphiQL (graphiql.html, served at GET /graphql). Each has
// its own entry, so the app never loads GraphiQL or Monaco; what both use (React, a few app
// modules) lands in one common chunk that both pages preload.

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

export default defineConfig({
  plugins: [react()],
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
      "/api": proxy(false),
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
