import { describe, expect, it, vi } from "vitest";
import { ORG_ID } from "../test/helpers";
import { ORG_STORAGE_KEY } from "../lib/selectedOrg";
import { createPlatformFetcher, subscriptionUrl } from "./fetcher";

const INTROSPECTION = { query: "query IntrospectionQuery { __typename }", operationName: "IntrospectionQuery" };

function stubGraphqlFetch() {
  const fetchMock = vi.fn((_input: RequestInfo | URL, _init?: RequestInit) =>
    Promise.resolve(
      new Response(JSON.stringify({ data: { __typename: "Query" } }), {
        headers: { "content-type": "application/json" },
      }),
    ),
  );
  vi.stubGlobal("fetch", fetchMock);
  return fetchMock;
}

describe("GraphiQL fetcher", () => {
  it("posts with X-CSRF-Token from the rc_csrf cookie and X-Org-Id from the app's selection", async () => {
    document.cookie = "rc_csrf=tok%2Fen; path=/";
    localStorage.setItem(ORG_STORAGE_KEY, ORG_ID);
    const fetchMock = stubGraphqlFetch();

    const fetcher = createPlatformFetcher({ protocol: "http:", host: "localhost" });
    await expect(fetcher(INTROSPECTION)).resolves.toEqual({ data: { __typename: "Query" } });
    // Headers typed in GraphiQL's headers editor win over the platform's.
    await fetcher(INTROSPECTION, { headers: { "X-Org-Id": "other-org" } });

    expect(fetchMock).toHaveBeenCalledTimes(2);
    const [url, init] = fetchMock.mock.calls[0] ?? [];
    expect(url).toBe("/graphql");
    expect(init?.method).toBe("POST");
    expect(init?.credentials).toBe("same-origin");
    const headers = new Headers(init?.headers);
    expect(headers.get("X-CSRF-Token")).toBe("tok/en");
    expect(headers.get("X-Org-Id")).toBe(ORG_ID);
    expect(headers.get("content-type")).toBe("application/json");
    expect(new Headers(fetchMock.mock.calls[1]?.[1]?.headers).get("X-Org-Id")).toBe("other-org");
  });

  it("sends neither header without a cookie or a selected organisation", async () => {
    const fetchMock = stubGraphqlFetch();
    await createPlatformFetcher({ protocol: "http:", host: "localhost" })(INTROSPECTION);
    const headers = new Headers(fetchMock.mock.calls[0]?.[1]?.headers);
    expect(headers.has("X-CSRF-Token")).toBe(false);
    expect(headers.has("X-Org-Id")).toBe(false);
  });

  it("subscribes over ws:// or wss:// on the page's host", () => {
    expect(subscriptionUrl({ protocol: "http:", host: "localhost:8080" })).toBe("ws://localhost:8080/graphql/ws");
    expect(subscriptionUrl({ protocol: "https:", host: "rc.example.com" })).toBe("wss://rc.example.com/graphql/ws");
  });
});
