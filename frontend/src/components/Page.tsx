import { type ReactNode, useEffect } from "react";

/** Sets the document title for the current page. */
export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Remote Claude`;
  }, [title]);
}

export interface PageHeaderProps {
  title: string;
  actions?: ReactNode;
  children?: ReactNode;
  /** 2 for sections under a layout that owns the h1 (Admin). */
  level?: 1 | 2;
}

export function PageHeader({ title, actions, children, level = 1 }: PageHeaderProps) {
  useDocumentTitle(title);
  const Heading = level === 1 ? "h1" : "h2";
  return (
    <div className="page-header">
      <div>
        <Heading>{title}</Heading>
        {children}
      </div>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p className="loading" role="status">
      {label}
    </p>
  );
}

export function EmptyState({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function LoadMore({ hasMore, loading, onLoadMore }: { hasMore: boolean; loading: boolean; onLoadMore: () => void }) {
  if (!hasMore) return null;
  return (
    <div className="load-more">
      <button type="button" className="button" onClick={onLoadMore} disabled={loading} aria-busy={loading}>
        {loading ? "Loading…" : "Load more"}
      </button>
    </div>
  );
}
