// CoordinationStore on MySQL: versioned JSON documents. Compare-and-set is one statement whose
// WHERE holds the expected version (an existing key) or an INSERT that a duplicate key turns into
// a no-op (an absent key): the row lock decides between concurrent writers.
import { BackendError, parseJson, type CoordinationStore, type JsonValue, type Versioned } from '@baton/core/adapter';
import { list, num, str, type Db, type Row } from './mysql-db.js';
import { isDuplicateKey } from './mysql-errors.js';

const MAX_SCAN = 1000;

export class MysqlCoordinationStore implements CoordinationStore {
  constructor(private readonly db: Db) {}

  async read(keys: string[]): Promise<(Versioned | null)[]> {
    if (keys.length === 0) return [];
    const rows = await this.db.auto('coordination.read', (sql) => sql.rows(`SELECT k, v, version FROM ${this.db.t('coordination')} WHERE k IN ${list(keys.length)}`, keys));
    const byKey = new Map(rows.map((r) => [str(r.k), r]));
    return keys.map((k) => {
      const r = byKey.get(k);
      return r === undefined ? null : doc(r);
    });
  }

  async write(key: string, value: JsonValue, expected: number | null): Promise<number | null> {
    const text = JSON.stringify(value);
    return this.db.auto('coordination.write', async (sql) => {
      if (expected === null) {
        // A concurrent creator that committed first makes this INSERT fail on the primary key.
        try {
          await sql.exec(`INSERT INTO ${this.db.t('coordination')} (k, v, version) VALUES (?, ?, 1)`, [key, text]);
          return 1;
        } catch (err) {
          if (isDuplicateKey(err)) return null;
          throw err;
        }
      }
      const n = await sql.exec(`UPDATE ${this.db.t('coordination')} SET v = ?, version = version + 1 WHERE k = ? AND version = ?`, [text, key, expected]);
      return n === 1 ? expected + 1 : null;
    });
  }

  async scan(prefix: string): Promise<({ key: string } & Versioned)[]> {
    // Byte-wise: VARBINARY keys compare exactly, and LEFT() takes the prefix literally (no LIKE wildcards).
    const rows = await this.db.auto('coordination.scan', (sql) =>
      sql.rows(`SELECT k, v, version FROM ${this.db.t('coordination')} WHERE k >= ? AND LEFT(k, ?) = ? ORDER BY k LIMIT ?`, [
        prefix,
        Buffer.byteLength(prefix, 'utf8'),
        prefix,
        MAX_SCAN,
      ]),
    );
    return rows.map((r) => ({ key: str(r.k), ...doc(r) }));
  }
}

function doc(r: Row): Versioned {
  try {
    return { value: parseJson(String(r.v)), version: num(r.version) };
  } catch (err) {
    throw new BackendError(`coordination: the stored value of ${JSON.stringify(str(r.k)).slice(0, 80)} cannot be decoded; delete or rewrite that row.`, { cause: err, retryable: false });
  }
}
