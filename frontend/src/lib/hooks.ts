import { useCallback, useEffect, useMemo, useState } from "react";
import { type ApiError, asApiError, isAbortError } from "../api/client";

export interface AsyncState<T> {
  data: T | undefined;
  error: ApiError | undefined;
  /** True while the current request is in flight (earlier data stays visible meanwhile). */
  loading: boolean;
  reload: () => void;
  /** Replaces the data locally, e.g. with an updated row returned by a mutation. */
  setData: (update: (current: T | undefined) => T | undefined) => void;
}

/**
 * Runs `load` when it changes (wrap it in useCallback with its inputs as dependencies) and on
 * `reload()`. Responses to superseded requests are dropped.
 */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>): AsyncState<T> {
  const [version, setVersion] = useState(0);
  const request = useMemo(() => ({ load, version }), [load, version]);
  const [state, setState] = useState<{
    request: typeof request | null;
    data: T | undefined;
    error: ApiError | undefined;
  }>({ request: null, data: undefined, error: undefined });

  useEffect(() => {
    const controller = new AbortController();
    request.load(controller.signal).then(
      (data) => {
        setState({ request, data, error: undefined });
      },
      (error: unknown) => {
        if (isAbortError(error)) return;
        setState((prev) => ({ request, data: prev.data, error: asApiError(error) }));
      },
    );
    return () => {
      controller.abort();
    };
  }, [request]);

  const reload = useCallback(() => {
    setVersion((v) => v + 1);
  }, []);
  const setData = useCallback((update: (current: T | undefined) => T | undefined) => {
    setState((prev) => ({ ...prev, data: update(prev.data) }));
  }, []);

  return { data: state.data, error: state.error, loading: state.request !== request, reload, setData };
}

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export interface PagedState<T> {
  items: T[];
  error: ApiError | undefined;
  /** The first page is loading. */
  loading: boolean;
  hasMore: boolean;
  loadingMore: boolean;
  loadMore: () => void;
  reload: () => void;
  /** Rewrites the loaded items locally (after a mutation). */
  update: (update: (items: T[]) => T[]) => void;
}

/**
 * Cursor pagination: loads the first page when `loadPage` changes (wrap it in useCallback with
 * the filters as dependencies) and appends later pages on `loadMore()`.
 */
export function usePaged<T>(
  loadPage: (cursor: string | undefined, signal: AbortSignal) => Promise<Page<T>>,
): PagedState<T> {
  const [version, setVersion] = useState(0);
  const request = useMemo(() => ({ loadPage, version }), [loadPage, version]);
  const [state, setState] = useState<{
    request: typeof request | null;
    items: T[];
    next: string | null;
    error: ApiError | undefined;
    loadingMore: boolean;
  }>({ request: null, items: [], next: null, error: undefined, loadingMore: false });

  useEffect(() => {
    const controller = new AbortController();
    request.loadPage(undefined, controller.signal).then(
      (page) => {
        setState({ request, items: page.items, next: page.next_cursor ?? null, error: undefined, loadingMore: false });
      },
      (error: unknown) => {
        if (isAbortError(error)) return;
        setState({ request, items: [], next: null, error: asApiError(error), loadingMore: false });
      },
    );
    return () => {
      controller.abort();
    };
  }, [request]);

  const loading = state.request !== request;
  const { next, loadingMore } = state;

  const loadMore = useCallback(() => {
    if (!next || loadingMore) return;
    setState((prev) => ({ ...prev, loadingMore: true, error: undefined }));
    request.loadPage(next, new AbortController().signal).then(
      (page) => {
        setState((prev) =>
          prev.request === request
            ? { ...prev, items: [...prev.items, ...page.items], next: page.next_cursor ?? null, loadingMore: false }
            : prev,
        );
      },
      (error: unknown) => {
        setState((prev) =>
          prev.request === request ? { ...prev, error: asApiError(error), loadingMore: false } : prev,
        );
      },
    );
  }, [next, loadingMore, request]);

  const reload = useCallback(() => {
    setVersion((v) => v + 1);
  }, []);
  const update = useCallback((fn: (items: T[]) => T[]) => {
    setState((prev) => ({ ...prev, items: fn(prev.items) }));
  }, []);

  return {
    items: loading && state.request?.loadPage !== loadPage ? [] : state.items,
    error: loading ? undefined : state.error,
    loading,
    hasMore: !loading && next !== null,
    loadingMore,
    loadMore,
    reload,
    update,
  };
}

/**
 * Runs an async action from an event handler, tracking `busy` and the last error. `run` resolves
 * to true when the action succeeded; do the follow-up work inside the action itself.
 */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<unknown>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const run = useCallback(
    async (...args: A): Promise<boolean> => {
      setBusy(true);
      setError(undefined);
      try {
        await action(...args);
        return true;
      } catch (e) {
        setError(asApiError(e));
        return false;
      } finally {
        setBusy(false);
      }
    },
    [action],
  );
  const reset = useCallback(() => {
    setError(undefined);
  }, []);
  return { run, busy, error, reset };
}
