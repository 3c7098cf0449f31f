import { Component, type ReactNode } from "react";

interface LoadBoundaryProps {
  /** What the lazy chunk renders, named in the message: "editor" gives "The editor could not be loaded…". */
  what: string;
  children: ReactNode;
}

/**
 * Wraps a `React.lazy` component and its `Suspense`: a chunk that fails to load (offline, a deploy
 * replaced it) must not take the page down, so the failure becomes an alert in its place.
 */
export class LoadBoundary extends Component<LoadBoundaryProps, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override render() {
    if (this.state.failed) {
      return (
        <p className="alert alert-error" role="alert">
          {`The ${this.props.what} could not be loaded. Check your connection and reload the page.`}
        </p>
      );
    }
    return this.props.children;
  }
}
