// Forward-only migrations from migrations/postgres/*.sql (embedded at build time). Each runs in
// its own transaction under a per-schema advisory lock and is recorded in a ledger table, so
// any number of processes starting at once apply each migration exactly once; a schema newer
// than this code is refused rather than used.
import { SchemaError, silentLogger, type Logger } from '@baton/core/adapter';
import { files } from './migrations.generated.js';
import { mapPgError } from './postgres-errors.js';
import type { PgPool, PgPoolClient, PgQueryable } from './pg-types.js';
import { schemaNames, withSchema, type SchemaNames } from './schema.js';

export interface Migration {
  version: number;
  name: string;
  /** The SQL with the schema placeholder still in it. */
  sql: string;
}

export interface MigrateOptions {
  /** @default 'baton' */
  schema?: string;
  logger?: Logger;
}

export interface MigrateResult {
  /** Versions applied by this call (empty when another process or an earlier run did it). */
  applied: number[];
  /** The schema's version afterwards. */
  version: number;
}

export const LEDGER_TABLE = 'baton_migrations';

/** The migrations this code knows, in order. */
export const MIGRATIONS: readonly Migration[] = Object.freeze(
  Object.keys(files)
    .sort()
    .map((name) => {
      const match = /^(\d+)_.+\.sql$/.exec(name);
      if (!match) throw new SchemaError(`Migration file ${name} is not named NNNNNN_description.sql`);
      return Object.freeze({ version: Number(match[1]), name, sql: files[name] ?? '' });
    }),
);

/** The schema version this code expects. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

const ledgerDdl = (names: SchemaNames) =>
  `CREATE TABLE IF NOT EXISTS ${names.ident}.${LEDGER_TABLE} (
  version     integer PRIMARY KEY,
  name        text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
);`;

/**
 * The plain SQL for DBAs who apply migrations themselves (e.g. `psql -v ON_ERROR_STOP=1 -1 -f`).
 * It creates the schema and the ledger and records each migration, so a backend started with
 * `migrate: false` accepts the result. `afterVersion` emits only the migrations after it.
 */
export function migrationSql(schema = 'baton', options: { afterVersion?: number } = {}): string {
  const names = schemaNames(schema);
  const after = options.afterVersion ?? 0;
  const parts = [
    `-- Baton schema ${names.ident}: migrations ${after + 1}..${SCHEMA_VERSION}. Run as the migration role, in one transaction.`,
    `CREATE SCHEMA IF NOT EXISTS ${names.ident};`,
    ledgerDdl(names),
  ];
  for (const m of MIGRATIONS) {
    if (m.version <= after) continue;
    parts.push(`-- ${m.name}`, withSchema(m.sql, names).trim(), `INSERT INTO ${names.ident}.${LEDGER_TABLE} (version, name) VALUES (${m.version}, '${m.name}');`);
  }
  return `${parts.join('\n\n')}\n`;
}

/** Reads the schema's version: null when the ledger (or the schema) does not exist. */
export async function schemaVersion(db: PgQueryable, names: SchemaNames): Promise<number | null> {
  const { rows } = await db.query({ text: 'SELECT to_regclass($1) IS NOT NULL AS present', values: [`${names.ident}.${LEDGER_TABLE}`] });
  if (rows[0]?.present !== true) return null;
  const res = await db.query({ text: `SELECT coalesce(max(version), 0)::int AS version FROM ${names.ident}.${LEDGER_TABLE}` });
  return Number(res.rows[0]?.version ?? 0);
}

function newerError(names: SchemaNames, version: number): SchemaError {
  return new SchemaError(
    `Schema "${names.name}" is at version ${version}, newer than this @baton/postgres (knows ${SCHEMA_VERSION}). Upgrade @baton/postgres in this service; never run older code against a newer schema.`,
  );
}

/**
 * Checks, without changing anything, that the schema is exactly at this code's version
 * (for runtime roles that may not run DDL). Throws SchemaError otherwise.
 */
export async function assertSchemaCurrent(db: PgQueryable, names: SchemaNames): Promise<void> {
  const version = await schemaVersion(db, names);
  if (version === null || version < SCHEMA_VERSION) {
    throw new SchemaError(
      `Schema "${names.name}" is at version ${version ?? 'none'}; this code needs ${SCHEMA_VERSION}. Apply the migrations with the migration role (\`npx baton --backend "postgres://…?schema=${names.name}" migrate\` of @baton/cli, migrate(pool, { schema }) or migrationSql()) or start the backend with migrate: true.`,
    );
  }
  if (version > SCHEMA_VERSION) throw newerError(names, version);
}

/** Applies every migration the schema lacks. Safe to call from many processes at once. */
export async function migrate(pool: PgPool, options: MigrateOptions = {}): Promise<MigrateResult> {
  const names = schemaNames(options.schema ?? 'baton');
  const logger = (options.logger ?? silentLogger).child({ schema: names.name });
  // Fast path: most starts find the schema current and need no lock at all.
  try {
    const current = await schemaVersion(pool, names);
    if (current !== null && current > SCHEMA_VERSION) throw newerError(names, current);
    if (current === SCHEMA_VERSION) return { applied: [], version: current };
  } catch (err) {
    throw mapPgError(err, 'migrate', names.name);
  }
  let client: PgPoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw mapPgError(err, 'migrate', names.name);
  }
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query({ text: 'SELECT pg_advisory_lock($1, $2)', values: [...names.migrationLock] });
    try {
      return await applyLocked(client, names, logger);
    } finally {
      await client.query({ text: 'SELECT pg_advisory_unlock($1, $2)', values: [...names.migrationLock] }).catch(() => undefined);
    }
  } catch (err) {
    broken ??= err instanceof SchemaError ? undefined : (err as Error);
    throw mapPgError(err, 'migrate', names.name);
  } finally {
    client.removeAllListeners('error');
    client.release(broken ?? false);
  }
}

async function applyLocked(client: PgPoolClient, names: SchemaNames, logger: Logger): Promise<MigrateResult> {
  const schemaExists = await client.query({ text: 'SELECT 1 FROM pg_namespace WHERE nspname = $1', values: [names.name] });
  if (schemaExists.rows.length === 0) {
    // Only when missing: CREATE SCHEMA checks the CREATE privilege on the database even with IF NOT EXISTS.
    await client.query({ text: `CREATE SCHEMA IF NOT EXISTS ${names.ident}` });
    logger.info({ schema: names.name }, 'created schema');
  }
  let version = await schemaVersion(client, names);
  if (version === null) {
    const foreign = await client.query({
      text: `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = ANY($2::text[])`,
      values: [names.name, ['tasks', 'checkpoints', 'events', 'timers', 'deliveries']],
    });
    if (Number(foreign.rows[0]?.n ?? 0) > 0) {
      throw new SchemaError(
        `Schema "${names.name}" already has tables named like Baton's (tasks, checkpoints, events, timers…) but no ${LEDGER_TABLE} ledger: it is not a Baton schema. Pick another schema name.`,
      );
    }
    await client.query({ text: ledgerDdl(names) });
    version = 0;
  }
  if (version > SCHEMA_VERSION) throw newerError(names, version);
  const done = new Set((await client.query({ text: `SELECT version FROM ${names.ident}.${LEDGER_TABLE}` })).rows.map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    await client.query({ text: 'BEGIN' });
    try {
      await client.query({ text: withSchema(m.sql, names) });
      await client.query({ text: `INSERT INTO ${names.ident}.${LEDGER_TABLE} (version, name) VALUES ($1, $2)`, values: [m.version, m.name] });
      await client.query({ text: 'COMMIT' });
    } catch (err) {
      await client.query({ text: 'ROLLBACK' }).catch(() => undefined);
      throw new SchemaError(`Migration ${m.name} failed on schema "${names.name}": ${(err as Error).message}. Nothing of it was applied.`, { cause: err });
    }
    applied.push(m.version);
    logger.info({ version: m.version, migration: m.name }, 'applied migration');
  }
  return { applied, version: Math.max(version, ...applied) };
}
