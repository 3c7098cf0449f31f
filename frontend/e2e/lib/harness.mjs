// The browser side of the end-to-end tests: launches Debian's Chromium through playwright-core,
// gives each spec fresh contexts per user, fails the spec on any console error or uncaught page
// error, and writes screenshots at desktop and phone size.
//
// The Rust test (services/api/tests/e2e) starts the real stack and passes E2E_CONTEXT (JSON):
//   { "baseUrl": "http://127.0.0.1:PORT",
//     "users": { "<name>": { "session": "<rc_session cookie>", "csrf": "<rc_csrf cookie>" } },
//     "data": { ...what the spec needs... } }
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

const CHROMIUM = process.env.REMOTE_CLAUDE_CHROMIUM ?? "/usr/bin/chromium";
const SCREENSHOTS = process.env.E2E_SCREENSHOTS ?? fileURLToPath(new URL("../screenshots/", import.meta.url));
/** Default bound for one browser action or wait (polling, never sleeping). */
const ACTION_TIMEOUT_MS = 15_000;
/** Chrome's message for a response with an error status (the response itself is expected). */
const HTTP_ERROR = /^Failed to load resource: the server responded with a status of (\d+)/;

/**
 * @typedef {object} User
 * @property {string} session The `rc_session` cookie value.
 * @property {string} csrf The `rc_csrf` cookie value.
 *
 * @typedef {object} Context
 * @property {string} baseUrl
 * @property {Record<string, User>} [users]
 * @property {Record<string, unknown>} [data]
 *
 * @typedef {{ status: number, path: RegExp }} AllowedHttpError
 */

/** Reads E2E_CONTEXT. */
export function readContext() {
  const raw = process.env.E2E_CONTEXT;
  if (!raw) throw new Error("E2E_CONTEXT is not set (the Rust test in services/api/tests/e2e sets it)");
  /** @type {Context} */
  const context = JSON.parse(raw);
  if (!context.baseUrl) throw new Error("E2E_CONTEXT has no baseUrl");
  return context;
}

/** What a spec gets: pages per user, screenshots, expected HTTP errors, bounded waits. */
export class Test {
  /**
   * @param {string} spec
   * @param {Context} context
   * @param {import("playwright-core").Browser} browser
   */
  constructor(spec, context, browser) {
    this.spec = spec;
    this.baseUrl = context.baseUrl;
    this.origin = new URL(context.baseUrl).origin;
    this.users = context.users ?? {};
    this.data = context.data ?? {};
    this.browser = browser;
    /** @type {string[]} */
    this.problems = [];
    /** @type {string[]} Findings that do not fail the spec (layout overflow). */
    this.notes = [];
    /** @type {AllowedHttpError[]} */
    this.allowed = [];
    /** @type {import("playwright-core").Page[]} */
    this.pages = [];
    this.started = performance.now();
  }

  /** @param {string} key */
  datum(key) {
    const value = this.data[key];
    if (value === undefined) throw new Error(`E2E_CONTEXT.data.${key} is missing`);
    return String(value);
  }

  /**
   * An error response the spec provokes on purpose (Chrome logs it as a console error): a
   * response with `status` to a request whose path matches `path`.
   * @param {number} status
   * @param {RegExp} path
   */
  allowHttpError(status, path) {
    this.allowed.push({ status, path });
  }

  /**
   * A page in a fresh browser context (no cookies, no storage), signed in as `user` when given.
   * @param {string} [user] a key of E2E_CONTEXT.users
   */
  async newPage(user) {
    const context = await this.browser.newContext({ baseURL: this.baseUrl, viewport: DESKTOP });
    context.setDefaultTimeout(ACTION_TIMEOUT_MS);
    // The OpenID provider's development pages import a web font; answer it locally so the
    // tests never depend on the internet.
    await context.route("https://fonts.googleapis.com/**", (route) =>
      route.fulfill({ status: 200, contentType: "text/css", body: "" }),
    );
    if (user) {
      const entry = this.users[user];
      if (!entry) throw new Error(`E2E_CONTEXT.users.${user} is missing`);
      // What a login leaves in the browser (the Rust side created the login session).
      await context.addCookies([
        { name: "rc_session", value: entry.session, url: this.baseUrl, httpOnly: true, sameSite: "Lax" },
        { name: "rc_csrf", value: entry.csrf, url: this.baseUrl, sameSite: "Lax" },
      ]);
    }
    const page = await context.newPage();
    const who = user ?? "anonymous";
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const text = message.text();
      const status = HTTP_ERROR.exec(text)?.[1];
      if (status) {
        const url = message.location().url;
        const path = url ? new URL(url).pathname : "";
        if (this.allowed.some((a) => a.status === Number(status) && a.path.test(path))) return;
        this.problems.push(`[${who}] console error: ${text} (${url})`);
        return;
      }
      this.problems.push(`[${who}] console error at ${page.url()}: ${text}`);
    });
    page.on("pageerror", (error) => {
      this.problems.push(`[${who}] uncaught error at ${page.url()}: ${error.stack ?? error.message}`);
    });
    this.pages.push(page);
    return page;
  }

  /**
   * Screenshots of the page as it is, at desktop and at phone size (full page), in
   * frontend/e2e/screenshots/<spec>-<name>-{desktop,phone}.png.
   * @param {import("playwright-core").Page} page
   * @param {string} name
   */
  async screenshot(page, name) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const before = page.viewportSize() ?? DESKTOP;
    for (const [size, viewport] of /** @type {const} */ ([["desktop", DESKTOP], ["phone", PHONE]])) {
      await page.setViewportSize(viewport);
      await page.screenshot({ path: `${SCREENSHOTS}/${this.spec}-${name}-${size}.png`, fullPage: true });
      // Reported, not failed: content wider than the screen scrolls sideways on a phone.
      const width = Number(await page.evaluate("document.documentElement.scrollWidth"));
      if (width > viewport.width) {
        this.notes.push(`${name}: the page is ${width} px wide at ${size} size (${viewport.width} px)`);
      }
    }
    await page.setViewportSize(before);
  }

  /**
   * Runs one named step, logging its duration.
   * @template T
   * @param {string} name
   * @param {() => Promise<T>} body
   * @returns {Promise<T>}
   */
  async step(name, body) {
    const start = performance.now();
    try {
      return await body();
    } finally {
      log(`  ${name} (${seconds(start)})`);
    }
  }

  /**
   * Polls `check` until it returns something truthy (returned) or `timeoutMs` passes.
   * @template T
   * @param {string} what
   * @param {() => Promise<T>} check
   * @param {number} [timeoutMs]
   * @returns {Promise<T>}
   */
  async until(what, check, timeoutMs = ACTION_TIMEOUT_MS) {
    const deadline = performance.now() + timeoutMs;
    let delay = 50;
    for (;;) {
      const result = await check();
      if (result) return result;
      if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 500);
    }
  }

  /**
   * Waits until `locator`'s text matches `pattern`.
   * @param {import("playwright-core").Locator} locator
   * @param {RegExp} pattern
   * @param {number} [timeoutMs]
   */
  async expectText(locator, pattern, timeoutMs) {
    let last = "";
    try {
      await this.until(
        `${locator.toString()} to match ${pattern}`,
        async () => {
          last = (await locator.first().textContent({ timeout: 1000 }).catch(() => null)) ?? "";
          return pattern.test(last);
        },
        timeoutMs,
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`${message}; last text: ${JSON.stringify(last)}`, { cause: error });
    }
  }

  /**
   * Waits until the page is at a URL whose path (and search) matches `pattern`.
   * @param {import("playwright-core").Page} page
   * @param {RegExp} pattern
   */
  async expectPath(page, pattern) {
    await page.waitForURL((url) => url.origin === this.origin && pattern.test(url.pathname + url.search));
  }
}

/**
 * Runs `spec` (a module under ./specs exporting a default `async (t) => {}`) and returns the
 * process exit code.
 * @param {string} spec
 */
export async function runSpec(spec) {
  if (!/^[a-z0-9-]+$/.test(spec)) throw new Error(`bad spec name ${JSON.stringify(spec)}`);
  const file = new URL(`../specs/${spec}.mjs`, import.meta.url);
  if (!existsSync(file)) throw new Error(`no spec ${spec} (${fileURLToPath(file)})`);
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run scripts/install-chromium.sh (or set REMOTE_CLAUDE_CHROMIUM)`);
  }
  const context = readContext();
  mkdirSync(SCREENSHOTS, { recursive: true });
  /** @type {{ default: (t: Test) => Promise<void> }} */
  const module = await import(file.href);
  const start = performance.now();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
  log(`spec ${spec}: ${context.baseUrl}, Chromium ${browser.version()} up (${seconds(start)})`);
  const t = new Test(spec, context, browser);
  let failed = false;
  try {
    await module.default(t);
  } catch (error) {
    failed = true;
    log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    for (const [i, page] of t.pages.entries()) {
      if (page.isClosed()) continue;
      log(`  page ${i}: ${page.url()}`);
      await page
        .screenshot({ path: `${SCREENSHOTS}/${spec}-FAILED-${i}.png`, fullPage: true })
        .catch(() => undefined);
    }
  } finally {
    await browser.close();
  }
  for (const note of t.notes) log(`note: ${note}`);
  if (t.problems.length > 0) {
    failed = true;
    log(`FAILED: ${t.problems.length} browser error(s):`);
    for (const problem of t.problems) log(`  ${problem}`);
  }
  log(`${failed ? "FAIL" : "PASS"} ${spec} (${seconds(t.started)})`);
  return failed ? 1 : 0;
}

/** @param {string} line */
export function log(line) {
  process.stdout.write(`${line}\n`);
}

/** @param {number} start */
function seconds(start) {
  return `${((performance.now() - start) / 1000).toFixed(1)} s`;
}
