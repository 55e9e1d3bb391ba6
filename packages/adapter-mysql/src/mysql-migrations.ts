// Forward-only migrations from migrations/mysql/*.sql (embedded at build time). `migrate` takes
// a server-wide GET_LOCK per database and prefix, so any number of processes starting at once
// apply each migration exactly once, and records each in the `<prefix>migrations` ledger.
// MySQL commits DDL implicitly: each file's statements are written to be re-runnable, and its
// ledger row is written only after all of them succeeded.
import { createHash } from 'node:crypto';
import { SchemaError, type Logger } from '@baton/core/adapter';
import type { Pool, PoolConnection } from 'mysql2/promise';
import { NOW_MS } from './mysql-db.js';
import { mapMysqlError } from './mysql-errors.js';
import { files } from './migrations.generated.js';

export interface Migration {
  version: number;
  name: string;
  /** The SQL with the `:P:` prefix placeholder still in it. */
  sql: string;
}

/** The migrations this code knows, in order. */
export const MIGRATIONS: readonly Migration[] = Object.freeze(
  Object.keys(files)
    .sort()
    .map((name) => {
      const match = /^(\d+)_.+\.sql$/.exec(name);
      if (!match) throw new Error(`Migration file ${name} is not named NNNNNN_description.sql`);
      return Object.freeze({ version: Number(match[1]), name, sql: files[name] ?? '' });
    }),
);

/** The schema version this code expects. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

const LOCK_WAIT_S = 60;

/** The statements of a migration for `prefix`: comments dropped, split on the `;` ending a line. */
export function statements(m: Migration, prefix: string): string[] {
  return m.sql
    .replaceAll(':P:', prefix)
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const ledger = (prefix: string) => `\`${prefix}migrations\``;

/** The schema version recorded for `prefix`: null when there is no ledger. */
export async function schemaVersion(pool: Pool | PoolConnection, prefix: string): Promise<number | null> {
  const [tables] = await pool.query('SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?', [`${prefix}migrations`]);
  if (Number((tables as { n: unknown }[])[0]?.n ?? 0) === 0) return null;
  const [rows] = await pool.query(`SELECT COALESCE(MAX(version), 0) AS v FROM ${ledger(prefix)}`);
  return Number((rows as { v: unknown }[])[0]?.v ?? 0);
}

function newer(prefix: string, version: number): SchemaError {
  return new SchemaError(
    `The Baton tables with prefix "${prefix}" are at schema version ${version}, newer than this @baton/mysql (knows ${SCHEMA_VERSION}). Upgrade @baton/mysql in this service; never run older code against a newer schema.`,
  );
}

/** Throws SchemaError unless the schema is exactly this code's version (for `migrate: false`). */
export async function assertSchemaCurrent(pool: Pool, prefix: string): Promise<void> {
  const version = await schemaVersion(pool, prefix).catch((err: unknown) => {
    throw mapMysqlError(err, 'backend.ready', prefix);
  });
  if (version !== null && version > SCHEMA_VERSION) throw newer(prefix, version);
  if (version === null || version < SCHEMA_VERSION) {
    throw new SchemaError(
      `The Baton tables with prefix "${prefix}" are at schema version ${version ?? 'none'}; this code needs ${SCHEMA_VERSION}. Start the backend once with migrate: true (the default) as a user that may run DDL, or apply migrations/mysql/*.sql.`,
    );
  }
}

/** Applies every migration the prefix lacks. Safe to call from many processes at once. Returns the versions it applied. */
export async function migrate(pool: Pool, prefix: string, logger: Logger): Promise<number[]> {
  let conn: PoolConnection | undefined;
  try {
    // Fast path: most starts find the schema current and need no lock.
    const current = await schemaVersion(pool, prefix);
    if (current !== null && current > SCHEMA_VERSION) throw newer(prefix, current);
    if (current === SCHEMA_VERSION) return [];
    conn = await pool.getConnection();
    const [db] = await conn.query('SELECT DATABASE() AS db');
    const database = (db as { db: unknown }[])[0]?.db;
    if (database === null || database === undefined) throw new SchemaError('backend.ready: no database selected; put one in the URI (mysql://user@host:3306/mydb) or the pool options.');
    // Lock names are server-wide and at most 64 characters: a hash of database and prefix.
    const lock = `baton:${createHash('sha256').update(`${String(database)}\u0000${prefix}`).digest('hex').slice(0, 40)}`;
    const [got] = await conn.query('SELECT GET_LOCK(?, ?) AS ok', [lock, LOCK_WAIT_S]);
    if (Number((got as { ok: unknown }[])[0]?.ok) !== 1) throw new SchemaError(`backend.ready: another process held the migration lock for ${LOCK_WAIT_S} s; retry.`);
    try {
      return await applyLocked(conn, prefix, logger);
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [lock]).catch(() => undefined);
    }
  } catch (err) {
    throw mapMysqlError(err, 'backend.ready', prefix);
  } finally {
    conn?.release();
  }
}

async function applyLocked(conn: PoolConnection, prefix: string, logger: Logger): Promise<number[]> {
  let version = await schemaVersion(conn, prefix);
  if (version === null) {
    const [found] = await conn.query('SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (?, ?, ?)', [
      `${prefix}tasks`,
      `${prefix}deliveries`,
      `${prefix}events`,
    ]);
    if (Number((found as { n: unknown }[])[0]?.n ?? 0) > 0) {
      throw new SchemaError(`Tables named like Baton's (${prefix}tasks, ${prefix}events…) exist without a ${prefix}migrations ledger: they are not Baton's. Pick another prefix.`);
    }
    await conn.query(`CREATE TABLE IF NOT EXISTS ${ledger(prefix)} (version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL) ENGINE=InnoDB`);
    version = 0;
  }
  if (version > SCHEMA_VERSION) throw newer(prefix, version);
  const [rows] = await conn.query(`SELECT version FROM ${ledger(prefix)}`);
  const done = new Set((rows as { version: unknown }[]).map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    try {
      for (const stmt of statements(m, prefix)) await conn.query(stmt);
      await conn.query(`INSERT INTO ${ledger(prefix)} (version, name, applied_at) VALUES (?, ?, ${NOW_MS})`, [m.version, m.name]);
    } catch (err) {
      throw new SchemaError(`Migration ${m.name} failed for prefix "${prefix}": ${(err as Error).message}. Its statements are re-runnable: fix the cause and start again.`, { cause: err });
    }
    applied.push(m.version);
    logger.info({ version: m.version, migration: m.name, prefix }, 'applied migration');
  }
  return applied;
}
