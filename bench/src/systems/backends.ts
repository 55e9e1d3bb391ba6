// Baton's backends as the harness builds them: each one loaded from its package's sources when
// the package exists and exports its factory, otherwise reported as "not built" (never skipped).
// What a backend can do (several processes, durability, …) is not kept here: the harness reads
// the backend's own `capabilities` (baton.ts), so a recipe cannot drift from its adapter.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Backend, BackendPorts } from '@baton/core/adapter';
import {
  DATABASE_URL,
  MYSQL_URL,
  dropMysqlPrefix,
  mysqlPrefix,
  mysqlPrefixBytes,
  mysqlPrefixRows,
  probeMysql,
  NATS_URL,
  REDIS_URL,
  deleteRedisKeys,
  dropSchema,
  fileBytes,
  natsBytes,
  pgSchemaBytes,
  pgSchemaRows,
  probeNats,
  probePostgres,
  probeRedis,
  redisBytes,
  redisKeyCount,
  removeFiles,
  sqliteFile,
} from '../services.js';
import type { Family } from './types.js';

const REPO = resolve(import.meta.dirname, '../../..');

type Factory = (...args: unknown[]) => Backend;

interface Source {
  pkg: string;
  dir: string;
  factory: string;
  /** Further exports the recipe needs (cleanup helpers). */
  extras?: string[];
}

export interface MakeOptions {
  stallTimeoutMs?: number;
}

export interface BackendRecipe {
  family: Family;
  label: string;
  settings: string;
  sources: Source[];
  probeServer(): Promise<string | null>;
  make(factories: Record<string, Factory>, ns: string, options: MakeOptions): Backend;
  bytes(ns: string): Promise<number | null>;
  records(ns: string): Promise<number | null>;
  destroy(ns: string, factories: Record<string, Factory>): Promise<void>;
}

const redisPattern = (ns: string) => `{${ns}}:*`;

const MEMORY: Source = { pkg: '@baton/memory', dir: 'adapter-memory', factory: 'memoryBackend' };
const SQLITE: Source = { pkg: '@baton/sqlite', dir: 'adapter-sqlite', factory: 'sqliteBackend' };
const REDIS: Source = { pkg: '@baton/redis', dir: 'adapter-redis', factory: 'redisBackend' };
const POSTGRES: Source = { pkg: '@baton/postgres', dir: 'adapter-postgres', factory: 'postgresBackend' };
const MYSQL: Source = { pkg: '@baton/mysql', dir: 'adapter-mysql', factory: 'mysqlBackend' };
const NATS: Source = { pkg: '@baton/nats', dir: 'adapter-nats', factory: 'natsBackend', extras: ['destroyNatsResources'] };

const none = async () => null;

export const RECIPES: BackendRecipe[] = [
  {
    family: 'memory',
    label: 'Baton memory',
    settings: 'memoryBackend() — in-process Maps, nothing durable',
    sources: [MEMORY],
    probeServer: none,
    make: (f) => f.memoryBackend!(),
    bytes: none,
    records: none,
    destroy: async () => undefined,
  },
  {
    family: 'sqlite',
    label: 'Baton sqlite',
    settings: "sqliteBackend({ file }) — WAL, synchronous=NORMAL (the default: commits survive a process crash), file in os.tmpdir()",
    sources: [SQLITE],
    probeServer: none,
    make: (f, ns) => f.sqliteBackend!({ file: sqliteFile(ns) }),
    bytes: (ns) => fileBytes(sqliteFile(ns)),
    records: none,
    destroy: (ns) => removeFiles(sqliteFile(ns)),
  },
  {
    family: 'redis',
    label: 'Baton redis',
    settings: 'redisBackend(url, { prefix }) — its own ioredis connection, defaults otherwise',
    sources: [REDIS],
    probeServer: probeRedis,
    make: (f, ns) => f.redisBackend!(REDIS_URL, { prefix: ns }),
    bytes: (ns) => redisBytes(redisPattern(ns)),
    records: (ns) => redisKeyCount(redisPattern(ns)),
    destroy: (ns) => deleteRedisKeys(redisPattern(ns)),
  },
  {
    family: 'postgres',
    label: 'Baton postgres',
    settings: 'postgresBackend(url, { schema }) — pool of 10 (default), prepared statements on, LISTEN/NOTIFY wake',
    sources: [POSTGRES],
    probeServer: probePostgres,
    make: (f, ns) => f.postgresBackend!(DATABASE_URL, { schema: ns }),
    bytes: (ns) => pgSchemaBytes(ns),
    records: (ns) => pgSchemaRows(ns),
    destroy: (ns) => dropSchema(ns),
  },
  {
    family: 'mysql',
    label: 'Baton mysql',
    settings: 'mysqlBackend(url, { prefix }) — MariaDB 10.11, pool of 10 (default), READ COMMITTED, SKIP LOCKED claims, 50 ms claim poll (no cross-process wake)',
    sources: [MYSQL],
    probeServer: probeMysql,
    make: (f, ns) => f.mysqlBackend!(MYSQL_URL, { prefix: mysqlPrefix(ns) }),
    bytes: (ns) => mysqlPrefixBytes(mysqlPrefix(ns)),
    records: (ns) => mysqlPrefixRows(mysqlPrefix(ns)),
    destroy: (ns) => dropMysqlPrefix(mysqlPrefix(ns)),
  },
  {
    family: 'production',
    label: 'Baton production',
    settings: 'mixBackend: Redis queue + heartbeats, Postgres tasks, checkpoints, timers, events (same settings as the two above)',
    sources: [REDIS, POSTGRES],
    probeServer: async () => (await probeRedis()) ?? (await probePostgres()),
    make: (f, ns) => production(f.redisBackend!(REDIS_URL, { prefix: ns }), f.postgresBackend!(DATABASE_URL, { schema: ns })),
    bytes: async (ns) => (await redisBytes(redisPattern(ns))) + (await pgSchemaBytes(ns)),
    records: async (ns) => (await redisKeyCount(redisPattern(ns))) + (await pgSchemaRows(ns)),
    destroy: async (ns) => {
      await deleteRedisKeys(redisPattern(ns));
      await dropSchema(ns);
    },
  },
  {
    family: 'nats',
    label: 'Baton nats',
    settings: 'natsBackend(url, { prefix }) — JetStream work-queue stream + KV buckets, file storage, 1 replica (defaults); ackWaitMs = the stall timeout in scenario 6, as its docs advise',
    sources: [NATS],
    probeServer: probeNats,
    make: (f, ns, o) => f.natsBackend!(NATS_URL, { prefix: ns, ...(o.stallTimeoutMs ? { ackWaitMs: o.stallTimeoutMs } : {}) }),
    bytes: (ns) => natsBytes(ns),
    records: none,
    destroy: async (ns, f) => {
      await f.destroyNatsResources!(NATS_URL, ns);
    },
  },
];

let mixBackendFn: ((parts: BackendPorts & { name?: string; sources: Backend[] }) => Backend) | null = null;

function production(redis: Backend, postgres: Backend): Backend {
  if (!mixBackendFn) throw new Error('loadCore() was not awaited');
  return mixBackendFn({
    name: 'production',
    queue: redis.queue,
    heartbeats: redis.heartbeats,
    tasks: postgres.tasks,
    checkpoints: postgres.checkpoints,
    timers: postgres.timers,
    events: postgres.events,
    coordination: postgres.coordination,
    sources: [redis, postgres],
  });
}

export async function loadCore(): Promise<void> {
  const core = await import('@baton/core');
  mixBackendFn = core.mixBackend;
}

/** The recipe's factories, or why they cannot be loaded yet. */
export async function loadFactories(recipe: BackendRecipe): Promise<Record<string, Factory> | string> {
  const out: Record<string, Factory> = {};
  for (const s of recipe.sources) {
    const entry = join(REPO, 'packages', s.dir, 'src', 'index.ts');
    if (!existsSync(entry)) return `not built: packages/${s.dir}/src/index.ts does not exist yet`;
    let mod: Record<string, unknown>;
    try {
      // A variable specifier: resolved at run time (tsx maps @baton/* to sources), so a package
      // that has not landed cannot break the harness's own typecheck.
      const spec: string = s.pkg;
      mod = (await import(spec)) as Record<string, unknown>;
    } catch (err) {
      return `not built: ${s.pkg} failed to load (${String((err as Error).message).split('\n')[0]})`;
    }
    for (const name of [s.factory, ...(s.extras ?? [])]) {
      const fn = mod[name];
      if (typeof fn !== 'function') return `not built: ${s.pkg} does not export ${name}() yet`;
      out[name] = fn as Factory;
    }
  }
  return out;
}
