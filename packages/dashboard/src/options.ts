// What createDashboard takes, checked once at construction so a misconfigured dashboard fails at
// boot with a message that says what to change — never at the first request.
import { ConfigError, type Baton } from '@baton/core';

/** What an `authorize` call is asked about. */
export interface AuthorizeContext {
  /** `read`: a page, an asset or a GET of the API. `action`: a change (retry, cancel, pause, resume, purge). */
  kind: 'read' | 'action';
  /** For actions: which one. */
  action?: DashboardAction;
}

export type DashboardAction = 'retry' | 'cancel' | 'pause' | 'resume' | 'purge';

export interface DashboardOptions {
  /** The Baton whose backend the dashboard shows. It needs no workers: `createBaton({ backend })` is enough. */
  baton: Baton;
  /** Where the dashboard is mounted, e.g. `/admin/baton` (default `/`). Must match the framework's mount path. */
  basePath?: string;
  /**
   * Lets operators retry, cancel, pause and resume queues and purge. Off by default: a dashboard
   * without it only reads. When on, `authorize` is required.
   */
  actions?: boolean;
  /**
   * Decides whether a request may go through: return true to allow it. Called for every request
   * (with `kind: 'action'` for changes). Required when `actions` is true; without it a read-only
   * dashboard is open to whoever can reach it, so mount it behind your own authentication.
   */
  authorize?: (request: Request, context: AuthorizeContext) => boolean | Promise<boolean>;
  /**
   * Signs the CSRF token, so that every process of a deployment behind a load balancer accepts
   * the token any of them served. Default: a random token per process.
   */
  csrfSecret?: string;
  /**
   * Origins besides the request's own that may send actions, e.g. `https://ops.example.com` when
   * a TLS-terminating proxy makes the server see plain `http://`.
   */
  trustedOrigins?: string[];
  /** How often the page refreshes what it shows, in ms. @default 2000 */
  pollMs?: number;
  /** Where the built UI lives. @default the `ui` folder shipped in this package's `dist` */
  assetsDir?: string;
  /** Called with errors that are not the caller's fault (a backend failure), before a 500 is answered. */
  onError?: (error: unknown, request: Request) => void;
}

export interface ResolvedOptions {
  baton: Baton;
  basePath: string;
  actions: boolean;
  authorize: DashboardOptions['authorize'] | null;
  csrfSecret: string | null;
  trustedOrigins: Set<string>;
  pollMs: number;
  assetsDir: string | null;
  onError: (error: unknown, request: Request) => void;
}

export function resolveOptions(options: DashboardOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new ConfigError('createDashboard takes an options object: createDashboard({ baton, basePath?, actions?, authorize? }).');
  const { baton } = options;
  if (baton === null || typeof baton !== 'object' || typeof baton.admin?.listTasks !== 'function') {
    throw new ConfigError('createDashboard needs `baton`: the Baton whose backend it shows (createBaton({ backend }) — it needs no workers).');
  }
  const actions = options.actions === true;
  if (options.actions !== undefined && typeof options.actions !== 'boolean') throw new ConfigError(`createDashboard: actions must be true or false; got ${typeof options.actions}.`);
  if (options.authorize !== undefined && typeof options.authorize !== 'function') throw new ConfigError('createDashboard: authorize must be a function (request, context) => boolean | Promise<boolean>.');
  if (actions && options.authorize === undefined) {
    throw new ConfigError(
      'createDashboard: `actions: true` lets whoever reaches the dashboard retry, cancel and purge tasks and pause queues, so it requires `authorize(request, context)` — return true for requests your own authentication allows (e.g. a session cookie of an operator). Add `authorize`, or leave `actions` off for a read-only dashboard.',
    );
  }
  if (options.csrfSecret !== undefined && (typeof options.csrfSecret !== 'string' || options.csrfSecret.length < 16)) {
    throw new ConfigError('createDashboard: csrfSecret must be a string of at least 16 characters (shared by every process of the deployment).');
  }
  const pollMs = options.pollMs ?? 2_000;
  if (typeof pollMs !== 'number' || !Number.isInteger(pollMs) || pollMs < 250 || pollMs > 600_000) throw new ConfigError(`createDashboard: pollMs must be an integer from 250 to 600000; got ${String(pollMs)}.`);
  const trusted = new Set<string>();
  for (const o of options.trustedOrigins ?? []) {
    let origin: string;
    try {
      origin = new URL(o).origin;
    } catch {
      throw new ConfigError(`createDashboard: trustedOrigins must be origins like https://ops.example.com; got ${JSON.stringify(o)}.`);
    }
    if (origin === 'null') throw new ConfigError(`createDashboard: ${JSON.stringify(o)} has no origin a browser would send.`);
    trusted.add(origin);
  }
  return {
    baton,
    basePath: normaliseBasePath(options.basePath ?? '/'),
    actions,
    authorize: options.authorize ?? null,
    csrfSecret: options.csrfSecret ?? null,
    trustedOrigins: trusted,
    pollMs,
    assetsDir: options.assetsDir ?? null,
    onError: options.onError ?? (() => undefined),
  };
}

/** `/admin/baton/` and `admin/baton` both become `/admin/baton`; `/` stays `` (the root). */
export function normaliseBasePath(path: string): string {
  if (typeof path !== 'string') throw new ConfigError('createDashboard: basePath must be a string like /admin/baton.');
  const trimmed = `/${path}`.replace(/\/+/g, '/').replace(/\/$/, '');
  if (/[?#]/.test(trimmed) || /(^|\/)\.\.?(\/|$)/.test(trimmed)) throw new ConfigError(`createDashboard: basePath must be a plain path like /admin/baton; got ${JSON.stringify(path)}.`);
  return trimmed;
}
