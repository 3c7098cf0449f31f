import { describe, expect, it } from "vitest";
import { ApiError } from "../../../api/client";
import { changeEffects, decodeText, languageFor, resolveName } from "./paths";
import { canReplace, type UploadItem, uploadPercent, uploadsReducer } from "./uploads";

function first(items: UploadItem[]): UploadItem {
  const item = items[0];
  if (!item) throw new Error("empty queue");
  return item;
}

describe("upload progress", () => {
  const file = new File(["0123456789"], "a.txt");
  const added = uploadsReducer([], { type: "add", items: [{ id: "u1", file, dir: "docs" }] });

  it("queues with the file's size and counts progress only while uploading", () => {
    expect(added[0]).toMatchObject({ status: "queued", loaded: 0, total: 10, dir: "docs" });
    // A late event for an upload that is not running changes nothing.
    expect(uploadsReducer(added, { type: "progress", id: "u1", loaded: 5, total: 10 })[0]?.loaded).toBe(0);
    const started = uploadsReducer(added, { type: "start", id: "u1" });
    const half = uploadsReducer(started, { type: "progress", id: "u1", loaded: 5, total: 10 });
    expect(uploadPercent(first(half))).toBe(50);
    // Out-of-order events never move the bar back.
    const stale = uploadsReducer(half, { type: "progress", id: "u1", loaded: 3, total: 10 });
    expect(uploadPercent(first(stale))).toBe(50);
    const done = uploadsReducer(stale, { type: "done", id: "u1" });
    expect(uploadPercent(first(done))).toBe(100);
    expect(uploadsReducer(done, { type: "clearFinished" })).toEqual([]);
  });

  it("keeps the api's error, offers Replace only for a taken name, and requeues with overwrite", () => {
    const started = uploadsReducer(added, { type: "start", id: "u1" });
    const tooBig = uploadsReducer(started, {
      type: "fail",
      id: "u1",
      error: new ApiError({ status: 413, code: "payload_too_large", message: "larger than the limit" }),
    });
    expect(tooBig[0]?.error?.message).toBe("larger than the limit");
    expect(canReplace(first(tooBig))).toBe(false);
    const exists = uploadsReducer(started, {
      type: "fail",
      id: "u1",
      error: new ApiError({ status: 409, code: "conflict", message: "exists" }),
    });
    expect(canReplace(first(exists))).toBe(true);
    const again = uploadsReducer(exists, { type: "replace", id: "u1" });
    expect(again[0]).toMatchObject({ status: "queued", overwrite: true, error: undefined });
    expect(canReplace({ ...first(again), status: "error" })).toBe(false);
  });

  it("shows 0 % for an empty file until it is done", () => {
    const empty = uploadsReducer([], { type: "add", items: [{ id: "e", file: new File([], "e"), dir: "" }] });
    expect(uploadPercent(first(empty))).toBe(0);
  });
});

describe("paths", () => {
  it("maps notices to the directories to re-read and the paths that changed or went away", () => {
    const effects = changeEffects([
      { seq: 1, path: "src/a.ts", change: "modified", taskId: null },
      { seq: 2, path: "b.txt", change: "created", taskId: null },
      { seq: 3, path: "lib/new.rs", change: "renamed", from: "src/old.rs", taskId: null },
      { seq: 4, path: "tmp", change: "deleted", taskId: null },
    ]);
    expect([...effects.dirs].sort()).toEqual(["", "lib", "src"]);
    expect([...effects.changed].sort()).toEqual(["b.txt", "lib/new.rs", "src/a.ts"]);
    expect([...effects.removed].sort()).toEqual(["src/old.rs", "tmp"]);
  });

  it("resolves typed names and refuses what the api would", () => {
    expect(resolveName("src", " a/b.ts ")).toEqual({ path: "src/a/b.ts" });
    expect(resolveName("", "./x")).toEqual({ path: "x" });
    expect(resolveName("src", "../x")).toHaveProperty("error");
    expect(resolveName("src", "/etc/passwd")).toHaveProperty("error");
    expect(resolveName("src", "  ")).toHaveProperty("error");
  });

  it("picks the language from the extension or the name", () => {
    expect(languageFor("src/App.tsx")).toBe("typescript");
    expect(languageFor("Cargo.toml")).toBe("ini");
    expect(languageFor("docker/Dockerfile")).toBe("dockerfile");
    expect(languageFor("LICENSE")).toBe("plaintext");
  });

  it("decodes UTF-8 text and refuses binary", () => {
    expect(decodeText(new TextEncoder().encode("héllo"))).toBe("héllo");
    expect(decodeText(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x00]))).toBeNull();
    expect(decodeText(new Uint8Array([0xff, 0xfe, 0x41]))).toBeNull();
  });
});
