// sqliteBackend(): all six ports over one SQLite file (or a user's better-sqlite3 connection).
// The file is checked, migrated and switched to WAL before the first port call.
import { ConfigError, silentLogger, type Backend, type BackendCapabilities, type Logger } from '@baton/core';
import { openDatabase } from './open-database.js';
import { SqliteCheckpointStore } from './sqlite-checkpoint-store.js';
import { SqliteContext } from './sqlite-context.js';
import type { SqliteDatabase } from './sqlite-driver.js';
import { SqliteEventLog } from './sqlite-event-log.js';
import { SqliteFlow } from './sqlite-flow.js';
import { SqliteHeartbeatStore } from './sqlite-heartbeat-store.js';
import { SqliteQueue } from './sqlite-queue.js';
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
  /** Backend name in logs and `backend.name`. @default 'sqlite' */
  name?: string;
  /** pino-compatible logger. @default silent */
  logger?: Logger;
}

export interface SqliteBackend extends Backend {
  /** Absolute path of the database file, or ':memory:'. */
  readonly file: string;
}

const MAX_BUSY_TIMEOUT_MS = 2_147_483_647;

function compile(options: SqliteBackendOptions): Required<SqliteBackendOptions> {
  if (options === null || typeof options !== 'object') throw new ConfigError('sqliteBackend options must be an object.');
  const synchronous = options.synchronous ?? 'NORMAL';
  if (synchronous !== 'NORMAL' && synchronous !== 'FULL') {
    throw new ConfigError(`sqliteBackend option synchronous must be 'NORMAL' or 'FULL'; got ${JSON.stringify(options.synchronous)}.`);
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0 || busyTimeoutMs > MAX_BUSY_TIMEOUT_MS) {
    throw new ConfigError(`sqliteBackend option busyTimeoutMs must be an integer from 0 to ${MAX_BUSY_TIMEOUT_MS}; got ${String(options.busyTimeoutMs)}.`);
  }
  const name = options.name ?? 'sqlite';
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError('sqliteBackend option name must be a non-empty string.');
  return { synchronous, busyTimeoutMs, name, logger: options.logger ?? silentLogger };
}

/**
 * A durable backend in one SQLite file: `sqliteBackend({ file: './baton.db' })`. Several processes
 * on one host may share the file. Throws ConfigError / SchemaError at once for a path it cannot use
 * or a file that is not a Baton database, without modifying the file.
 */
export function sqliteBackend(source: SqliteSource, options: SqliteBackendOptions = {}): SqliteBackend {
  if (source === null || typeof source !== 'object' || !('file' in source || 'database' in source)) {
    throw new ConfigError("sqliteBackend needs { file: './baton.db' } (or ':memory:') or { database } with a better-sqlite3 instance.");
  }
  const settings = compile(options);
  const logger = settings.logger.child({ backend: settings.name });
  const opened = openDatabase(source, { synchronous: settings.synchronous, busyTimeoutMs: settings.busyTimeoutMs, logger });
  const wake = wakeChannel(opened.file);
  const ctx = new SqliteContext(opened.db, opened.file, settings.busyTimeoutMs, logger, wake);
  const capabilities: BackendCapabilities = Object.freeze({
    durable: !opened.memory,
    multiProcess: !opened.memory,
    transactionalEnqueue: false,
    pushWake: false,
  });
  let closing: Promise<void> | null = null;
  const queue = new SqliteQueue(ctx);
  const tasks = new SqliteTaskStore(ctx);
  const checkpoints = new SqliteCheckpointStore(ctx);
  const events = new SqliteEventLog(ctx);
  return {
    name: settings.name,
    file: opened.file,
    capabilities,
    queue,
    tasks,
    checkpoints,
    flow: new SqliteFlow(ctx, queue, tasks, checkpoints, events),
    timers: new SqliteTimerStore(ctx),
    heartbeats: new SqliteHeartbeatStore(ctx),
    events,
    close() {
      closing ??= (async () => {
        ctx.markClosed();
        wake.close();
        if (opened.owned && opened.db.open) opened.db.close();
      })();
      return closing;
    },
  };
}
