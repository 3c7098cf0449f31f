import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../../../api/client";
import { apiError, json, ORG_ID, stubFetch } from "../../../test/helpers";
import { FakeXhr } from "./fakeXhr";
import { ConflictError, FilesApi } from "./filesApi";

const SESSION = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const ETAG = '"3f2a"';

function makeApi(overrides: Partial<ConstructorParameters<typeof FilesApi>[0]> = {}) {
  return new FilesApi({
    sessionId: SESSION,
    orgId: () => ORG_ID,
    csrfToken: () => "csrf-1",
    baseUrl: "http://localhost",
    ...overrides,
  });
}

const entry = { path: "src/a.ts", name: "a.ts", kind: "file", size: 3, mode: 0o644, modified_ms: 1 };

describe("FilesApi", () => {
  it("lists one level with the org header and no CSRF token on reads", async () => {
    const requests = stubFetch(() => json({ path: "src", entries: [entry], truncated: false }));
    const listing = await makeApi().list("src");
    expect(listing.entries[0]?.name).toBe("a.ts");
    const request = requests[0];
    const url = new URL(request?.url ?? "");
    expect(url.pathname).toBe(`/api/v1/sessions/${SESSION}/files/tree`);
    expect(url.searchParams.get("path")).toBe("src");
    expect(url.searchParams.get("depth")).toBe("1");
    expect(request?.headers.get("X-Org-Id")).toBe(ORG_ID);
    expect(request?.headers.has("X-CSRF-Token")).toBe(false);
  });

  it("returns the ETag a read was made with, and sends it back as If-Match on save", async () => {
    const requests = stubFetch((request) =>
      request.method === "GET"
        ? new Response("hello", { headers: { etag: ETAG } })
        : json({ ...entry, etag: "77aa" }, 200, { etag: '"77aa"' }),
    );
    const api = makeApi();
    const read = await api.read("src/a.ts");
    expect(new TextDecoder().decode(read.bytes)).toBe("hello");
    expect(read.etag).toBe(ETAG);
    const saved = await api.write("src/a.ts", "hello!", { ifMatch: read.etag });
    const put = requests[1];
    expect(put?.method).toBe("PUT");
    expect(new URL(put?.url ?? "").searchParams.get("path")).toBe("src/a.ts");
    expect(put?.headers.get("If-Match")).toBe(ETAG);
    expect(put?.headers.get("X-CSRF-Token")).toBe("csrf-1");
    expect(await put?.text()).toBe("hello!");
    expect(saved.etag).toBe('"77aa"');
    expect(saved.created).toBe(false);
  });

  it("sends no If-Match when overwriting, and If-None-Match: * when creating only", async () => {
    const requests = stubFetch(() => json(entry, 201));
    const api = makeApi();
    await api.write("a", "x", { ifMatch: null });
    expect((await api.write("b", "x", { createOnly: true })).created).toBe(true);
    expect(requests[0]?.headers.has("If-Match")).toBe(false);
    expect(requests[0]?.headers.has("If-None-Match")).toBe(false);
    expect(requests[1]?.headers.get("If-None-Match")).toBe("*");
  });

  it("turns 412 into a ConflictError carrying the server's message", async () => {
    stubFetch(() => apiError(412, "precondition_failed", "src/a.ts changed since it was read"));
    const failure = makeApi().write("src/a.ts", "x", { ifMatch: ETAG });
    await expect(failure).rejects.toBeInstanceOf(ConflictError);
    await expect(failure).rejects.toMatchObject({ status: 412, message: "src/a.ts changed since it was read" });
  });

  it("turns other error bodies into ApiErrors with their message, and non-JSON bodies into a fallback", async () => {
    stubFetch((_request, url) =>
      url.pathname.endsWith("/rename")
        ? apiError(409, "conflict", "b.txt already exists")
        : new Response("<html>bad gateway</html>", { status: 502 }),
    );
    const api = makeApi();
    const conflict = await api.rename("a.txt", "b.txt").catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(ApiError);
    expect(conflict).not.toBeInstanceOf(ConflictError);
    expect(conflict).toMatchObject({ status: 409, code: "conflict", message: "b.txt already exists" });
    const gateway = await api.stat("x").catch((e: unknown) => e);
    expect(gateway).toMatchObject({ status: 502, code: "http_502" });
  });

  it("reports an unreachable server as a network error", async () => {
    vi.stubGlobal("fetch", vi.fn(() => Promise.reject(new TypeError("Failed to fetch"))));
    await expect(makeApi().list("")).rejects.toMatchObject({ status: 0, code: "network_error" });
  });

  it("sends create, rename and delete as the file-service expects", async () => {
    const requests = stubFetch((request) => (request.method === "DELETE" ? new Response(null, { status: 204 }) : json(entry, 201)));
    const api = makeApi();
    await api.create("src/new", "dir");
    await api.rename("a", "b");
    await api.remove("src", true);
    expect(await requests[0]?.json()).toEqual({ path: "src/new", kind: "dir" });
    expect(await requests[1]?.json()).toEqual({ from: "a", to: "b" });
    const del = new URL(requests[2]?.url ?? "");
    expect(requests[2]?.method).toBe("DELETE");
    expect(del.pathname).toBe(`/api/v1/sessions/${SESSION}/files`);
    expect(del.searchParams.get("recursive")).toBe("true");
  });

  it("builds download links that carry the organisation in the query", () => {
    const api = makeApi();
    const file = new URL(api.downloadUrl("dir/a b.txt"));
    expect(file.pathname).toBe(`/api/v1/sessions/${SESSION}/files/content`);
    expect(file.searchParams.get("path")).toBe("dir/a b.txt");
    expect(file.searchParams.get("org_id")).toBe(ORG_ID);
    const zip = new URL(api.zipUrl(""));
    expect(zip.pathname).toBe(`/api/v1/sessions/${SESSION}/files/zip`);
    expect(zip.searchParams.get("org_id")).toBe(ORG_ID);
  });
});

describe("FilesApi.upload", () => {
  afterEach(() => {
    FakeXhr.all = [];
  });
  const xhrApi = () => makeApi({ createXhr: () => new FakeXhr() as unknown as XMLHttpRequest });

  it("posts multipart with the platform headers and reports progress", async () => {
    const progress: [number, number][] = [];
    const file = new File(["0123456789"], "notes.txt");
    const done = xhrApi().upload("docs", file, { onProgress: (l, t) => progress.push([l, t]) });
    const xhr = FakeXhr.last;
    if (!xhr) throw new Error("no request");
    expect(xhr.method).toBe("POST");
    const url = new URL(xhr.url);
    expect(url.pathname).toBe(`/api/v1/sessions/${SESSION}/files/upload`);
    expect(url.searchParams.get("path")).toBe("docs");
    expect(url.searchParams.has("overwrite")).toBe(false);
    expect(xhr.headers["x-org-id"]).toBe(ORG_ID);
    expect(xhr.headers["x-csrf-token"]).toBe("csrf-1");
    expect((xhr.body?.get("file") as File).name).toBe("notes.txt");
    xhr.progress(4, 10);
    xhr.respond(201, { files: [{ ...entry, path: "docs/notes.txt", name: "notes.txt" }] });
    const stored = await done;
    expect(stored[0]?.path).toBe("docs/notes.txt");
    expect(progress).toEqual([
      [4, 10],
      [10, 10],
    ]);
  });

  it("rejects with the api's size-limit error, and asks to overwrite when told to", async () => {
    const api = xhrApi();
    const failed = api.upload("", new File(["x"], "big.bin"));
    FakeXhr.last?.respond(413, { error: { code: "payload_too_large", message: "the upload is larger than the limit of 10 bytes" } });
    await expect(failed).rejects.toMatchObject({ status: 413, message: "the upload is larger than the limit of 10 bytes" });
    void api.upload("", new File(["x"], "a.txt"), { overwrite: true }).catch(() => undefined);
    expect(new URL(FakeXhr.last?.url ?? "").searchParams.get("overwrite")).toBe("true");
  });

  it("aborts with an AbortError when the signal fires", async () => {
    const controller = new AbortController();
    const pending = xhrApi().upload("", new File(["x"], "a.txt"), { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
  });
});
