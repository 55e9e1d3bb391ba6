// Forward-only schema migrations from migrations/sqlite/*.sql (embedded at build). Each runs in
// its own BEGIN IMMEDIATE transaction and is recorded in baton_migrations, so several processes
// opening one file at once apply each migration exactly once; a file whose ledger names a version
// newer than this code is refused before anything is written.
import { SchemaError } from '@baton/core/adapter';
import { files } from './migrations.generated.js';
import { transaction, type SqliteDatabase } from './sqlite-driver.js';

export interface Migration {
  /** From the file name's numeric prefix: 000001_init.sql is version 1. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const LEDGER_TABLE = 'baton_migrations';

/** Every migration this code knows, oldest first; for DBAs who prefer to apply the SQL themselves. */
export const MIGRATIONS: readonly Migration[] = Object.freeze(
  Object.keys(files)
    .sort()
    .map((name) => {
      const match = /^(\d+)_[a-z0-9_]+\.sql$/.exec(name);
      if (match === null) throw new SchemaError(`Bad migration file name ${name}: expected 000001_name.sql`);
      return Object.freeze({ version: Number(match[1]), name, sql: files[name] ?? '' });
    }),
);

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

const LEDGER_DDL = `CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
  version    INTEGER NOT NULL PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at INTEGER NOT NULL
)`;

export interface SchemaInspection {
  /** Tables other than SQLite's own. */
  tables: string[];
  hasLedger: boolean;
  /** Highest applied version, 0 for none. */
  version: number;
}

/** Reads the schema without writing anything. */
export function inspectSchema(db: SqliteDatabase): SchemaInspection {
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .pluck()
    .all() as string[];
  const hasLedger = tables.includes(LEDGER_TABLE);
  const version = hasLedger ? ((db.prepare(`SELECT max(version) FROM ${LEDGER_TABLE}`).pluck().get() as number | null) ?? 0) : 0;
  return { tables, hasLedger, version };
}

export function assertNotNewer(version: number, file: string): void {
  if (version > SCHEMA_VERSION) {
    throw new SchemaError(
      `SQLite database ${file} has Baton schema version ${version}, but this @baton/sqlite knows versions up to ${SCHEMA_VERSION}. ` +
        'It was written by a newer release: upgrade @baton/sqlite in this program, or point it at another file. The file was not modified.',
    );
  }
}

/** Applies the migrations the file lacks; returns the versions applied by this call. */
export function migrate(db: SqliteDatabase, file: string, now: () => number): number[] {
  const applied: number[] = [];
  const step = transaction(db, (m: Migration): boolean => {
    db.exec(LEDGER_DDL);
    // Re-read under the write lock: another process may have migrated since we looked.
    const current = db.prepare(`SELECT max(version) FROM ${LEDGER_TABLE}`).pluck().get() as number | null;
    assertNotNewer(current ?? 0, file);
    if (db.prepare(`SELECT version FROM ${LEDGER_TABLE} WHERE version = ?`).get(m.version) !== undefined) return false;
    db.exec(m.sql);
    db.prepare(`INSERT INTO ${LEDGER_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`).run(m.version, m.name, now());
    return true;
  });
  for (const m of MIGRATIONS) {
    if (step.immediate(m)) applied.push(m.version);
  }
  return applied;
}
