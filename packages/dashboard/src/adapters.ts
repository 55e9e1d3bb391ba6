// Thin adapters from Node's http, Express, Fastify and Hono to the dashboard's fetch handler. They
// only translate requests and responses: routing, authorisation and CSRF checks stay in the
// handler. The frameworks are described structurally (not imported), so this package depends on
// none of them and each adapter costs nothing to the apps that use another.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dashboard } from './dashboard.js';

export interface NodeAdapterOptions {
  /**
   * Build the request URL from `X-Forwarded-Proto` and `X-Forwarded-Host` (set this behind a proxy
   * you control), so the same-origin check of actions compares the origin the browser saw.
   */
  trustProxy?: boolean;
}

/** The most a request body may hold; actions send small JSON objects. */
const MAX_BODY = 64 * 1024;

type NodeRequest = IncomingMessage & { originalUrl?: string; body?: unknown };

/** `(req, res)` for `http.createServer`; requests outside the base path get a 404, or go to `next` when given. */
export function toNodeHandler(dashboard: Dashboard, options: NodeAdapterOptions = {}): (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void {
  return (req, res, next) => {
    const path = ((req as NodeRequest).originalUrl ?? req.url ?? '/').split('?')[0]!;
    if (next && !safeHandles(dashboard, path)) {
      next();
      return;
    }
    toRequest(req as NodeRequest, options)
      .then((request) => dashboard.fetch(request))
      .then((response) => writeResponse(res, response))
      .catch((err: unknown) => {
        if (next) next(err);
        else if (!res.headersSent) {
          res.statusCode = 400;
          res.setHeader('content-type', 'text/plain; charset=utf-8');
          res.end(err instanceof Error ? err.message : 'Bad request');
        } else res.destroy();
      });
  };
}

/** Express middleware: `app.use(expressMiddleware(dashboard))` (any mount path whose full path is the dashboard's basePath). */
export function expressMiddleware(dashboard: Dashboard, options: NodeAdapterOptions = {}): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  const handler = toNodeHandler(dashboard, options);
  return (req, res, next) => handler(req, res, next);
}

function safeHandles(dashboard: Dashboard, path: string): boolean {
  try {
    return dashboard.handles(decodeURI(path));
  } catch {
    return dashboard.handles(path);
  }
}

/** `parsed`: the body a framework already read from the stream (Express' json(), Fastify's parser). */
async function toRequest(req: NodeRequest, options: NodeAdapterOptions, parsed?: { body: unknown }): Promise<Request> {
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const proto = (options.trustProxy ? header('x-forwarded-proto')?.split(',')[0]?.trim() : undefined) ?? (encrypted ? 'https' : 'http');
  const host = (options.trustProxy ? header('x-forwarded-host')?.split(',')[0]?.trim() : undefined) ?? header('host') ?? 'localhost';
  const url = new URL(req.originalUrl ?? req.url ?? '/', `${proto}://${host}`);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    // HTTP/2 pseudo-headers (:path, :authority…) are not headers a Request may carry.
    if (value === undefined || name.startsWith(':')) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const method = (req.method ?? 'GET').toUpperCase();
  let body: Uint8Array<ArrayBuffer> | string | undefined;
  if (method !== 'GET' && method !== 'HEAD') {
    // A body parser earlier in the chain (express.json()) may have read the stream already.
    const given = parsed ?? (req.body !== undefined && req.readableEnded ? { body: req.body } : undefined);
    if (given) body = given.body === undefined || given.body === null ? '' : typeof given.body === 'string' ? given.body : JSON.stringify(given.body);
    else body = await readBody(req);
  }
  return new Request(url, { method, headers, ...(body === undefined ? {} : { body }) });
}

function readBody(req: IncomingMessage): Promise<Uint8Array<ArrayBuffer>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('Request body too large.'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, name) => res.setHeader(name, value));
  const body = response.body ? Buffer.from(await response.arrayBuffer()) : null;
  res.end(body);
}

/** The parts of a Fastify instance the plugin uses (method syntax: a real FastifyInstance fits). */
export interface FastifyInstanceLike {
  route(options: { method: string[]; url: string; handler(request: FastifyRequestLike, reply: FastifyReplyLike): Promise<unknown> }): unknown;
  addContentTypeParser(contentType: string, options: { parseAs: 'string' }, parser: (request: unknown, body: string, done: (err: Error | null, body?: string) => void) => void): unknown;
}

export interface FastifyRequestLike {
  raw: IncomingMessage;
  body?: unknown;
}

export interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(payload?: Buffer | null): FastifyReplyLike;
}

/**
 * A Fastify plugin: `app.register(fastifyPlugin(dashboard))`, without a `prefix` — the routes are
 * the dashboard's basePath and everything under it.
 */
export function fastifyPlugin(dashboard: Dashboard, options: NodeAdapterOptions = {}): (app: FastifyInstanceLike) => Promise<void> {
  return async (app) => {
    // Inside this plugin's scope only: keep JSON bodies as text, so the handler sees the exact bytes.
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    const base = dashboard.basePath;
    const handler = async (request: FastifyRequestLike, reply: FastifyReplyLike) => {
      const fetchRequest = await toRequest(request.raw as NodeRequest, options, { body: request.body });
      const response = await dashboard.fetch(fetchRequest);
      reply.code(response.status);
      response.headers.forEach((value, name) => reply.header(name, value));
      return reply.send(response.body ? Buffer.from(await response.arrayBuffer()) : null);
    };
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'];
    app.route({ method: methods, url: base === '' ? '/' : base, handler });
    app.route({ method: methods, url: `${base}/*`, handler });
  };
}

/** The part of Hono's context the handler uses. */
export interface HonoContextLike {
  req: { raw: Request };
}

/** A Hono handler: `app.all('/admin/baton', h)` and `app.all('/admin/baton/*', h)` with `h = honoHandler(dashboard)`. */
export function honoHandler(dashboard: Dashboard): (c: HonoContextLike) => Promise<Response> {
  return (c) => dashboard.fetch(c.req.raw);
}
