// Runs the adapter's statements. Every port method goes through `run(op, fn)`: it waits for
// the schema (migrate or check, once), hands `fn` a statement runner — inside a transaction of
// its own, or the application's open transaction when `{ transaction }` is passed — retries a
// transaction the server rolled back for a deadlock, and maps every driver error to a typed
// BatonError naming the operation. Values always travel as `?` parameters.
import { BackendUnavailableError, ValidationError } from '@baton/core/adapter';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { isConnectionError, isRetryableConflict, mapMysqlError } from './mysql-errors.js';

export type Row = Record<string, unknown>;

/**
 * The backend clock: the server's UTC time in epoch ms. UTC_TIMESTAMP, not NOW(): NOW() is in the
 * session time zone and repeats an hour when daylight saving time ends.
 */
export const NOW_MS = "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000)";

/** What a port method's body runs statements through. */
export interface Sql {
  rows(sql: string, values?: readonly unknown[]): Promise<Row[]>;
  /** Runs a write; returns the rows it affected. */
  exec(sql: string, values?: readonly unknown[]): Promise<number>;
  /** The backend clock, read once per call of `run` (one `now` per transaction, as memory's one per batch). */
  now(): Promise<number>;
  /** Runs `fn` once the write is visible to others (after COMMIT), e.g. to wake waiting claims. */
  afterCommit(fn: () => void): void;
}

/** A mysql2/promise connection or pool, as far as the adapter uses it. */
interface Queryable {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
}

const MAX_CONFLICT_RETRIES = 8;

export interface DbOptions {
  pool: Pool;
  prefix: string;
  /** The pool is ours: its connections are set to READ COMMITTED once, when they open. */
  ownPool: boolean;
  init: () => Promise<void>;
}

export class Db {
  readonly pool: Pool;
  readonly prefix: string;
  private readonly ownPool: boolean;
  private readonly init: () => Promise<void>;
  private isReady = false;
  private closed = false;
  private pending: Promise<void> | null = null;

  constructor(o: DbOptions) {
    this.pool = o.pool;
    this.prefix = o.prefix;
    this.ownPool = o.ownPool;
    this.init = o.init;
  }

  /** The quoted name of one of the adapter's tables (the prefix was validated with validateName). */
  t(name: string): string {
    return `\`${this.prefix}${name}\``;
  }

  /** Replaces the `:P:` placeholder of a migration or statement with the prefix. */
  sql(text: string): string {
    return text.replaceAll(':P:', this.prefix);
  }

  /** Resolves once the schema is usable; a failed attempt is retried by the next call. */
  ready(): Promise<void> {
    if (this.isReady) return Promise.resolve();
    this.pending ??= this.init().then(
      () => {
        this.isReady = true;
      },
      (err: unknown) => {
        this.pending = null;
        throw err;
      },
    );
    return this.pending;
  }

  /** After close every call fails as unavailable, whether the pool was ours or the application's. */
  close(): void {
    this.closed = true;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private assertOpen(op: string): void {
    if (this.closed) throw new BackendUnavailableError(`${op}: this mysql backend is closed; create a new one with mysqlBackend().`);
  }

  /**
   * Statements without a transaction (autocommit): single-statement reads and writes. A statement
   * the server rolled back for a deadlock is run again (with the reads before it) while no write
   * of `fn` has committed yet; after one has, running `fn` again would repeat it.
   */
  async auto<T>(op: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
    this.assertOpen(op);
    try {
      if (!this.isReady) await this.ready();
      for (let attempt = 0; ; attempt++) {
        const r = runner(this.pool);
        try {
          const out = await fn(r.sql);
          r.committed();
          return out;
        } catch (err) {
          if (!isRetryableConflict(err) || r.writes() > 0 || attempt >= MAX_CONFLICT_RETRIES) throw err;
          await conflictBackoff(attempt);
        }
      }
    } catch (err) {
      throw mapMysqlError(err, op, this.prefix);
    }
  }

  /**
   * `fn` in one transaction (READ COMMITTED: each statement sees what others committed, and
   * range scans take no gap locks that would block enqueues). With `transaction` it runs on the
   * application's connection inside its BEGIN instead, and commits with it.
   */
  async run<T>(op: string, fn: (sql: Sql) => Promise<T>, transaction?: unknown): Promise<T> {
    this.assertOpen(op);
    try {
      if (!this.isReady) await this.ready();
      if (transaction !== undefined) {
        // The application commits; waking claimers now only makes them look a little early.
        const r = runner(userConnection(transaction, op));
        const out = await fn(r.sql);
        r.committed();
        return out;
      }
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.once(fn);
        } catch (err) {
          if (!isRetryableConflict(err) || attempt >= MAX_CONFLICT_RETRIES) throw err;
          await conflictBackoff(attempt);
        }
      }
    } catch (err) {
      throw mapMysqlError(err, op, this.prefix);
    }
  }

  private async once<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    const conn: PoolConnection = await this.pool.getConnection();
    let broken = false;
    try {
      if (!this.ownPool) await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await conn.query('START TRANSACTION');
      try {
        const r = runner(conn);
        const out = await fn(r.sql);
        await conn.query('COMMIT');
        r.committed();
        return out;
      } catch (err) {
        if (isConnectionError(err)) broken = true;
        else await conn.query('ROLLBACK').catch(() => (broken = true));
        throw err;
      }
    } finally {
      // A connection that failed mid-transaction is dropped, not handed to the next caller.
      if (broken) conn.destroy();
      else conn.release();
    }
  }
}

const conflictBackoff = (attempt: number): Promise<void> => new Promise((r) => setTimeout(r, 2 + Math.random() * 10 * (attempt + 1)));

/** `writes`: how many of the writes run through it have completed. */
function runner(q: Queryable): { sql: Sql; committed: () => void; writes: () => number } {
  let now: number | undefined;
  let writes = 0;
  const after: (() => void)[] = [];
  const sql: Sql = {
    async rows(sql, values) {
      const [rows] = await q.query(sql, values);
      return rows as RowDataPacket[] as Row[];
    },
    async exec(sql, values) {
      const [res] = await q.query(sql, values);
      writes++;
      return (res as ResultSetHeader).affectedRows;
    },
    async now() {
      if (now === undefined) {
        const [rows] = await q.query(`SELECT ${NOW_MS} AS now_ms`);
        now = Number((rows as Row[])[0]?.now_ms);
      }
      return now;
    },
    afterCommit(fn) {
      after.push(fn);
    },
  };
  return { sql, committed: () => after.splice(0).forEach((fn) => fn()), writes: () => writes };
}

function userConnection(tx: unknown, op: string): Queryable {
  if (typeof tx !== 'object' || tx === null || typeof (tx as { query?: unknown }).query !== 'function') {
    throw new ValidationError(
      `${op}: options.transaction must be a mysql2/promise connection inside START TRANSACTION (from pool.getConnection()); got ${tx === null ? 'null' : typeof tx}.`,
    );
  }
  return tx as Queryable;
}

/** A column read as text: VARBINARY columns come back as Buffers. */
export function str(v: unknown): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

export function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : str(v);
}

export function num(v: unknown): number {
  return Number(v);
}

export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/** `(?, ?, …)` for a list that is never empty (callers return early on empty input). */
export function list(n: number): string {
  return `(${new Array(n).fill('?').join(', ')})`;
}
