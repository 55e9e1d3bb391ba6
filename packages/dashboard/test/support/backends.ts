// The backends the browser suites run on: memory always; SQLite (a temporary file) and Postgres (a
// throwaway schema on DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test) once their
// adapters implement ports v2. DASHBOARD_BACKENDS (comma-separated) narrows the list.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '@baton/core';
import { memoryBackend } from '@baton/memory';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface BackendTarget {
  name: string;
  /** A fresh, empty backend at `location` (a file, a schema); memory ignores it. */
  create(location: string): Backend;
  /** Loads the adapter (imported lazily: an adapter not yet ported fails to load, and only its target is left out). */
  load?(): Promise<void>;
  /** A new location for one test. */
  location(): string;
  /** Removes what the location holds. */
  destroy(location: string): Promise<void>;
}

/**
 * Imports an adapter by a name held in a variable, so this file's type check does not reach into
 * the adapter's sources: an adapter still being ported to ports v2 must not break the dashboard's
 * `tsc`. The shape used here is declared below and checked at run time by onPortsV2.
 */
async function importAdapter<T>(name: string): Promise<T> {
  return (await import(name)) as T;
}

const adapters: {
  sqlite?: (source: { file: string }) => Backend;
  postgres?: (url: string, options: { schema: string; poolSize: number }) => Backend;
} = {};

const schemaName = (prefix: string) => `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

const ALL: BackendTarget[] = [
  { name: 'memory', create: () => memoryBackend(), location: () => '', destroy: async () => undefined },
  {
    name: 'sqlite',
    load: async () => {
      adapters.sqlite = (await importAdapter<{ sqliteBackend: NonNullable<typeof adapters.sqlite> }>('@baton/sqlite')).sqliteBackend;
    },
    create: (file) => adapters.sqlite!({ file }),
    location: () => join(mkdtempSync(join(tmpdir(), 'baton-dashboard-')), 'baton.db'),
    destroy: async (file) => rmSync(join(file, '..'), { recursive: true, force: true }),
  },
  {
    name: 'postgres',
    load: async () => {
      adapters.postgres = (await importAdapter<{ postgresBackend: NonNullable<typeof adapters.postgres> }>('@baton/postgres')).postgresBackend;
    },
    create: (schema) => adapters.postgres!(DATABASE_URL, { schema, poolSize: 4 }),
    location: () => schemaName('dash'),
    destroy: async (schema) => {
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  },
];

/**
 * Whether the adapter in this checkout implements ports v2 (queue settings, retry, progress): the
 * SQLite and Postgres adapters are being ported and land one by one. Without it the target is
 * left out, with the reason printed; once it lands the target runs with no change here.
 */
function onPortsV2(backend: Backend): boolean {
  return typeof backend.queue.configure === 'function' && typeof backend.tasks.retry === 'function' && typeof backend.tasks.setProgress === 'function';
}

export async function backendTargets(options: { multiProcess?: boolean } = {}): Promise<{ targets: BackendTarget[]; left: string[] }> {
  const wanted = process.env.DASHBOARD_BACKENDS?.split(',').map((s) => s.trim());
  const targets: BackendTarget[] = [];
  const left: string[] = [];
  for (const t of ALL) {
    if (wanted && !wanted.includes(t.name)) continue;
    if (options.multiProcess && t.name === 'memory') continue;
    let probe: Backend;
    try {
      await t.load?.();
      probe = t.create(t.name === 'postgres' ? 'probe_unused' : ':memory:');
    } catch (err) {
      left.push(`${t.name}: its adapter does not load (${(err as Error).message}) — not on ports v2 yet?`);
      continue;
    }
    if (onPortsV2(probe)) targets.push(t);
    else left.push(`${t.name}: its adapter is not on ports v2 yet`);
    await probe.close().catch(() => undefined);
  }
  return { targets, left };
}
