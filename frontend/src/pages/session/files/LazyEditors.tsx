/**
 * The editors, behind `React.lazy`: the first one rendered loads Monaco (a separate chunk, with
 * its worker); the app's main bundle never contains it. Tests mock `./monaco/CodeEditor` and
 * `./monaco/DiffView`, which jsdom cannot run.
 */
import { Component, lazy, type ReactNode, Suspense } from "react";
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

/** A chunk that fails to load (offline, a deploy replaced it) must not take the page down. */
class LoadBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override render() {
    if (this.state.failed) {
      return (
        <p className="alert alert-error" role="alert">
          The editor could not be loaded. Check your connection and reload the page.
        </p>
      );
    }
    return this.props.children;
  }
}

export function CodeEditor(props: CodeEditorProps) {
  return (
    <LoadBoundary>
      <Suspense fallback={<Fallback>Loading the editor…</Fallback>}>
        <LazyCodeEditor {...props} />
      </Suspense>
    </LoadBoundary>
  );
}

export function DiffView(props: DiffViewProps) {
  return (
    <LoadBoundary>
      <Suspense fallback={<Fallback>Loading the diff…</Fallback>}>
        <LazyDiffView {...props} />
      </Suspense>
    </LoadBoundary>
  );
}
