// Live data without reloads: each page polls its endpoint, pausing while the tab is hidden and
// never stacking requests (the next poll is scheduled when the previous one answered).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Polled<T> {
  data: T | null;
  error: Error | null;
  /** Fetches again now (after an action). */
  reload(): void;
}

export function usePoll<T>(load: () => Promise<T>, key: string, pollMs: number): Polled<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  // A new key (another task, another filter) must not show the previous key's data meanwhile.
  const shownKey = useRef(key);
  if (shownKey.current !== key) {
    shownKey.current = key;
    setData(null);
    setError(null);
  }
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      if (document.visibilityState === 'hidden') {
        timer = setTimeout(run, pollMs);
        return;
      }
      try {
        const value = await loadRef.current();
        if (!stopped) {
          setData(value);
          setError(null);
        }
      } catch (err) {
        if (!stopped) setError(err instanceof Error ? err : new Error(String(err)));
      }
      if (!stopped) timer = setTimeout(run, pollMs);
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [key, pollMs, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, reload };
}

/** The hash route: `#/tasks?state=dead` → { path: '/tasks', params }. */
export interface Route {
  path: string;
  params: URLSearchParams;
}

function readRoute(): string {
  return window.location.hash.replace(/^#/, '') || '/';
}

export function useRoute(): Route {
  const [raw, setRaw] = useState(readRoute);
  useEffect(() => {
    const onChange = () => setRaw(readRoute());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  const [path, query = ''] = raw.split('?', 2) as [string, string?];
  return { path, params: new URLSearchParams(query) };
}

export function href(path: string, params?: Record<string, string | undefined> | URLSearchParams): string {
  const qs = new URLSearchParams();
  if (params instanceof URLSearchParams) params.forEach((v, k) => qs.append(k, v));
  else for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== '') qs.set(k, v);
  const q = qs.toString();
  return `#${path}${q ? `?${q}` : ''}`;
}
