/**
 * The GraphiQL page (graphiql.html, served by the api at GET /graphql). A separate entry: the
 * app's bundle does not include GraphiQL or Monaco. Everything, including Monaco's web workers,
 * is bundled by Vite, so the page works offline.
 */
// Monaco's editor, JSON and GraphQL workers as Vite `?worker` imports (GraphiQL's setup for Vite).
import "graphiql/setup-workers/vite";
import "graphiql/style.css";
import "./graphiql.css";
import { GraphiQL } from "graphiql";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createPlatformFetcher } from "./fetcher";

const DEFAULT_QUERY = `# Remote Claude GraphQL API.
# Requests use your browser session and the
# organisation selected in the app. API clients
# send "Authorization: Bearer <token>" instead.
# Ctrl+Enter runs the query; the book icon opens
# the schema documentation.
query {
  me { email }
  sessions(limit: 10) {
    items { id name state }
    nextCursor
  }
}
`;

const fetcher = createPlatformFetcher();

function GraphiQLPage() {
  return (
    <>
      <header className="rc-graphiql-header">
        <a href="/">← Remote Claude</a>
        <span aria-hidden="true">/</span>
        <h1>GraphQL explorer</h1>
        <a className="rc-graphiql-sdl" href="/graphql/schema.graphql">
          Schema (SDL)
        </a>
      </header>
      <main className="rc-graphiql-main">
        <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} />
      </main>
    </>
  );
}

const root = document.getElementById("root");
if (!root) throw new Error("graphiql.html has no #root element");
createRoot(root).render(
  <StrictMode>
    <GraphiQLPage />
  </StrictMode>,
);
