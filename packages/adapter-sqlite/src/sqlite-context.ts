// State the stores of one SQLite backend share: the connection, the backend clock, the logger,
// the closed flag, the in-process wake channel, and `run`, the one guard every port call goes
// through (closed check, then driver errors mapped to typed Baton errors).
import { BackendUnavailableError, newId, type Logger } from '@baton/core/adapter';
import { transaction, type SqliteDatabase, type SqliteTransaction } from './sqlite-driver.js';
import { mapSqliteError } from './sqlite-errors.js';
import type { WakeChannel } from './wake.js';

export class SqliteContext {
  private closed = false;
  /** Lease ids are this backend's random prefix plus a counter: unique across processes, and far cheaper than a UUID each. */
  private readonly leasePrefix = newId();
  private leaseCount = 0;
  private readonly tx: SqliteTransaction<(fn: () => unknown) => unknown>;

  constructor(
    readonly db: SqliteDatabase,
    /** The absolute file path (or ':memory:'), for messages. */
    readonly file: string,
    readonly busyTimeoutMs: number,
    /** Replaced by the baton's logger at `ready` unless the user passed one. */
    public logger: Logger,
    readonly wake: WakeChannel,
  ) {
    this.tx = transaction(db, (fn: () => unknown) => fn());
  }

  /**
   * Runs `fn` in one BEGIN IMMEDIATE transaction: the file's write lock is taken first, so what
   * `fn` reads stays true until it commits, and every write in it (events included) commits
   * together or not at all. Inside another transaction it nests as a savepoint.
   */
  write<T>(fn: () => T): T {
    return this.tx.immediate(fn) as T;
  }

  /** Runs `fn` in one deferred (read) transaction: what it reads is one snapshot, without taking the write lock. */
  read<T>(fn: () => T): T {
    return this.tx(fn) as T;
  }

  /**
   * The backend clock. SQLite is single-host, so the host clock is the backend clock; every store
   * reads it inside its write transaction, i.e. while holding the file's write lock.
   */
  now(): number {
    return Date.now();
  }

  nextLeaseId(): string {
    return `${this.leasePrefix}.${(++this.leaseCount).toString(36)}`;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  markClosed(): void {
    this.closed = true;
  }

  /**
   * Runs one port operation: refused once the backend is closed; any error it throws reaches the
   * caller as a BatonError naming `op` (the driver's error as its cause), never as a raw
   * SqliteError, TypeError or SyntaxError.
   */
  run<T>(op: string, fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError(op));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(this.error(op, err));
    }
  }

  /** Turns an error raised during `op` into a typed Baton error, keeping it as `cause`. */
  error(op: string, err: unknown): Error {
    return mapSqliteError(err, op, this.file, this.busyTimeoutMs);
  }

  closedError(op: string): Error {
    return new BackendUnavailableError(`SQLite backend for ${this.file} is closed (${op}); create a new one with sqliteBackend().`);
  }
}
