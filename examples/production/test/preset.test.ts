// The production preset is a backend like any other: it passes the contract suite, and two
// worker processes on it share the work.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import pg from 'pg';
import { runConformanceSuite, runProcessSuite } from '@baton/conformance';
import { fileURLToPath } from 'node:url';
import { makeBackend } from './process-backend.js';
import { productionBackend } from '../src/preset.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function servicesUp(): Promise<boolean> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  const c = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2_000 });
  c.on('error', () => undefined);
  try {
    await r.connect();
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
    await c.end().catch(() => undefined);
  }
}
const up = await servicesUp();
if (!up) {
  if (process.env.CI === 'true') throw new Error('Redis or PostgreSQL unreachable under CI=true: start them (see SERVICES.md).');
  // eslint-disable-next-line no-console
  console.warn('\n!!! SKIPPING production preset tests: Redis or PostgreSQL unreachable (see SERVICES.md) !!!\n');
}

const name = () => `prod_${randomBytes(5).toString('hex')}`;

async function cleanup(prefix: string, schema: string): Promise<void> {
  const r = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await r.del(...keys);
  } while (cursor !== '0');
  r.disconnect();
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
}

describe.skipIf(!up)('production preset (Redis queue + heartbeats, Postgres stores)', () => {
  const names = new WeakMap<object, string>();
  runConformanceSuite({
    name: 'production',
    async create() {
      const n = name();
      const backend = productionBackend({ redis: REDIS_URL, postgres: DATABASE_URL, prefix: n, schema: n });
      names.set(backend, n);
      return backend;
    },
    async destroy(backend) {
      const n = names.get(backend);
      if (n) await cleanup(n, n);
    },
  });

  runProcessSuite({
    name: 'production',
    backendModule: fileURLToPath(new URL('./process-backend.ts', import.meta.url)),
    namespace: name,
    create: makeBackend,
    destroy: (ns) => cleanup(ns, ns),
  });

  it('runs the example: two worker processes complete every report and stop gracefully', async () => {
    const n = name();
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [resolve(__dirname, '../../../node_modules/tsx/dist/cli.mjs'), 'src/main.ts'], {
        cwd: resolve(__dirname, '..'),
        env: { ...process.env, REDIS_URL, DATABASE_URL, BATON_PREFIX: n, BATON_SCHEMA: n },
        timeout: 90_000,
      });
      expect(stdout).toContain('completed 40/40');
      expect(stdout).toContain('checkpoints left: 0');
      expect(stdout).toContain('both workers stopped gracefully');
    } finally {
      await cleanup(n, n);
    }
  }, 120_000);
});
