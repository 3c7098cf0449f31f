/**
 * A session's workspace files over the api (`/api/v1/sessions/{id}/files…`, forwarded to
 * file-service; docs/files.md). Not in the OpenAPI document yet, so this is plain `fetch`
 * with the platform's headers (`X-Org-Id`, `X-CSRF-Token`) and error shape (`ApiError`).
 *
 * ETags are the quoted SHA-256 of a file's content. A save sends back the ETag of what was
 * read as `If-Match`; a file changed meanwhile answers 412, surfaced as {@link ConflictError}.
 */
import { ApiError, type ApiClientOptions, applyPlatformHeaders, networkError, toApiError } from "../../../api/client";

export type EntryKind = "file" | "dir" | "symlink" | "other";

/** file-service's entry: the workspace-relative path plus the agent's metadata. */
export interface FileEntry {
  path: string;
  name: string;
  kind: EntryKind;
  size: number;
  /** Unix permission bits. */
  mode: number;
  modified_ms: number;
  /** Only from stat and writes (listings do not hash files). */
  etag?: string;
}

export interface TreeListing {
  path: string;
  entries: FileEntry[];
  /** More entries exist than one answer holds (10 000). */
  truncated: boolean;
}

export interface FileContent {
  bytes: Uint8Array;
  /** The `ETag` header as sent (quoted), for `If-Match`. */
  etag: string | null;
}

export interface SavedFile {
  entry: FileEntry;
  etag: string | null;
  created: boolean;
}

/** A conditional write lost: the file changed (or appeared) since it was read. */
export class ConflictError extends ApiError {
  constructor(source: ApiError) {
    super({
      status: source.status,
      code: source.code,
      message: source.message,
      field: source.field,
      requestId: source.requestId,
    });
  }
}

export interface FilesApiOptions extends Pick<ApiClientOptions, "orgId" | "csrfToken"> {
  sessionId: string;
  /** Defaults to this page's origin. */
  baseUrl?: string;
  /** Defaults to the global fetch, looked up per call (tests stub it). */
  fetch?: (request: Request) => Promise<Response>;
  /** Defaults to `new XMLHttpRequest()` (uploads: fetch reports no upload progress). */
  createXhr?: () => XMLHttpRequest;
}

export interface UploadOptions {
  /** Replace an existing file of the same name (else 409). */
  overwrite?: boolean;
  onProgress?: (loaded: number, total: number) => void;
  signal?: AbortSignal;
}

async function errorFrom(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  let body: unknown = text || undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a proxy's page): toApiError falls back to a message for the status.
  }
  const error = toApiError(response.status, body, response.headers.get("x-request-id"));
  return response.status === 412 ? new ConflictError(error) : error;
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

export class FilesApi {
  readonly #options: FilesApiOptions;

  constructor(options: FilesApiOptions) {
    this.#options = options;
  }

  get sessionId(): string {
    return this.#options.sessionId;
  }

  #url(operation: string, query: Record<string, string | undefined> = {}, withOrg = false): string {
    const base = this.#options.baseUrl ?? globalThis.location.origin;
    const url = new URL(`/api/v1/sessions/${encodeURIComponent(this.#options.sessionId)}/${operation}`, base);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    // Plain links cannot send `X-Org-Id`; the api reads `org_id` from the query instead.
    const org = withOrg ? this.#options.orgId() : null;
    if (org) url.searchParams.set("org_id", org);
    return url.toString();
  }

  async #request(method: string, url: string, init: { body?: BodyInit; headers?: HeadersInit; signal?: AbortSignal } = {}) {
    const headers = new Headers(init.headers);
    applyPlatformHeaders(headers, method, this.#options);
    const request = new Request(url, {
      method,
      headers,
      body: init.body ?? null,
      credentials: "same-origin",
      signal: init.signal ?? null,
    });
    let response: Response;
    try {
      response = await (this.#options.fetch ?? ((r: Request) => globalThis.fetch(r)))(request);
    } catch (error) {
      if (isAbort(error)) throw error;
      throw networkError(error);
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  /** One directory level (`""` is the workspace root). */
  async list(path: string, signal?: AbortSignal): Promise<TreeListing> {
    const response = await this.#request("GET", this.#url("files/tree", { path, depth: "1" }), { signal });
    return (await response.json()) as TreeListing;
  }

  async stat(path: string, signal?: AbortSignal): Promise<FileEntry> {
    const response = await this.#request("GET", this.#url("files/stat", { path }), { signal });
    return (await response.json()) as FileEntry;
  }

  async read(path: string, signal?: AbortSignal): Promise<FileContent> {
    const response = await this.#request("GET", this.#url("files/content", { path }), { signal });
    return { bytes: new Uint8Array(await response.arrayBuffer()), etag: response.headers.get("etag") };
  }

  /**
   * Replaces the file. `ifMatch`: the ETag it was read with (412 → ConflictError when it
   * changed); null overwrites whatever is there. `createOnly`: fail when the file exists.
   */
  async write(
    path: string,
    content: string | Blob,
    precondition: { ifMatch: string | null } | { createOnly: true },
  ): Promise<SavedFile> {
    const headers = new Headers({ "content-type": "application/octet-stream" });
    if ("createOnly" in precondition) headers.set("if-none-match", "*");
    else if (precondition.ifMatch) headers.set("if-match", precondition.ifMatch);
    const response = await this.#request("PUT", this.#url("files/content", { path }), { body: content, headers });
    const entry = (await response.json()) as FileEntry;
    return { entry, etag: response.headers.get("etag"), created: response.status === 201 };
  }

  async create(path: string, kind: "file" | "dir"): Promise<FileEntry> {
    const response = await this.#request("POST", this.#url("files/create"), {
      body: JSON.stringify({ path, kind }),
      headers: { "content-type": "application/json" },
    });
    return (await response.json()) as FileEntry;
  }

  async rename(from: string, to: string): Promise<FileEntry> {
    const response = await this.#request("POST", this.#url("files/rename"), {
      body: JSON.stringify({ from, to }),
      headers: { "content-type": "application/json" },
    });
    return (await response.json()) as FileEntry;
  }

  /** Deletes a file, a symlink (not its target) or a directory (`recursive` when not empty). */
  async remove(path: string, recursive: boolean): Promise<void> {
    await this.#request("DELETE", this.#url("files", { path, recursive: String(recursive) }));
  }

  /** A link that downloads the file (same-origin cookie, org in the query). */
  downloadUrl(path: string): string {
    return this.#url("files/content", { path }, true);
  }

  /** A link that downloads a directory as a zip. */
  zipUrl(path: string): string {
    return this.#url("files/zip", { path }, true);
  }

  /**
   * Uploads one file into `dir` as multipart/form-data. XMLHttpRequest rather than fetch:
   * only it reports upload progress. Resolves with the stored entries.
   */
  upload(dir: string, file: File, options: UploadOptions = {}): Promise<FileEntry[]> {
    const url = this.#url("files/upload", { path: dir, overwrite: options.overwrite ? "true" : undefined });
    const headers = new Headers();
    applyPlatformHeaders(headers, "POST", this.#options);
    const xhr = this.#options.createXhr?.() ?? new XMLHttpRequest();
    return new Promise<FileEntry[]>((resolve, reject) => {
      const { signal } = options;
      const onAbort = () => xhr.abort();
      if (signal?.aborted) {
        reject(new DOMException("The upload was cancelled.", "AbortError"));
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = () => signal?.removeEventListener("abort", onAbort);
      xhr.open("POST", url);
      xhr.withCredentials = true;
      headers.forEach((value, key) => xhr.setRequestHeader(key, value));
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) options.onProgress?.(event.loaded, event.total);
      };
      xhr.onload = () => {
        done();
        const text = typeof xhr.responseText === "string" ? xhr.responseText : "";
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = text;
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          options.onProgress?.(file.size, file.size);
          resolve(((body ?? {}) as { files?: FileEntry[] }).files ?? []);
        } else {
          const error = toApiError(xhr.status, body, xhr.getResponseHeader("x-request-id"));
          reject(xhr.status === 412 ? new ConflictError(error) : error);
        }
      };
      xhr.onerror = () => {
        done();
        reject(networkError(new Error("upload failed")));
      };
      xhr.onabort = () => {
        done();
        reject(new DOMException("The upload was cancelled.", "AbortError"));
      };
      const form = new FormData();
      form.append("file", file, file.name);
      xhr.send(form);
    });
  }
}
