// Shared by the dashboard's tests: a built UI, a Baton on the backend under test, tasks in every
// state, and a dashboard served over real HTTP on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { PermanentError, createBaton, silentLogger, type Backend, type Baton, type BatonOptions } from '@baton/core';
import { createDashboard, toNodeHandler, type Dashboard, type DashboardOptions } from '../../src/index.js';

export const packageDir = fileURLToPath(new URL('../../', import.meta.url));
export const artifactsDir = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

/** Newest modification time under a folder. */
function newest(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((m, d) => Math.max(m, d.isDirectory() ? newest(join(dir, d.name)) : statSync(join(dir, d.name)).mtimeMs), 0);
}

/** The tests serve the real built UI; a checkout without a build, or with UI sources newer than it, gets one (Vite, a few seconds). */
export function ensureUiBuilt(): void {
  const index = `${packageDir}dist/ui/index.html`;
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(newest(`${packageDir}ui`), statSync(`${packageDir}src/api-types.ts`).mtimeMs)) return;
  execFileSync('npm', ['run', '--silent', 'build:ui', '--', '--logLevel', 'warn'], { cwd: packageDir, stdio: 'inherit' });
}

export function makeBaton(backend: Backend, options: Partial<BatonOptions> = {}): Baton {
  return createBaton({
    backend,
    logger: silentLogger,
    worker: { concurrency: 4, pollIntervalMs: 50, stallTimeoutMs: 2_000, heartbeatIntervalMs: 400, ...options.worker },
    checkpoints: { intervalMs: 0 },
    ...options,
  });
}

/** Handlers the tests and screenshots use: a stepping task with checkpoints and progress, one that always fails, one that waits. */
export function registerDemoTypes(baton: Baton, state: { failUntilRetried: Set<string> } = { failUntilRetried: new Set() }): void {
  baton.register<{ steps: number; label?: string }, { steps: number; label: string | null }, { step: number }>('steps', async (input, ctx) => {
    for (let step = (ctx.checkpoint?.data.step ?? 0) + 1; step <= input.steps; step++) {
      await ctx.saveCheckpoint(`step-${step}`, { step }, { flush: true });
      await ctx.reportUsage({ costUsd: 0.01, tokens: 120 });
      await ctx.reportProgress(step / input.steps);
    }
    return { steps: input.steps, label: input.label ?? null };
  });
  // Dead at once the first time; after an operator's retry (attempts reset or not) it completes.
  baton.register<{ why: string }, { ok: true }>(
    'flaky',
    async (input, ctx) => {
      if (!state.failUntilRetried.has(ctx.taskId)) {
        state.failUntilRetried.add(ctx.taskId);
        throw new PermanentError(input.why);
      }
      return { ok: true };
    },
    { queue: 'flaky' },
  );
}

export interface Served {
  url: string;
  dashboard: Dashboard;
  close(): Promise<void>;
}

/** The dashboard on a Node http server on 127.0.0.1 (a free port), under `basePath`. */
export async function serve(options: DashboardOptions): Promise<Served> {
  const dashboard = createDashboard(options);
  const server: Server = createServer(toNodeHandler(dashboard));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${dashboard.basePath}/`,
    dashboard,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
