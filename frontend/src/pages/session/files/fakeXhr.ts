/**
 * Test double for the XMLHttpRequest that uploads go through (fetch has no upload progress); the
 * test answers it. Hand `() => new FakeXhr()` to `FilesApi`, or stub the global with the class.
 * Every instance is kept in `FakeXhr.all` (reset it before use), the latest also as `FakeXhr.last`.
 */
export class FakeXhr {
  static all: FakeXhr[] = [];
  static get last(): FakeXhr | undefined {
    return FakeXhr.all.at(-1);
  }
  method = "";
  url = "";
  headers: Record<string, string> = {};
  body: FormData | null = null;
  status = 0;
  responseText = "";
  withCredentials = false;
  upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  constructor() {
    FakeXhr.all.push(this);
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name.toLowerCase()] = value;
  }
  getResponseHeader() {
    return null;
  }
  send(body: FormData) {
    this.body = body;
  }
  abort() {
    this.onabort?.();
  }
  progress(loaded: number, total: number) {
    this.upload.onprogress?.(new ProgressEvent("progress", { lengthComputable: true, loaded, total }));
  }
  respond(status: number, body: unknown) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.onload?.();
  }
}
