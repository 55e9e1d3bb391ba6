// Talks to the dashboard's own API with URLs relative to the page, so it works under any mount
// path. Actions carry the CSRF token the session handed out, as a custom header and a JSON body.
import type { ActionResponse, ErrorResponse, SessionInfo } from '../src/api-types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function parse<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'BAD_RESPONSE', `The server answered ${res.status} with something that is not JSON.`);
  }
  if (!res.ok) {
    const err = (body ?? {}) as Partial<ErrorResponse>;
    throw new ApiError(res.status, err.code ?? 'HTTP', err.error ?? `The server answered ${res.status}.`);
  }
  return body as T;
}

export async function get<T>(path: string, params?: Record<string, string | undefined>): Promise<T> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== '') qs.set(k, v);
  const query = qs.toString();
  const res = await fetch(`api/${path}${query ? `?${query}` : ''}`, { headers: { accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin' });
  return parse<T>(res);
}

let session: SessionInfo | null = null;

export async function loadSession(): Promise<SessionInfo> {
  session = await get<SessionInfo>('session');
  return session;
}

export async function post(path: string, body: Record<string, unknown> = {}): Promise<ActionResponse> {
  const res = await fetch(`api/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'x-baton-csrf': session?.csrfToken ?? '' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  return parse<ActionResponse>(res);
}

/** A path segment, encoded: task ids and queue names may hold any character. */
export const seg = (s: string) => encodeURIComponent(s);
