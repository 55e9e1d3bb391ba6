// The subset of better-sqlite3's Database this adapter uses, typed structurally so the public
// API (`sqliteBackend({ database })`) does not drag the driver's types into a user's build.

export interface SqliteRunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface SqliteStatement {
  run(...params: unknown[]): SqliteRunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
  /** Return the first column's value instead of a row object. */
  pluck(toggle?: boolean): this;
}

export interface SqliteTransaction<F extends (...args: never[]) => unknown> {
  (...args: Parameters<F>): ReturnType<F>;
  immediate(...args: Parameters<F>): ReturnType<F>;
}

/** A better-sqlite3 `Database` (v12): open it yourself to choose its path and options. */
export interface SqliteDatabase {
  readonly name: string;
  readonly memory: boolean;
  readonly readonly: boolean;
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare(source: string): SqliteStatement;
  exec(source: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction(fn: (...args: never[]) => unknown): { (...args: never[]): unknown; immediate(...args: never[]): unknown };
  close(): unknown;
}

/** `db.transaction(fn)` with fn's own parameter and return types restored. */
export function transaction<F extends (...args: never[]) => unknown>(db: SqliteDatabase, fn: F): SqliteTransaction<F> {
  return db.transaction(fn) as unknown as SqliteTransaction<F>;
}
