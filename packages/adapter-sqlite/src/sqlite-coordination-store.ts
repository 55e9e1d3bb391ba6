// The SQLite side of CoordinationStore: versioned JSON documents in baton_coordination. A write
// is a compare-and-set inside BEGIN IMMEDIATE, so of concurrent writers expecting one version
// (in this process or another on the file) exactly one lands. Keys are bound parameters and a
// prefix scan compares them with startsWith: no key is ever read as a LIKE or GLOB pattern.
import { parseJson, type CoordinationStore, type JsonValue, type Versioned } from '@baton/core/adapter';
import type { SqliteContext } from './sqlite-context.js';
import type { SqliteStatement } from './sqlite-driver.js';

const MAX_SCAN = 1000;

interface DocRow {
  key: string;
  value: unknown;
  version: number;
}

export class SqliteCoordinationStore implements CoordinationStore {
  private readonly select: SqliteStatement;
  private readonly insert: SqliteStatement;
  private readonly update: SqliteStatement;
  private readonly from: SqliteStatement;

  constructor(private readonly ctx: SqliteContext) {
    const db = ctx.db;
    this.select = db.prepare('SELECT key, value, version FROM baton_coordination WHERE key = ?');
    this.insert = db.prepare('INSERT INTO baton_coordination (key, value, version) VALUES (?, ?, 1) ON CONFLICT (key) DO NOTHING');
    this.update = db.prepare('UPDATE baton_coordination SET value = ?, version = version + 1 WHERE key = ? AND version = ? RETURNING version').pluck();
    // Keys with a given prefix are contiguous from the prefix itself in the table's byte order.
    this.from = db.prepare('SELECT key, value, version FROM baton_coordination WHERE key >= ? ORDER BY key');
  }

  read(keys: string[]): Promise<(Versioned | null)[]> {
    return this.ctx.run('coordination.read', () =>
      keys.map((key) => {
        const row = this.select.get(key) as DocRow | undefined;
        return row === undefined ? null : this.decode(row);
      }),
    );
  }

  write(key: string, value: JsonValue, expected: number | null): Promise<number | null> {
    return this.ctx.run('coordination.write', () => {
      const text = JSON.stringify(value);
      if (expected === null) return this.insert.run(key, text).changes > 0 ? 1 : null;
      return (this.update.get(text, key, expected) as number | undefined) ?? null;
    });
  }

  scan(prefix: string): Promise<({ key: string } & Versioned)[]> {
    return this.ctx.run('coordination.scan', () => {
      const out: ({ key: string } & Versioned)[] = [];
      for (const row of this.from.iterate(prefix) as IterableIterator<DocRow>) {
        if (!row.key.startsWith(prefix) || out.length >= MAX_SCAN) break;
        out.push({ key: row.key, ...this.decode(row) });
      }
      return out;
    });
  }

  /**
   * A document whose stored text is not JSON reads as null at its current version, so the next
   * compare-and-set can replace it; it is logged, never thrown as a SyntaxError.
   */
  private decode(row: DocRow): Versioned {
    try {
      if (typeof row.value !== 'string') throw new TypeError('not text');
      return { value: parseJson<JsonValue>(row.value), version: row.version };
    } catch (err) {
      this.ctx.logger.warn({ key: row.key, err }, 'coordination document cannot be decoded; it reads as null until rewritten');
      return { value: null, version: row.version };
    }
  }
}
