// sqliteBackend(): every port over one SQLite file (or a user's better-sqlite3 connection). The
// file is checked, migrated and switched to WAL when the backend is made, so a path it cannot use
// fails at once; `ready` re-checks the schema version and takes the baton's logger.
import { ConfigError, enumOption, intOption, type Backend, type BackendCapabilities, type Logger, type ReadyContext } from '@baton/core/adapter';
import { BackgroundCheckpointer } from './checkpointer.js';
import { openDatabase } from './open-database.js';
import { SqliteCheckpointStore } from './sqlite-checkpoint-store.js';
import { SqliteContext } from './sqlite-context.js';
import { SqliteCoordinationStore } from './sqlite-coordination-store.js';
import type { SqliteDatabase } from './sqlite-driver.js';
import { SqliteEventLog } from './sqlite-event-log.js';
import { SqliteHeartbeatStore } from './sqlite-heartbeat-store.js';
import { assertNotNewer, inspectSchema } from './sqlite-migrations.js';
import { SqliteQueue } from './sqlite-queue.js';
import { SqliteTaskFlow } from './sqlite-task-flow.js';
import { SqliteTaskStore } from './sqlite-task-store.js';
import { SqliteTimerStore } from './sqlite-timer-store.js';
import { wakeChannel } from './wake.js';

/** Where the data lives: a file path (created if missing; ':memory:' for a throwaway) or your own connection. */
export type SqliteSource = { file: string } | { database: SqliteDatabase };

export interface SqliteBackendOptions {
  /**
   * `NORMAL`: a commit survives a process crash (kill -9); after a power loss or OS crash the last
   * few commits may be lost, never corrupted. `FULL`: every commit is fsynced, surviving power loss,
   * at a higher cost per write. @default 'NORMAL'
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a write waits for another connection's lock before failing with BackendUnavailableError. @default 5_000 */
  busyTimeoutMs?: number;
  /**
   * Who copies the write-ahead log back into the database file. `background`: a connection on a
   * thread of its own, every few milliseconds while commits come in, so the event loop never
   * stops for a checkpoint's fsyncs (the main connection still checkpoints past 10,000 WAL pages,
   * or at SQLite's default if the thread is gone). `inline`: SQLite's own, inside the commit that
   * crosses 1,000 pages. A connection you pass in (`{ database }`) and `:memory:` always use
   * their own settings. @default 'background'
   */
  walCheckpoint?: 'background' | 'inline';
  /** Backend name in logs and `backend.name`. @default 'sqlite' */
  name?: string;
  /** pino-compatible logger. @default the baton's logger, received at `ready` */
  logger?: Logger;
}

export interface SqliteBackend extends Backend {
  /** Absolute path of the database file, or ':memory:'. */
  readonly file: string;
}

/** The checkpoint thread of a backend, if it runs one (tests). */
export const checkpointerOf = new WeakMap<SqliteBackend, BackgroundCheckpointer>();

const MAX_BUSY_TIMEOUT_MS = 2_147_483_647;
const SOURCE_HELP = "pass { file: './baton.db' } (or ':memory:'), or { database } with an open better-sqlite3 instance";

/**
 * A durable backend in one SQLite file: `sqliteBackend({ file: './baton.db' })`. Several processes
 * on one host may share the file. Throws ConfigError / SchemaError at once for a path it cannot use
 * or a file that is not a Baton database, without modifying the file.
 */
export function sqliteBackend(source: SqliteSource, options: SqliteBackendOptions = {}): SqliteBackend {
  if (source === null || typeof source !== 'object' || !('file' in source || 'database' in source)) {
    throw new ConfigError(`sqliteBackend needs a source: ${SOURCE_HELP}.`);
  }
  if (options === null || typeof options !== 'object') throw new ConfigError('sqliteBackend options must be an object { synchronous?, busyTimeoutMs?, walCheckpoint?, name?, logger? }.');
  const synchronous = enumOption('sqliteBackend option synchronous', options.synchronous, 'NORMAL', ['NORMAL', 'FULL'] as const);
  const walCheckpoint = enumOption('sqliteBackend option walCheckpoint', options.walCheckpoint, 'background', ['background', 'inline'] as const);
  const busyTimeoutMs = intOption('sqliteBackend option busyTimeoutMs', options.busyTimeoutMs, 5_000, 0, MAX_BUSY_TIMEOUT_MS);
  const name = options.name ?? 'sqlite';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`sqliteBackend option name must be a non-empty string; got ${JSON.stringify(name)}.`);
  if (options.logger !== undefined && (options.logger === null || typeof options.logger.child !== 'function')) {
    throw new ConfigError('sqliteBackend option logger must be a pino-compatible logger (with child()); leave it out to log through the baton.');
  }

  const opened = openDatabase(source, { synchronous, busyTimeoutMs });
  const wake = wakeChannel(opened.file);
  const ownLogger = options.logger?.child({ backend: name });
  const ctx = new SqliteContext(opened.db, opened.file, busyTimeoutMs, ownLogger ?? silentUntilReady, wake);
  let notes = opened.notes;
  let readied = false;
  // A thread that fails before `ready` has handed over the baton's logger is reported at `ready`.
  const checkpointFailed = (err: Error) => {
    const fields = { err: { message: err.message }, file: opened.file };
    const msg = 'SQLite checkpoint thread stopped; checkpoints run inside commits again';
    if (readied) ctx.logger.warn(fields, msg);
    else notes = [...notes, { level: 'warn', fields, msg }];
  };
  let checkpointer: BackgroundCheckpointer | null = null;
  if (walCheckpoint === 'background' && opened.owned && !opened.memory) {
    try {
      checkpointer = new BackgroundCheckpointer(opened.db, { file: opened.file, busyTimeoutMs, synchronous, onFailure: checkpointFailed });
    } catch (err) {
      // No thread (none could be started here): SQLite's own checkpoints, as with 'inline'.
      checkpointFailed(err instanceof Error ? err : new Error(String(err)));
    }
  }
  // Each port of this file appends to this one event log inside its own write transaction.
  const events = new SqliteEventLog(ctx);
  const queue = new SqliteQueue(ctx, events);
  const tasks = new SqliteTaskStore(ctx, events);
  const checkpoints = new SqliteCheckpointStore(ctx, events);
  const capabilities: BackendCapabilities = Object.freeze({
    durable: !opened.memory,
    multiProcess: !opened.memory,
    transactionalEnqueue: false,
    pushWake: false,
    // Tasks, checkpoints, the queue's quarantine and the event log share one file: each write and its events commit together.
    atomicEvents: true,
  });
  let closing: Promise<void> | null = null;
  const backend: SqliteBackend = {
    name,
    file: opened.file,
    capabilities,
    queue,
    tasks,
    checkpoints,
    flow: new SqliteTaskFlow(ctx, queue, tasks, checkpoints),
    timers: new SqliteTimerStore(ctx, events),
    heartbeats: new SqliteHeartbeatStore(ctx),
    events,
    coordination: new SqliteCoordinationStore(ctx),
    ready(context: ReadyContext) {
      return ctx.run('backend.ready', () => {
        if (ownLogger === undefined) ctx.logger = context.logger.child({ backend: name });
        // Another process may have migrated the file to a newer release since it was opened.
        assertNotNewer(inspectSchema(opened.db).version, opened.file);
        for (const n of notes) ctx.logger[n.level](n.fields, n.msg);
        notes = [];
        readied = true;
      });
    },
    close() {
      closing ??= (async () => {
        ctx.markClosed();
        wake.close();
        await checkpointer?.stop();
        if (opened.owned && opened.db.open) opened.db.close();
      })();
      return closing;
    },
  };
  if (checkpointer !== null) checkpointerOf.set(backend, checkpointer);
  return backend;
}

const silentUntilReady: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  fatal: () => undefined,
  child: () => silentUntilReady,
};
