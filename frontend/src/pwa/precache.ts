/**
 * What the service worker precaches: the app shell, computed from the Vite/Rolldown bundle at
 * build time (the `rc-pwa` plugin in vite.config.ts). Pure, so it is unit-tested and also
 * type-checked with the Node config (no DOM types here).
 */

/** The parts of a Rolldown output chunk or asset this needs. */
export type BundleItem =
  | {
      type: "chunk";
      fileName: string;
      name: string;
      isEntry: boolean;
      imports: readonly string[];
      viteMetadata?: { importedCss: ReadonlySet<string>; importedAssets: ReadonlySet<string> } | null;
    }
  | { type: "asset"; fileName: string };

export interface PrecacheOptions {
  /** The entry chunk's name (the `build.rolldownOptions.input` key of the app page). */
  entry: string;
  /** URLs precached besides the bundle (the shell's `/`, icons, the manifest). */
  extra?: readonly string[];
}

/**
 * The app entry's static import closure with its CSS and assets, as root-relative URLs, plus
 * `extra`. Lazy chunks (dynamic imports: editors, terminals) and other pages' chunks (GraphiQL,
 * Monaco: megabytes) are left out; the worker caches lazy chunks when they are first used.
 */
export function precacheList(bundle: Readonly<Record<string, BundleItem>>, options: PrecacheOptions): string[] {
  const entry = Object.values(bundle).find(
    (item): item is Extract<BundleItem, { type: "chunk" }> =>
      item.type === "chunk" && item.isEntry && item.name === options.entry,
  );
  if (!entry) throw new Error(`precacheList: no entry chunk named "${options.entry}" in the bundle`);

  const files = new Set<string>();
  const seen = new Set<string>();
  const visit = (fileName: string) => {
    if (seen.has(fileName)) return;
    seen.add(fileName);
    const item = bundle[fileName];
    if (item?.type !== "chunk") return;
    files.add(item.fileName);
    for (const css of item.viteMetadata?.importedCss ?? []) files.add(css);
    for (const asset of item.viteMetadata?.importedAssets ?? []) files.add(asset);
    for (const imported of item.imports) visit(imported);
  };
  visit(entry.fileName);

  const urls = [...files].map((f) => `/${f}`).sort();
  return [...new Set([...(options.extra ?? []), ...urls])];
}

/**
 * A short, stable fingerprint of the precached files (FNV-1a, 32 bit): a new build with any
 * changed file gets a new cache name, so `activate` can drop the old cache.
 */
export function cacheVersion(parts: readonly string[]): string {
  let hash = 0x811c9dc5;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      hash ^= part.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    hash ^= 0x0a; // separator, so ["ab","c"] and ["a","bc"] differ
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
