// The small subset of node-postgres (`pg`) this adapter uses, typed structurally so a user's
// pg.Pool / pg.Client (their TLS, pooling and auth settings) fits without core knowing pg.

/** A row as the driver returns it: column name → parsed value. */
export type PgRow = Record<string, unknown>;

export interface PgQueryConfig {
  text: string;
  values?: unknown[];
  /** Prepared-statement name: the server parses and plans it once per connection. */
  name?: string;
}

export interface PgResult {
  rows: PgRow[];
  rowCount: number | null;
}

/** Anything that runs a query: a pool, a pooled client, or the application's client inside BEGIN. */
export interface PgQueryable {
  query(config: PgQueryConfig): Promise<PgResult>;
}

export interface PgNotification {
  channel: string;
  payload?: string;
}

/** A server NOTICE or WARNING as node-postgres reports it. */
export interface PgNotice {
  message?: string;
  severity?: string;
  code?: string;
}

/** A client checked out of a pool (used for LISTEN and for the migration lock). */
export interface PgPoolClient extends PgQueryable {
  release(err?: Error | boolean): void;
  on(event: 'notification', listener: (message: PgNotification) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'notice', listener: (notice: PgNotice) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

/** What postgresBackend needs of a pool: `new pg.Pool(...)` satisfies it. */
export interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>;
  end(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  removeListener(event: 'error', listener: (err: Error) => void): unknown;
  listenerCount(event: 'error'): number;
}

export function isQueryable(value: unknown): value is PgQueryable {
  return typeof value === 'object' && value !== null && typeof (value as { query?: unknown }).query === 'function';
}

export function isPool(value: unknown): value is PgPool {
  return isQueryable(value) && typeof (value as { connect?: unknown }).connect === 'function' && typeof (value as { end?: unknown }).end === 'function';
}
