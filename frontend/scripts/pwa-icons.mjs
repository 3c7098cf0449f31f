#!/usr/bin/env node
// Renders the PWA icons (src/pwa/icons/*.png) from src/assets/favicon.svg in Debian's Chromium
// through playwright-core (no browser download). Run once after changing the favicon:
//   node scripts/pwa-icons.mjs [--chromium /usr/bin/chromium]
// The PNGs are committed; the build only copies them (the rc-pwa plugin in vite.config.ts).
import { mkdir, readFile } from "node:fs/promises";
import { chromium } from "playwright-core";

const root = new URL("../", import.meta.url);
const out = new URL("src/pwa/icons/", root);
const flag = process.argv.indexOf("--chromium");
const executablePath = flag > 0 ? process.argv[flag + 1] : "/usr/bin/chromium";

const favicon = await readFile(new URL("src/assets/favicon.svg", root), "utf8");
// The favicon's colour and glyph, reused for the full-bleed variants.
const fill = /<rect[^>]*fill="([^"]+)"/.exec(favicon)?.[1];
const glyph = /<path[^>]*\/>/.exec(favicon)?.[0];
if (!fill || !glyph) throw new Error("favicon.svg: expected a <rect fill> and a <path>");

/** Square background without rounded corners (the platform applies its own mask) and the glyph scaled about the centre. */
const fullBleed = (scale) =>
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" fill="${fill}"/>` +
  `<g transform="translate(16.5 16.5) scale(${scale}) translate(-16.5 -16.5)">${glyph}</g></svg>`;

const icons = [
  // "any": the favicon itself, transparent corners.
  { file: "icon-192.png", size: 192, svg: favicon },
  { file: "icon-512.png", size: 512, svg: favicon },
  // "maskable": the glyph inside the safe zone (a centred circle of 80% of the size).
  { file: "icon-maskable-192.png", size: 192, svg: fullBleed(0.7) },
  { file: "icon-maskable-512.png", size: 512, svg: fullBleed(0.7) },
  // iOS home screen: opaque square, iOS rounds it.
  { file: "apple-touch-icon.png", size: 180, svg: fullBleed(0.85) },
];

await mkdir(out, { recursive: true });
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
try {
  const page = await browser.newPage({ deviceScaleFactor: 1 });
  for (const { file, size, svg } of icons) {
    await page.setViewportSize({ width: size, height: size });
    const src = `data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}`;
    await page.setContent(
      `<!doctype html><html><body style="margin:0;background:transparent">` +
        `<img src="${src}" width="${size}" height="${size}" style="display:block"></body></html>`,
    );
    await page.locator("img").evaluate((img) => img.decode());
    await page.screenshot({ path: new URL(file, out).pathname, omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
    console.log(`wrote src/pwa/icons/${file} (${size}x${size})`);
  }
} finally {
  await browser.close();
}
