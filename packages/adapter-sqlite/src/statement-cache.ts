// Filters with optional fields (list, query, cancel) compile to one statement per combination of
// fields present, prepared on first use and reused after. Values are always bound parameters:
// no user string is ever part of the SQL text.
import type { SqliteDatabase, SqliteStatement } from './sqlite-driver.js';

export class StatementCache {
  private readonly statements = new Map<string, SqliteStatement>();

  constructor(private readonly db: SqliteDatabase) {}

  /** `shape` identifies the SQL `build` returns; parameters are never part of it. */
  get(shape: string, build: () => string): SqliteStatement {
    let stmt = this.statements.get(shape);
    if (stmt === undefined) {
      stmt = this.db.prepare(build());
      this.statements.set(shape, stmt);
    }
    return stmt;
  }
}

/** Accumulates `AND`-ed conditions, their parameters and a shape key for StatementCache. */
export class WhereBuilder {
  readonly conditions: string[] = [];
  readonly params: unknown[] = [];
  shape = '';

  add(tag: string, condition: string, ...params: unknown[]): this {
    this.shape += tag;
    this.conditions.push(condition);
    this.params.push(...params);
    return this;
  }

  /** `field IN (…)` over a list bound as one JSON parameter, so the statement fits any length. */
  addIn(tag: string, column: string, values: readonly string[]): this {
    return this.add(tag, `${column} IN (SELECT value FROM json_each(?))`, JSON.stringify(values));
  }

  sql(): string {
    return this.conditions.length === 0 ? '' : ` WHERE ${this.conditions.join(' AND ')}`;
  }
}
