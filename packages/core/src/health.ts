// Health of one baton for liveness/readiness probes: can it reach its backend (and is the schema
// this code's), is its worker running, does its event loop keep up, are timers overdue. Plus a
// dependency-free handler for Node's http (and so Express; Fastify via reply.raw).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from './clock.js';
import type { Backend } from './ports/backend.js';
import type { PoolStats } from './worker-pool.js';

export interface HealthReport {
  /** True when the backend is reachable with the right schema and, if this process runs workers, they run. */
  ok: boolean;
  backend: { name: string; reachable: boolean; latencyMs: number | null; schemaVersion: number | null; error?: string };
  worker: { running: boolean; slots: number; busy: number; eventLoopLagMs: number };
  /** Timers due more than a second ago (nothing fired them: no timer loop runs, or it is stuck). */
  timers: { overdue: number | null };
}

export interface HealthSources {
  backend: Backend;
  clock: Clock;
  pool(): PoolStats & { eventLoopLagMs: number };
  /** Whether this process was started with workers. */
  expectsWorker(): boolean;
}

export async function checkHealth(src: HealthSources, timeoutMs: number): Promise<HealthReport> {
  const { backend, clock } = src;
  const began = clock.now();
  let reachable = false;
  let schemaVersion: number | null = null;
  let error: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const probe = backend.check ? backend.check() : backend.queue.depth().then(() => ({ schemaVersion: null }));
    const r = await Promise.race([
      probe,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    reachable = true;
    schemaVersion = r.schemaVersion;
  } catch (err) {
    error = (err as Error).message;
    // A schema error comes from a server that answered.
    reachable = (err as { code?: unknown }).code === 'SCHEMA';
  } finally {
    clearTimeout(timer);
  }
  const latencyMs = reachable ? clock.now() - began : null;
  let overdue: number | null = null;
  if (reachable && error === undefined) {
    const timers = await backend.timers.list({ limit: 1_000 }).catch(() => null);
    const now = clock.now();
    overdue = timers === null ? null : timers.filter((t) => t.dueAt < now - 1_000).length;
  }
  const pool = src.pool();
  const workerOk = !src.expectsWorker() || pool.running;
  return {
    ok: reachable && error === undefined && workerOk,
    backend: { name: backend.name, reachable, latencyMs, schemaVersion, ...(error === undefined ? {} : { error }) },
    worker: { running: pool.running, slots: pool.slots, busy: pool.busy, eventLoopLagMs: pool.eventLoopLagMs },
    timers: { overdue },
  };
}

/**
 * `/healthz` (liveness: the process answers) and `/readyz` (readiness: `health().ok`) for Node's
 * http server or Express; with Fastify pass `request.raw, reply.raw`. Other paths are left to
 * `next` (404 when there is none).
 */
export function healthHandler(health: () => Promise<HealthReport>, paths: { live?: string; ready?: string } = {}) {
  const live = paths.live ?? '/healthz';
  const ready = paths.ready ?? '/readyz';
  return (req: IncomingMessage, res: ServerResponse, next?: () => void): void => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (path === live) return send(200, { ok: true });
    if (path !== ready) {
      if (next) return next();
      return send(404, { error: 'not found' });
    }
    health().then(
      (report) => send(report.ok ? 200 : 503, report),
      (err: unknown) => send(503, { ok: false, error: (err as Error).message }),
    );
  };
}
