// Runs the adapter's statements: waits for the schema check/migration once, uses named
// (prepared) statements so the server plans each hot-path query once per connection, runs on
// the application's transaction when one is passed, and maps driver errors to core errors.
import { ValidationError, type Logger, type WriteOptions } from '@baton/core';
import { mapPgError } from './pg-errors.js';
import { isQueryable, type PgPool, type PgQueryable, type PgRow } from './pg-types.js';
import { withSchema, type SchemaNames } from './schema.js';

export interface Statement {
  /** Operation name used in errors and logs, e.g. "queue.claim". */
  readonly op: string;
  readonly text: string;
  /** Prepared-statement name, unique per text (and so per schema). */
  readonly name: string | undefined;
}

export interface DbOptions {
  pool: PgPool;
  names: SchemaNames;
  logger: Logger;
  /** Runs once before the first statement (migrate or check the schema version). */
  init: () => Promise<void>;
  /** Use named prepared statements. Turn off behind poolers that cannot keep them (old PgBouncer in transaction mode). */
  preparedStatements: boolean;
}

export class Db {
  readonly pool: PgPool;
  readonly names: SchemaNames;
  readonly logger: Logger;
  private readonly init: () => Promise<void>;
  private readonly prepared: boolean;
  private isReady = false;
  private pending: Promise<void> | null = null;

  constructor(options: DbOptions) {
    this.pool = options.pool;
    this.names = options.names;
    this.logger = options.logger;
    this.init = options.init;
    this.prepared = options.preparedStatements;
  }

  /** Compiles a query: the `:SCHEMA:` placeholder becomes the quoted schema. */
  statement(op: string, sql: string): Statement {
    const text = withSchema(sql, this.names);
    return Object.freeze({ op, text, name: this.prepared ? `baton_${hash(text)}` : undefined });
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

  /** Runs `stmt`; on the application's transaction when `options.transaction` is given. */
  async run(stmt: Statement, values: unknown[], options?: WriteOptions): Promise<PgRow[]> {
    if (!this.isReady) await this.ready();
    const target = options?.transaction === undefined ? this.pool : transactionClient(options.transaction, stmt.op);
    try {
      const res = await target.query(stmt.name === undefined ? { text: stmt.text, values } : { name: stmt.name, text: stmt.text, values });
      return res.rows;
    } catch (err) {
      throw mapPgError(err, stmt.op, this.names.name);
    }
  }
}

function transactionClient(tx: unknown, op: string): PgQueryable {
  if (!isQueryable(tx)) {
    throw new ValidationError(
      `${op}: options.transaction must be a pg client inside BEGIN (an object with a query() method, e.g. from pool.connect()); got ${tx === null ? 'null' : typeof tx}.`,
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
