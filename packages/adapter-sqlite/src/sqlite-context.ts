// State the six stores of one SQLite backend share: the connection, the clock, the closed flag and
// the mapping from driver errors to Baton's typed errors.
import {
  BackendError,
  BackendUnavailableError,
  BatonError,
  ConfigError,
  SchemaError,
  type Logger,
} from '@baton/core';
import type { SqliteDatabase } from './sqlite-driver.js';
import type { WakeChannel } from './wake.js';

export class SqliteContext {
  private closed = false;

  constructor(
    readonly db: SqliteDatabase,
    /** The absolute file path (or ':memory:'), for messages. */
    readonly file: string,
    readonly busyTimeoutMs: number,
    readonly logger: Logger,
    readonly wake: WakeChannel,
  ) {}

  /**
   * The backend clock. SQLite is single-host, so the host clock is the backend clock; every store
   * reads it inside the write transaction, i.e. while holding the file's write lock.
   */
  now(): number {
    return Date.now();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  assertOpen(): void {
    if (this.closed) {
      throw new BackendUnavailableError(`SQLite backend for ${this.file} is closed; create a new one with sqliteBackend().`);
    }
  }

  markClosed(): void {
    this.closed = true;
  }

  /** Turns a driver error raised during `op` into a typed Baton error, keeping it as `cause`. */
  error(op: string, err: unknown): BatonError {
    return mapSqliteError(err, op, this.file, this.busyTimeoutMs);
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

export function mapSqliteError(err: unknown, op: string, file: string, busyTimeoutMs: number): BatonError {
  if (err instanceof BatonError) return err;
  const code = codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new BackendUnavailableError(
      `SQLite database ${file} stayed locked by another connection for over ${busyTimeoutMs} ms during ${op}; the operation can be retried. Raise busyTimeoutMs if long transactions elsewhere hold the lock.`,
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new ConfigError(
      `SQLite database ${file} is read-only for this process (${op}); give it write access to the file and its directory (SQLite writes ${file}-wal and -shm beside it).`,
      { cause: err },
    );
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new SchemaError(`${file} is not a usable SQLite database (${message}); restore it from a backup or point sqliteBackend at another file.`, {
      cause: err,
    });
  }
  if (code === 'SQLITE_FULL') {
    return new BackendError(`The disk holding ${file} is full (${op}); free space and retry.`, { cause: err });
  }
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) {
    return new BackendUnavailableError(`I/O error on SQLite database ${file} during ${op}: ${message}`, { cause: err });
  }
  if (err instanceof TypeError && /not open/i.test(message)) {
    return new BackendUnavailableError(`The SQLite connection to ${file} was closed (${op}); create a new backend with sqliteBackend().`, { cause: err });
  }
  return new BackendError(`SQLite ${op} failed on ${file}: ${message}`, { cause: err });
}
