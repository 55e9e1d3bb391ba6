// The dashboard as one web-standard handler: `(request: Request) => Promise<Response>`. It serves
// the built UI and a small JSON API over the admin API; framework adapters only translate
// requests and responses. Security lives here, once, for every framework:
// - `authorize(request, context)` is asked before anything is served (required with actions);
// - actions are POST only, with a same-origin check (Origin, else Sec-Fetch-Site) and a CSRF
//   token in a custom header, and with a JSON body (a cross-site form cannot send one);
// - the page is static (no user data is ever templated into HTML) under a strict CSP, and the UI
//   renders every string as text;
// - hashed assets are cached forever, the page revalidates, the API is never stored.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ValidationError, isBatonError, type Baton, type TaskFilterInput } from '@baton/core';
import type { ActionResponse, ErrorResponse, SessionInfo } from './api-types.js';
import { defaultAssetsDir, loadAssets, type Asset } from './assets.js';
import { resolveOptions, type DashboardAction, type DashboardOptions, type ResolvedOptions } from './options.js';
import { ReadCache, filterFromQuery, listCounts, listTasks, overview, phaseDetail, phases, taskDetail, timers } from './queries.js';
import { EventSeries } from './series.js';
import { VERSION } from './version.js';

export interface Dashboard {
  /** Answers one request. Requests outside `basePath` get a 404 (adapters pass them on instead). */
  fetch(request: Request): Promise<Response>;
  /** The normalised mount path (`''` for the root). */
  readonly basePath: string;
  /** Whether a request's path is under the base path (what adapters use to pass other requests on). */
  handles(pathname: string): boolean;
}

export const CSRF_HEADER = 'x-baton-csrf';

// The page loads only its own scripts and styles, talks only to its own origin, and cannot be framed.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const COMMON_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function createDashboard(options: DashboardOptions): Dashboard {
  const opts = resolveOptions(options);
  const series = new EventSeries(opts.baton);
  const cache = new ReadCache(opts.baton);
  const csrfToken = opts.csrfSecret === null ? randomBytes(32).toString('base64url') : createHmac('sha256', opts.csrfSecret).update('baton-dashboard-csrf-v1').digest('base64url');
  let assets: Map<string, Asset> | null = null;
  const getAssets = (): Map<string, Asset> => {
    if (assets) return assets;
    const dir = opts.assetsDir ?? defaultAssetsDir();
    if (dir === null) throw new HttpError(503, 'UI_NOT_BUILT', 'The dashboard UI is not built: run `npm run build -w @baton/dashboard` (published packages ship it in dist/ui).');
    return (assets = loadAssets(dir));
  };
  const base = opts.basePath;
  const handles = (pathname: string) => pathname === base || pathname.startsWith(`${base}/`);

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (!handles(url.pathname)) return json(404, { error: `Not under the dashboard's base path ${base || '/'}.`, code: 'NOT_FOUND' });
    // Relative asset and API URLs resolve against the page's URL, so the page must end with a slash.
    if (url.pathname === base) return new Response(null, { status: 308, headers: { ...COMMON_HEADERS, location: `${base}/${url.search}`, 'cache-control': 'no-store' } });
    const path = url.pathname.slice(base.length + 1);
    const method = request.method.toUpperCase();
    const isAction = path.startsWith('api/') && method === 'POST';
    if (opts.authorize && !isAction && !(await opts.authorize(request, { kind: 'read' }))) throw new HttpError(401, 'UNAUTHORIZED', 'Not authorised to view the dashboard.');
    if (path.startsWith('api/')) return api(request, url, path.slice(4), method);
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'The dashboard pages answer GET only.');
    const files = getAssets();
    const file = files.get(path === '' ? 'index.html' : path);
    if (!file) throw new HttpError(404, 'NOT_FOUND', 'No such page or asset.');
    const headers: Record<string, string> = { ...COMMON_HEADERS, 'content-type': file.type, 'content-length': String(file.body.byteLength) };
    if (file.immutable) headers['cache-control'] = 'public, max-age=31536000, immutable';
    else headers['cache-control'] = 'no-cache';
    if (file.type.startsWith('text/html')) headers['content-security-policy'] = CSP;
    return new Response(method === 'HEAD' ? null : (file.body as Uint8Array<ArrayBuffer>), { status: 200, headers });
  }

  async function api(request: Request, url: URL, route: string, method: string): Promise<Response> {
    const baton = opts.baton;
    const seg = route.split('/').map((s) => decodeURIComponent(s));
    if (method === 'POST') return action(request, seg);
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'The dashboard API answers GET, and POST for actions.');
    const p = url.searchParams;
    if (route === 'session') {
      const session: SessionInfo = { actions: opts.actions, csrfToken: opts.actions ? csrfToken : null, backend: baton.backend.name, pollMs: opts.pollMs, version: VERSION };
      return json(200, session);
    }
    if (route === 'overview') return json(200, await overview(baton, cache, series));
    if (route === 'tasks') return json(200, await listTasks(baton, p));
    if (route === 'counts') return json(200, await listCounts(cache, p));
    if (seg[0] === 'tasks' && seg.length === 2) return json(200, await taskDetail(baton, seg[1]!));
    if (route === 'phases') return json(200, await phases(baton, cache, p.get('runId')));
    if (seg[0] === 'phases' && seg.length === 2) return json(200, await phaseDetail(baton, seg[1]!));
    if (route === 'timers') return json(200, await timers(baton));
    throw new HttpError(404, 'NOT_FOUND', `No API route ${route}.`);
  }

  async function action(request: Request, seg: string[]): Promise<Response> {
    const name = actionName(seg);
    if (name === null) throw new HttpError(404, 'NOT_FOUND', 'No such action.');
    if (!opts.actions) throw new HttpError(403, 'ACTIONS_DISABLED', 'Actions are off: the dashboard was created without `actions: true`.');
    if (!(await opts.authorize!(request, { kind: 'action', action: name }))) throw new HttpError(403, 'FORBIDDEN', `Not authorised to ${name}.`);
    checkCsrf(request, opts, csrfToken);
    const body = await readJson(request);
    try {
      return await perform(name, seg, body);
    } finally {
      // Reads after an action show its effect, not a count cached a moment before it.
      cache.clear();
    }
  }

  async function perform(name: DashboardAction, seg: string[], body: Record<string, unknown>): Promise<Response> {
    const baton = opts.baton;
    switch (name) {
      case 'retry': {
        const task = await baton.admin.retry(seg[1]!, { resetAttempts: body.resetAttempts === true });
        return json(200, { ok: true, task } satisfies ActionResponse);
      }
      case 'cancel':
        return json(200, { ok: true, count: (await baton.admin.cancel(seg[1]!)) ? 1 : 0 } satisfies ActionResponse);
      case 'pause':
        await baton.queues.pause(seg[1]!);
        return json(200, { ok: true } satisfies ActionResponse);
      case 'resume':
        await baton.queues.resume(seg[1]!);
        return json(200, { ok: true } satisfies ActionResponse);
      case 'purge':
        return json(200, { ok: true, count: await purge(baton, body) } satisfies ActionResponse);
    }
  }

  return {
    basePath: base,
    handles,
    async fetch(request: Request): Promise<Response> {
      try {
        return await handle(request);
      } catch (err) {
        return errorResponse(err, request, opts);
      }
    },
  };
}

function actionName(seg: string[]): DashboardAction | null {
  if (seg[0] === 'tasks' && seg.length === 3 && (seg[2] === 'retry' || seg[2] === 'cancel')) return seg[2];
  if (seg[0] === 'queues' && seg.length === 3 && (seg[2] === 'pause' || seg[2] === 'resume')) return seg[2];
  if (seg[0] === 'purge' && seg.length === 1) return 'purge';
  return null;
}

/**
 * A purge deletes what its dry run counted, at most: the UI first asks with `dryRun: true`, shows
 * the count, and on confirmation sends `confirm: <that count>`, which becomes the purge's limit.
 */
async function purge(baton: Baton, body: Record<string, unknown>): Promise<number> {
  const filterInput = body.filter;
  if (filterInput !== undefined && (filterInput === null || typeof filterInput !== 'object' || Array.isArray(filterInput))) throw new ValidationError('purge: filter must be an object of query fields.');
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries((filterInput ?? {}) as Record<string, unknown>)) if (typeof v === 'string' || typeof v === 'number') params.set(k, String(v));
  const filter: TaskFilterInput = filterFromQuery(params);
  if (body.dryRun === true) return baton.admin.purge(filter, { dryRun: true });
  const confirm = body.confirm;
  if (typeof confirm !== 'number' || !Number.isInteger(confirm) || confirm < 0) throw new ValidationError('purge: send `dryRun: true` first, then `confirm` with the count it returned.');
  return baton.admin.purge(filter, { limit: confirm });
}

function checkCsrf(request: Request, opts: ResolvedOptions, token: string): void {
  const own = new URL(request.url).origin;
  const origin = request.headers.get('origin');
  if (origin !== null) {
    if (origin !== own && !opts.trustedOrigins.has(origin)) throw new HttpError(403, 'CSRF', `Cross-origin action refused (Origin ${origin}); add it to trustedOrigins if it is yours.`);
  } else if (request.headers.get('sec-fetch-site') !== 'same-origin') {
    throw new HttpError(403, 'CSRF', 'Action refused: the request says neither its Origin nor Sec-Fetch-Site: same-origin.');
  }
  const sent = request.headers.get(CSRF_HEADER) ?? '';
  const a = Buffer.from(sent);
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new HttpError(403, 'CSRF', `Action refused: missing or wrong ${CSRF_HEADER} header (reload the page for a fresh token).`);
  if (!(request.headers.get('content-type') ?? '').toLowerCase().startsWith('application/json')) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Actions take a JSON body (content-type: application/json).');
}

async function readJson(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.length > 64 * 1024) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', 'Action bodies are small JSON objects.');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'VALIDATION', 'The body is not JSON.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, 'VALIDATION', 'The body must be a JSON object.');
  return value as Record<string, unknown>;
}

const STATUS_OF_CODE: Record<string, number> = { VALIDATION: 400, NOT_FOUND: 404, INVALID_STATE: 409, CONFIG: 400 };

function errorResponse(err: unknown, request: Request, opts: ResolvedOptions): Response {
  if (err instanceof HttpError) return json(err.status, { error: err.message, code: err.code });
  if (err instanceof URIError) return json(400, { error: 'Malformed percent-encoding in the path.', code: 'VALIDATION' });
  if (isBatonError(err) && STATUS_OF_CODE[err.code] !== undefined) return json(STATUS_OF_CODE[err.code]!, { error: err.message, code: err.code });
  // Not the caller's doing (a backend down, a bug): its details stay in the server's log.
  opts.onError(err, request);
  return json(500, { error: 'The dashboard could not answer: see the server log.', code: isBatonError(err) ? err.code : 'INTERNAL' });
}

function json(status: number, body: SessionInfo | ActionResponse | ErrorResponse | object): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  });
}
