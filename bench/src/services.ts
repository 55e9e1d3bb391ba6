// Loopback servers the benchmark talks to, and the namespace-scoped helpers every system uses
// to measure and remove what it wrote (keys under a prefix, a Postgres schema, files).
import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createConnection, type Connection } from 'mysql2/promise';
import pg from 'pg';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** A fresh isolation name, valid as a Redis prefix, a Postgres schema and a file name. */
export function newNamespace(): string {
  return `bench_${randomBytes(5).toString('hex')}`;
}

export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) {
    throw new Error(`The benchmark only talks to loopback servers; ${new URL(url).protocol}//${host} is not one.`);
  }
}

export function newRedis(): Redis {
  assertLoopback(REDIS_URL);
  // maxRetriesPerRequest: null is what BullMQ requires of its connections; harmless elsewhere.
  return new Redis(REDIS_URL, { maxRetriesPerRequest: null, connectTimeout: 2_000, lazyConnect: false });
}

export async function withRedis<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
  assertLoopback(REDIS_URL);
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 2_000, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

export async function withPg<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  assertLoopback(DATABASE_URL);
  const c = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2_000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const SCAN_LIMIT = 10_000; // SCAN pages: bounds the walk even on a huge shared keyspace

/** Keys matching `pattern`, walked with SCAN (bounded). */
async function scanKeys(r: Redis, pattern: string, onPage: (keys: string[]) => Promise<void>): Promise<void> {
  let cursor = '0';
  for (let page = 0; page < SCAN_LIMIT; page++) {
    const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 2_000);
    if (keys.length > 0) await onPage(keys);
    cursor = next;
    if (cursor === '0') return;
  }
}

/** Sum of MEMORY USAGE over the keys under a prefix: the backend's own footprint on a shared server. */
export async function redisBytes(prefix: string): Promise<number> {
  return withRedis(async (r) => {
    let total = 0;
    await scanKeys(r, `${prefix}*`, async (keys) => {
      const pipe = r.pipeline();
      for (const k of keys) pipe.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
      for (const [err, v] of (await pipe.exec()) ?? []) if (!err && typeof v === 'number') total += v;
    });
    return total;
  });
}

/** Keys under a prefix (SCAN, bounded). */
export async function redisKeyCount(pattern: string): Promise<number> {
  return withRedis(async (r) => {
    let n = 0;
    await scanKeys(r, pattern, async (keys) => {
      n += keys.length;
    });
    return n;
  });
}

/** Live rows in every table of a schema (exact counts): what retention bounds, unlike on-disk size, which also holds dead tuples until autovacuum. */
export async function pgSchemaRows(schema: string): Promise<number> {
  return withPg(async (c) => {
    const { rows } = await c.query<{ name: string }>(`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind = 'r'`, [schema]);
    let total = 0;
    for (const t of rows) {
      if (!/^[a-z_][a-z0-9_]*$/.test(t.name)) continue;
      const r = await c.query<{ n: string }>(`select count(*)::text as n from ${quoteIdent(schema)}.${quoteIdent(t.name)}`);
      total += Number(r.rows[0]?.n ?? 0);
    }
    return total;
  });
}

export async function deleteRedisKeys(prefix: string): Promise<void> {
  await withRedis(async (r) => {
    await scanKeys(r, `${prefix}*`, async (keys) => {
      await r.unlink(...keys);
    });
  });
}

export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`Refusing to use ${JSON.stringify(name)} as a Postgres identifier.`);
  return `"${name}"`;
}

/** Tables, indexes and TOAST of one schema, including dead tuples not yet vacuumed. */
export async function pgSchemaBytes(schema: string): Promise<number> {
  return withPg(async (c) => {
    const { rows } = await c.query<{ bytes: string | null }>(
      `select coalesce(sum(pg_total_relation_size(c.oid)), 0)::text as bytes
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $1 and c.relkind in ('r', 'p', 'm')`,
      [schema],
    );
    return Number(rows[0]?.bytes ?? 0);
  });
}

export async function dropSchema(schema: string): Promise<void> {
  await withPg(async (c) => {
    await c.query(`drop schema if exists ${quoteIdent(schema)} cascade`);
  });
}

export function sqliteFile(ns: string): string {
  return join(tmpdir(), `${ns}.db`);
}

export async function fileBytes(file: string): Promise<number> {
  let total = 0;
  for (const f of [file, `${file}-wal`, `${file}-shm`]) total += await stat(f).then((s) => s.size, () => 0);
  return total;
}

export async function removeFiles(file: string): Promise<void> {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) await rm(f, { force: true });
}

interface JsmLike {
  streams: { list(): AsyncIterable<{ config: { name: string }; state: { bytes: number } }> };
}

/** Bytes of the JetStream streams (and KV buckets' streams) under a prefix. */
export async function natsBytes(prefix: string): Promise<number> {
  assertLoopback(NATS_URL.replace(/^nats:/, 'http:'));
  // Variable specifiers: the NATS client is only needed when the NATS adapter is benchmarked.
  const transport: string = '@nats-io/transport-node';
  const js: string = '@nats-io/jetstream';
  const { connect } = (await import(transport)) as { connect(o: { servers: string; timeout: number }): Promise<{ close(): Promise<void> }> };
  const { jetstreamManager } = (await import(js)) as { jetstreamManager(nc: unknown, o: { checkAPI: boolean }): Promise<JsmLike> };
  const nc = await connect({ servers: NATS_URL, timeout: 2_000 });
  try {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    let total = 0;
    for await (const info of jsm.streams.list()) {
      const name = info.config.name;
      if (name.startsWith(`${prefix}_`) || name.startsWith(`KV_${prefix}_`)) total += info.state.bytes;
    }
    return total;
  } finally {
    await nc.close();
  }
}

/** A one-line reason when a server does not answer, else null. */
export async function probeRedis(): Promise<string | null> {
  try {
    await withRedis((r) => r.ping());
    return null;
  } catch (err) {
    return `Redis unreachable at ${REDIS_URL}: ${(err as Error).message}`;
  }
}

export async function probeNats(): Promise<string | null> {
  try {
    await natsBytes('bench_probe');
    return null;
  } catch (err) {
    return `NATS unreachable at ${NATS_URL}: ${(err as Error).message}`;
  }
}

export async function probePostgres(): Promise<string | null> {
  try {
    await withPg((c) => c.query('select 1'));
    return null;
  } catch (err) {
    return `Postgres unreachable: ${(err as Error).message}`;
  }
}

export async function withMysql<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
  assertLoopback(MYSQL_URL);
  const c = await createConnection({ uri: MYSQL_URL, connectTimeout: 2_000 });
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The MySQL table prefix of a namespace: the namespace and an underscore. */
export function mysqlPrefix(ns: string): string {
  if (!/^[a-z_][a-z0-9_]{0,46}$/.test(ns)) throw new Error(`Refusing to use ${JSON.stringify(ns)} as a MySQL table prefix.`);
  return `${ns}_`;
}

async function mysqlTables(c: Connection, prefix: string): Promise<string[]> {
  const [rows] = await c.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?', [`${prefix.replaceAll('_', '\\_')}%`]);
  return (rows as { t: string }[]).map((r) => r.t).filter((t) => t.startsWith(prefix) && /^[a-z0-9_]+$/.test(t));
}

/** Data and index bytes of the tables under a prefix (InnoDB's estimate, refreshed first). */
export async function mysqlPrefixBytes(prefix: string): Promise<number> {
  return withMysql(async (c) => {
    const tables = await mysqlTables(c, prefix);
    if (tables.length === 0) return 0;
    await c.query(`ANALYZE TABLE ${tables.map((t) => `\`${t}\``).join(', ')}`);
    const [rows] = await c.query('SELECT COALESCE(SUM(data_length + index_length), 0) AS b FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (?)', [tables]);
    return Number((rows as { b: unknown }[])[0]?.b ?? 0);
  });
}

/** Live rows in every table under a prefix (exact counts). */
export async function mysqlPrefixRows(prefix: string): Promise<number> {
  return withMysql(async (c) => {
    let total = 0;
    for (const t of await mysqlTables(c, prefix)) {
      const [rows] = await c.query(`SELECT COUNT(*) AS n FROM \`${t}\``);
      total += Number((rows as { n: unknown }[])[0]?.n ?? 0);
    }
    return total;
  });
}

export async function dropMysqlPrefix(prefix: string): Promise<void> {
  await withMysql(async (c) => {
    const tables = await mysqlTables(c, prefix);
    if (tables.length > 0) await c.query(`DROP TABLE IF EXISTS ${tables.map((t) => `\`${t}\``).join(', ')}`);
  });
}

export async function probeMysql(): Promise<string | null> {
  try {
    await withMysql((c) => c.query('SELECT 1'));
    return null;
  } catch (err) {
    return `MySQL unreachable at ${MYSQL_URL}: ${(err as Error).message}`;
  }
}
