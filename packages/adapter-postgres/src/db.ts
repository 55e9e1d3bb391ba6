// Runs the adapter's statements: waits for the schema check/migration once, uses named
// (prepared) statements so the server plans each hot-path query once per connection, runs on
// the application's transaction when one is passed. `run(op, fn)` is the adapter's one guard:
// every port method runs inside it, so whatever fails reaches the caller as a BatonError that
// names the operation.
import { ValidationError, silentLogger, type Logger, type WriteOptions } from '@baton/core/adapter';
import { mapPgError } from './postgres-errors.js';
import { isQueryable, type PgPool, type PgQueryable, type PgRow } from './pg-types.js';
import { withSchema, type SchemaNames } from './schema.js';

export interface Statement {
  readonly text: string;
  /** Prepared-statement name, unique per text (and so per schema). */
  readonly name: string | undefined;
}

export interface DbOptions {
  pool: PgPool;
  names: SchemaNames;
  /** Runs once before the first statement (migrate or check the schema version). */
  init: () => Promise<void>;
  /** Use named prepared statements. Turn off behind poolers that cannot keep them (old PgBouncer in transaction mode). */
  preparedStatements: boolean;
}

export class Db {
  readonly pool: PgPool;
  readonly names: SchemaNames;
  /** The baton's logger once `ready` handed it over; silent before. */
  logger: Logger = silentLogger;
  private readonly init: () => Promise<void>;
  private readonly prepared: boolean;
  private isReady = false;
  private pending: Promise<void> | null = null;

  constructor(options: DbOptions) {
    this.pool = options.pool;
    this.names = options.names;
    this.init = options.init;
    this.prepared = options.preparedStatements;
  }

  /** Compiles a query: the `:SCHEMA:` placeholder becomes the quoted schema. */
  statement(sql: string): Statement {
    const text = withSchema(sql, this.names);
    return Object.freeze({ text, name: this.prepared ? `baton_${hash(text)}` : undefined });
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

  /** Runs a port operation: any failure is rethrown as the BatonError `mapPgError` makes of it. */
  async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      if (!this.isReady) await this.ready();
      return await fn();
    } catch (err) {
      if (err instanceof NotATransaction) throw new ValidationError(`${op}: ${err.message}`);
      throw mapPgError(err, op, this.names.name);
    }
  }

  /** Runs `stmt`; on the application's transaction when `options.transaction` is given. Call it inside `run`. */
  async query(stmt: Statement, values: unknown[], options?: WriteOptions): Promise<PgRow[]> {
    const target = options?.transaction === undefined ? this.pool : transactionClient(options.transaction);
    const res = await target.query(stmt.name === undefined ? { text: stmt.text, values } : { name: stmt.name, text: stmt.text, values });
    return res.rows;
  }
}

/** The caller's options.transaction is not a client; `run` reports it as a ValidationError naming the operation. */
class NotATransaction extends Error {}

function transactionClient(tx: unknown): PgQueryable {
  if (!isQueryable(tx)) {
    throw new NotATransaction(
      `options.transaction must be a pg client inside BEGIN (an object with a query() method, e.g. from pool.connect()); got ${tx === null ? 'null' : typeof tx}.`,
    );
  }
  return tx;
}

function hash(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return (h1 >>> 0).toString(36) + (h2 >>> 0).toString(36);
}

/**
 * Epoch milliseconds of a timestamptz column, floored, exactly: truncated to the millisecond first,
 * the float epoch is within a rounding error of a whole number, which round() recovers (cheaper
 * than the numeric extract()).
 */
export const ms = (column: string): string => `round(date_part('epoch', date_trunc('milliseconds', ${column})) * 1000)`;

/**
 * Several JSON texts in one parameter, split server-side with `string_to_array($n, chr(30))`.
 * JSON text never holds a raw control character (JSON.stringify escapes them), so the record
 * separator cannot occur inside one; and unlike a JSON array of them, the server never has to
 * unescape the texts (PostgreSQL's JSON functions refuse `\u0000` when they do).
 */
const RS = '\u001e';
export function texts(values: readonly string[]): string {
  return values.join(RS);
}
