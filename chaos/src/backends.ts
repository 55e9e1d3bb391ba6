// One place that turns (backend kind, namespace, endpoints) into a Backend, used by the parent
// (enqueue, progress, final audit) and by every worker process, so both sides always agree on
// prefixes, schemas and the NATS consumer's ack_wait. Also removes what a namespace left behind.
import { rm } from 'node:fs/promises';
import type { Backend } from '@baton/core';
import { mysqlBackend } from '@baton/mysql';
import { destroyNatsResources, natsBackend } from '@baton/nats';
import { postgresBackend } from '@baton/postgres';
import { redisBackend } from '@baton/redis';
import { sqliteBackend } from '@baton/sqlite';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
// The preset as the example ships it, not a copy: the chaos run tests what users are told to run.
import { productionBackend } from '../../examples/production/src/preset.js';
import type { BackendKind } from './config.js';
import { assertLoopback } from './services.js';

/** Where a run's servers are. Only the ones its backend kind uses are set. */
export interface Endpoints {
  redis?: string;
  /** Connection URL of the workers; carries their application_name, which --terminate-backends aims at. */
  postgres?: string;
  nats?: string;
  mysql?: string;
  sqliteFile?: string;
}

function need(value: string | undefined, what: string): string {
  if (value === undefined) throw new Error(`The ${what} endpoint is missing.`);
  return value;
}

export interface BackendSettings {
  /** The workers' stall timeout: the NATS consumer's ack_wait must match it. */
  stallMs: number;
}

export function makeBackend(kind: BackendKind, ns: string, ep: Endpoints, settings: BackendSettings): Backend {
  for (const url of [ep.redis, ep.postgres, ep.nats, ep.mysql]) if (url !== undefined) assertLoopback(url);
  switch (kind) {
    case 'sqlite':
      return sqliteBackend({ file: need(ep.sqliteFile, 'SQLite file') });
    case 'redis':
      // The persistence check only logs (to a silent logger here); the shared Redis persists nothing on purpose.
      return redisBackend(need(ep.redis, 'Redis'), { prefix: ns, checkPersistence: false });
    case 'postgres':
      return postgresBackend(need(ep.postgres, 'Postgres'), { schema: ns, poolSize: 6 });
    case 'nats':
      // ackWaitMs = stall timeout, as the adapter's README advises.
      return natsBackend(need(ep.nats, 'NATS'), { prefix: ns, ackWaitMs: settings.stallMs });
    case 'mysql':
      return mysqlBackend(need(ep.mysql, 'MySQL'), { prefix: ns });
    case 'production':
      return productionBackend({ redis: need(ep.redis, 'Redis'), postgres: need(ep.postgres, 'Postgres'), prefix: ns, schema: ns });
  }
}

/** Drops every table of the namespace's prefix (the prefix is checked before it reaches SQL). */
async function dropMysqlPrefix(url: string, prefix: string): Promise<void> {
  if (!/^[a-z0-9_]+$/.test(prefix)) throw new Error(`Refusing to drop the tables of prefix ${JSON.stringify(prefix)}.`);
  const conn = await createConnection({ uri: url, connectTimeout: 5_000 });
  try {
    const [rows] = await conn.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?', [`${prefix.replaceAll('_', '\\_')}%`]);
    const tables = (rows as { t: string }[]).map((r) => r.t).filter((t) => t.startsWith(prefix));
    if (tables.length > 0) await conn.query(`DROP TABLE IF EXISTS ${tables.map((t) => `\`${t}\``).join(', ')}`);
  } finally {
    await conn.end();
  }
}

export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`Refusing to use ${JSON.stringify(name)} as a Postgres identifier.`);
  return `"${name}"`;
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    await c.query(`drop schema if exists ${quoteIdent(schema)} cascade`);
  } finally {
    await c.end();
  }
}

/** Deletes every key of one Redis prefix (the adapter's keys all start with `{prefix}:`). */
async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 5_000, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    let cursor = '0';
    // SCAN pages are bounded so a huge shared keyspace cannot keep the cleanup going forever.
    for (let page = 0; page < 100_000; page++) {
      const [next, keys] = await r.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1_000);
      if (keys.length > 0) await r.unlink(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    r.disconnect();
  }
}

/** Removes the namespace from the servers it lives on. Throwaway servers are deleted whole instead. */
export async function destroyNamespace(kind: BackendKind, ns: string, ep: Endpoints): Promise<void> {
  switch (kind) {
    case 'sqlite': {
      const file = need(ep.sqliteFile, 'SQLite file');
      for (const f of [file, `${file}-wal`, `${file}-shm`]) await rm(f, { force: true });
      return;
    }
    case 'redis':
      return deleteRedisPrefix(need(ep.redis, 'Redis'), ns);
    case 'postgres':
      return dropSchema(need(ep.postgres, 'Postgres'), ns);
    case 'nats':
      await destroyNatsResources(need(ep.nats, 'NATS'), ns);
      return;
    case 'mysql':
      return dropMysqlPrefix(need(ep.mysql, 'MySQL'), ns);
    case 'production':
      await deleteRedisPrefix(need(ep.redis, 'Redis'), ns);
      await dropSchema(need(ep.postgres, 'Postgres'), ns);
      return;
  }
}
