/**
 * The editors, behind `React.lazy`: the first one rendered loads Monaco (a separate chunk, with
 * its worker); the app's main bundle never contains it. Tests mock `./monaco/CodeEditor` and
 * `./monaco/DiffView`, which jsdom cannot run.
 */
import { lazy, type ReactNode, Suspense } from "react";
import { LoadBoundary } from "../../../components/LoadBoundary";
import type { CodeEditorProps } from "./monaco/CodeEditor";
import type { DiffViewProps } from "./monaco/DiffView";

const LazyCodeEditor = lazy(() => import("./monaco/CodeEditor"));
const LazyDiffView = lazy(() => import("./monaco/DiffView"));

function Fallback({ children }: { children: ReactNode }) {
  return (
    <p className="muted editor-loading" role="status">
      {children}
    </p>
  );
}

export function CodeEditor(props: CodeEditorProps) {
  return (
    <LoadBoundary what="editor">
      <Suspense fallback={<Fallback>Loading the editor…</Fallback>}>
        <LazyCodeEditor {...props} />
      </Suspense>
    </LoadBoundary>
  );
}

export function DiffView(props: DiffViewProps) {
  return (
    <LoadBoundary what="editor">
      <Suspense fallback={<Fallback>Loading the diff…</Fallback>}>
        <LazyDiffView {...props} />
      </Suspense>
    </LoadBoundary>
  );
}
