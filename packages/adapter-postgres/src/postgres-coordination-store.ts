// The PostgreSQL side of CoordinationStore: small versioned documents (the fleet-wide circuit
// breakers) with compare-and-set. A write lands iff the row's version is the one expected, in one
// statement, so of concurrent writers expecting one version exactly one wins. Keys collate
// bytewise and a prefix scan is a plain range plus `starts_with`: no pattern characters exist.
import { parseJson, type CoordinationStore, type JsonValue, type Versioned } from '@baton/core/adapter';
import type { Db, Statement } from './db.js';
import type { PgRow } from './pg-types.js';
import { jsonText } from './task-rows.js';

const MAX_SCAN = 1000;

const SQL = {
  read: `SELECT key, value, version::float8 AS version FROM :SCHEMA:.coordination WHERE key = ANY($1::text[])`,
  create: `
    INSERT INTO :SCHEMA:.coordination (key, value, version) VALUES ($1, $2, 1)
    ON CONFLICT (key) DO NOTHING
    RETURNING version::float8 AS version`,
  update: `
    UPDATE :SCHEMA:.coordination SET value = $2, version = version + 1, updated_at = clock_timestamp()
    WHERE key = $1 AND version = $3
    RETURNING version::float8 AS version`,
  scan: `
    SELECT key, value, version::float8 AS version FROM :SCHEMA:.coordination
    WHERE key >= $1 AND starts_with(key, $1)
    ORDER BY key
    LIMIT ${MAX_SCAN}`,
};

export class PostgresCoordinationStore implements CoordinationStore {
  private readonly q: Record<keyof typeof SQL, Statement>;

  constructor(private readonly db: Db) {
    this.q = Object.fromEntries(Object.entries(SQL).map(([k, text]) => [k, db.statement(text)])) as Record<keyof typeof SQL, Statement>;
  }

  read(keys: string[]): Promise<(Versioned | null)[]> {
    return this.db.run('coordination.read', async () => {
      if (keys.length === 0) return [];
      const byKey = new Map((await this.db.query(this.q.read, [keys])).map((r) => [r.key as string, this.versioned(r)]));
      return keys.map((k) => byKey.get(k) ?? null);
    });
  }

  write(key: string, value: JsonValue, expected: number | null): Promise<number | null> {
    return this.db.run('coordination.write', async () => {
      const rows =
        expected === null
          ? await this.db.query(this.q.create, [key, jsonText(value)])
          : await this.db.query(this.q.update, [key, jsonText(value), expected]);
      return rows[0] === undefined ? null : (rows[0].version as number);
    });
  }

  scan(prefix: string): Promise<({ key: string } & Versioned)[]> {
    return this.db.run('coordination.scan', async () => {
      return (await this.db.query(this.q.scan, [prefix])).map((r) => ({ key: r.key as string, ...this.versioned(r) }));
    });
  }

  /**
   * A document whose stored value cannot be decoded reads as null at its current version, so the
   * next compare-and-set replaces it instead of every writer failing on it forever.
   */
  private versioned(r: PgRow): Versioned {
    const version = r.version as number;
    try {
      return { value: parseJson<JsonValue>(String(r.value)), version };
    } catch (err) {
      this.db.logger.warn({ key: r.key, err }, 'coordination document cannot be decoded; it reads as null until rewritten');
      return { value: null, version };
    }
  }
}
