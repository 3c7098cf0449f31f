/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig, type ProxyOptions } from "vite";

// The Rust api serves the built app from frontend/dist: index.html for unknown non-API GETs and
// static files under /assets only, so every asset must be emitted there (no public/ directory).

/** Where the dev server forwards /api and /graphql. */
const API_URL = process.env.RC_API_URL ?? "http://127.0.0.1:8080";
/** The api's `api.public_url`: the only origin it accepts on cookie-authenticated mutations. */
const PUBLIC_ORIGIN = new URL(process.env.RC_PUBLIC_URL ?? "http://localhost:8080").origin;
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
    sourcemap: true,
    target: "es2022",
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
