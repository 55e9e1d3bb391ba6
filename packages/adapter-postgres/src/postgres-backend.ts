// postgresBackend(): every port on one PostgreSQL database — durable, multi-process, with
// transactional enqueue (pass your pg client inside BEGIN) and LISTEN/NOTIFY wake-ups.
import pg from 'pg';
import { ConfigError, redactUrl, silentLogger, type Backend, type BackendCapabilities, type Logger } from '@baton/core';
import { Db } from './db.js';
import { assertSchemaCurrent, migrate } from './migrate.js';
import { Notifier } from './notifier.js';
import { mapPgError } from './pg-errors.js';
import { isPool, type PgPool } from './pg-types.js';
import { PostgresCheckpointStore } from './postgres-checkpoint-store.js';
import { PostgresEventLog } from './postgres-event-log.js';
import { PostgresHeartbeatStore } from './postgres-heartbeat-store.js';
import { PostgresQueue } from './postgres-queue.js';
import { PostgresTaskStore } from './postgres-task-store.js';
import { PostgresTaskFlow } from './postgres-task-flow.js';
import { PostgresTimerStore } from './postgres-timer-store.js';
import { schemaNames } from './schema.js';

export interface PostgresBackendOptions {
  /** Schema holding Baton's tables (validated: lower-case letters, digits, underscore). @default 'baton' */
  schema?: string;
  /**
   * Apply pending migrations on first use (under an advisory lock). Set false when the runtime
   * role may not run DDL: the backend then only checks that the schema is at this code's version.
   * @default true
   */
  migrate?: boolean;
  /** pino-compatible logger. @default silent */
  logger?: Logger;
  /** Pool size when given a connection string (ignored for your own pool). @default 10 */
  poolSize?: number;
  /**
   * Named prepared statements (the server plans each hot query once per connection). Turn off
   * behind a pooler that cannot keep them (PgBouncer < 1.21 in transaction mode). @default true
   */
  preparedStatements?: boolean;
  /** Fired timers are kept this long for audit, then pruned. @default 7 days */
  firedTimerRetentionMs?: number;
}

/** A Backend with a few PostgreSQL extras. */
export interface PostgresBackend extends Backend {
  /** The schema in use. */
  readonly schema: string;
  /** Resolves once the schema is migrated (or checked); rejects with SchemaError / BackendUnavailableError. */
  ready(): Promise<void>;
}

export const POSTGRES_CAPABILITIES: BackendCapabilities = Object.freeze({
  durable: true,
  multiProcess: true,
  transactionalEnqueue: true,
  pushWake: true,
});

/**
 * A complete Backend on PostgreSQL. Pass your own `pg.Pool` (its TLS, auth and pool settings
 * are used as they are, and it stays open on close) or a connection string (the backend opens
 * and closes its pool). One pool connection is held for LISTEN while workers wait for work.
 */
export function postgresBackend(poolOrUrl: PgPool | string, options: PostgresBackendOptions = {}): PostgresBackend {
  const names = schemaNames(options.schema ?? 'baton');
  const logger = (options.logger ?? silentLogger).child({ backend: 'postgres', schema: names.name });
  const firedTimerRetentionMs = options.firedTimerRetentionMs ?? 7 * 24 * 3_600_000;
  if (!Number.isFinite(firedTimerRetentionMs) || firedTimerRetentionMs < 0) {
    throw new ConfigError(`firedTimerRetentionMs must be a non-negative number of ms; got ${String(options.firedTimerRetentionMs)}.`);
  }

  let pool: PgPool;
  let ownPool = false;
  if (typeof poolOrUrl === 'string') {
    if (poolOrUrl.trim() === '') throw new ConfigError('postgresBackend needs a pg.Pool or a connection string such as postgres://user@host:5432/db; got an empty string.');
    const max = options.poolSize ?? 10;
    if (!Number.isInteger(max) || max < 2 || max > 1000) throw new ConfigError(`poolSize must be an integer from 2 to 1000; got ${String(options.poolSize)}.`);
    pool = new pg.Pool({ connectionString: poolOrUrl, max });
    ownPool = true;
    logger.debug({ url: redactUrl(poolOrUrl) }, 'created pool');
  } else if (isPool(poolOrUrl)) {
    pool = poolOrUrl;
    const max = (poolOrUrl as { options?: { max?: unknown } }).options?.max;
    if (max === 1) {
      throw new ConfigError('The pg.Pool passed to postgresBackend has max: 1, but the backend holds one connection for LISTEN while workers wait; use max ≥ 2.');
    }
  } else {
    throw new ConfigError('postgresBackend needs a pg.Pool (or a structurally compatible pool with query, connect and end) or a connection string.');
  }

  // An idle pooled connection that dies (server restart, pg_terminate_backend) is reported as a
  // pool 'error' event; unhandled, that event would crash the process.
  const onPoolError = (err: Error) => logger.warn({ err }, 'idle PostgreSQL connection failed; the pool replaces it');
  const guardPool = ownPool || pool.listenerCount('error') === 0;
  if (guardPool) pool.on('error', onPoolError);

  const db = new Db({
    pool,
    names,
    logger,
    preparedStatements: options.preparedStatements ?? true,
    init: async () => {
      if (options.migrate === false) {
        try {
          await assertSchemaCurrent(pool, names);
        } catch (err) {
          throw mapPgError(err, 'schema check', names.name);
        }
      } else {
        await migrate(pool, { schema: names.name, logger });
      }
    },
  });
  const notifier = new Notifier(pool, names.channel, logger);
  const queue = new PostgresQueue(db, notifier);
  const tasks = new PostgresTaskStore(db, notifier);
  let closing: Promise<void> | null = null;

  return {
    name: 'postgres',
    schema: names.name,
    capabilities: POSTGRES_CAPABILITIES,
    queue,
    tasks,
    flow: new PostgresTaskFlow(db, tasks, queue, notifier),
    checkpoints: new PostgresCheckpointStore(db),
    timers: new PostgresTimerStore(db, firedTimerRetentionMs),
    heartbeats: new PostgresHeartbeatStore(db),
    events: new PostgresEventLog(db),
    ready: () => db.ready(),
    close() {
      closing ??= (async () => {
        await notifier.close();
        if (ownPool) await pool.end().catch((err: unknown) => logger.warn({ err }, 'closing the pool failed'));
        if (guardPool && !ownPool) pool.removeListener('error', onPoolError);
      })();
      return closing;
    },
  };
}
