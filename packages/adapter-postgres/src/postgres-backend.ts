// postgresBackend(): every port on one PostgreSQL schema — durable, multi-process, with
// transactional enqueue (pass your pg client inside BEGIN), LISTEN/NOTIFY wake-ups per queue, and
// the events of every task write written in that same write (atomicEvents).
import {
  ConfigError,
  boolOption,
  intOption,
  silentLogger,
  validateText,
  type Backend,
  type BackendCapabilities,
  type Logger,
  type ReadyContext,
} from '@baton/core/adapter';
import { Db } from './db.js';
import { Notifier } from './notifier.js';
import { mapPgError } from './postgres-errors.js';
import { assertSchemaCurrent, migrate } from './postgres-migrations.js';
import { resolvePool } from './postgres-pool.js';
import type { PgPool } from './pg-types.js';
import { PostgresCheckpointStore } from './postgres-checkpoint-store.js';
import { PostgresCoordinationStore } from './postgres-coordination-store.js';
import { PostgresEventLog } from './postgres-event-log.js';
import { PostgresHeartbeatStore } from './postgres-heartbeat-store.js';
import { PostgresQueue } from './postgres-queue.js';
import { PostgresTaskFlow } from './postgres-task-flow.js';
import { PostgresTaskStore } from './postgres-task-store.js';
import { PostgresTimerStore } from './postgres-timer-store.js';
import { schemaNames } from './schema.js';
import { Vacuum } from './vacuum.js';

export interface PostgresBackendOptions {
  /** Schema holding Baton's tables (lower-case letters, digits, underscore; at most 48). @default 'baton' */
  schema?: string;
  /** The backend's name in logs and `mixBackend` names. @default 'postgres' */
  name?: string;
  /**
   * Apply pending migrations on first use (under an advisory lock). Set false when the runtime
   * role may not run DDL: the backend then only checks that the schema is at this code's version.
   * @default true
   */
  migrate?: boolean;
  /** Pool size when given a connection string (ignored for your own pool). @default 10 */
  poolSize?: number;
  /**
   * Named prepared statements (the server plans each hot query once per connection). Turn off
   * behind a pooler that cannot keep them (PgBouncer < 1.21 in transaction mode). @default true
   */
  preparedStatements?: boolean;
  /** Fired timers are kept this long for audit, then pruned. @default 7 days */
  firedTimerRetentionMs?: number;
  /**
   * After each retention pass, VACUUM the tables retention deletes from (tasks, idempotency keys,
   * events) once their dead rows — deleted or left behind by updates — pass a fifth of the live
   * ones, so their files stop growing between autovacuum's visits (once a minute at best). Needs the role that owns the tables; with another role, or
   * false, autovacuum alone does it. @default true
   */
  vacuum?: boolean;
}

/** A Backend with a few PostgreSQL extras. */
export interface PostgresBackend extends Backend {
  /** The schema in use. */
  readonly schema: string;
  /**
   * Connects, migrates (or checks) the schema and takes the baton's logger; rejects with
   * SchemaError / BackendUnavailableError. Idempotent; the first statement does it too.
   */
  ready(context?: ReadyContext): Promise<void>;
}

const OPTIONS = new Set(['schema', 'name', 'migrate', 'poolSize', 'preparedStatements', 'firedTimerRetentionMs', 'vacuum']);
const YEAR_MS = 365 * 24 * 3_600_000;

/**
 * A complete Backend on PostgreSQL. Pass your own `pg.Pool` (its TLS, auth and pool settings
 * are used as they are, and it stays open on close) or a connection string (the backend opens
 * and closes its pool). One pool connection is held for LISTEN while workers wait for work.
 */
export function postgresBackend(poolOrUrl: PgPool | string, options: PostgresBackendOptions = {}): PostgresBackend {
  const { names, name, shouldMigrate, preparedStatements, firedTimerRetentionMs, vacuum: vacuumAfterRetention } = compileOptions(options);
  let logger: Logger = silentLogger;
  const log = () => logger;
  const { pool, release } = resolvePool(poolOrUrl, options.poolSize, log);
  const db = new Db({
    pool,
    names,
    preparedStatements,
    init: async () => {
      try {
        if (shouldMigrate) await migrate(pool, { schema: names.name, logger });
        else await assertSchemaCurrent(pool, names);
      } catch (err) {
        throw mapPgError(err, 'backend.ready', names.name);
      }
    },
  });
  const notifier = new Notifier(pool, names.channel, log);
  const queue = new PostgresQueue(db, notifier);
  const vacuum = new Vacuum(db, vacuumAfterRetention);
  const tasks = new PostgresTaskStore(db, notifier, vacuum);
  const capabilities: BackendCapabilities = Object.freeze({
    durable: true,
    multiProcess: true,
    transactionalEnqueue: true,
    pushWake: true,
    // Tasks, checkpoints and events share the schema: each write appends its events itself.
    atomicEvents: true,
  });
  let closing: Promise<void> | null = null;

  return {
    name,
    schema: names.name,
    capabilities,
    queue,
    tasks,
    flow: new PostgresTaskFlow(db, tasks, queue, notifier),
    checkpoints: new PostgresCheckpointStore(db),
    timers: new PostgresTimerStore(db, firedTimerRetentionMs),
    heartbeats: new PostgresHeartbeatStore(db),
    events: new PostgresEventLog(db, vacuum),
    coordination: new PostgresCoordinationStore(db),
    async ready(context?: ReadyContext) {
      if (context?.logger !== undefined) {
        logger = context.logger.child({ backend: name, schema: names.name });
        db.logger = logger;
      }
      await db.ready();
    },
    close() {
      closing ??= (async () => {
        await notifier.close();
        await vacuum.close();
        await release();
      })();
      return closing;
    },
  };
}

/** Checks every option up front, so a mistake fails where the backend is made, naming the option. */
function compileOptions(options: PostgresBackendOptions) {
  if (typeof options !== 'object' || options === null) throw new ConfigError(`postgresBackend options must be an object { ${[...OPTIONS].join('?, ')}? }.`);
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw new ConfigError(`postgresBackend has no option "${key}"; it takes ${[...OPTIONS].join(', ')}.`);
  }
  intOption('poolSize', options.poolSize, 10, 2, 1000);
  return {
    names: schemaNames(options.schema ?? 'baton'),
    name: options.name === undefined ? 'postgres' : configText('name', options.name),
    shouldMigrate: boolOption('migrate', options.migrate, true),
    preparedStatements: boolOption('preparedStatements', options.preparedStatements, true),
    firedTimerRetentionMs: intOption('firedTimerRetentionMs', options.firedTimerRetentionMs, 7 * 24 * 3_600_000, 0, YEAR_MS),
    vacuum: boolOption('vacuum', options.vacuum, true),
  };
}

function configText(field: string, value: unknown): string {
  try {
    return validateText(field, value, 100);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}
