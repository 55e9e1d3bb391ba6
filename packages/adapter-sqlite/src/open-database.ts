// Opening a file safely: every check that can refuse the file runs before anything is written to
// it (not even the WAL switch), so a wrong path never damages another program's data.
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ConfigError, SchemaError } from '@baton/core/adapter';
import BetterSqlite3 from 'better-sqlite3';
import { assertNotNewer, inspectSchema, migrate } from './sqlite-migrations.js';
import { mapSqliteError } from './sqlite-errors.js';
import type { SqliteDatabase } from './sqlite-driver.js';

export interface OpenSettings {
  synchronous: 'NORMAL' | 'FULL';
  busyTimeoutMs: number;
}

export interface OpenedDatabase {
  db: SqliteDatabase;
  /** Absolute path, or ':memory:'. */
  file: string;
  memory: boolean;
  /** Whether close() should close the connection (we opened it). */
  owned: boolean;
  /** What opening did or found that is worth a log line once the baton's logger is known (at `ready`). */
  notes: { level: 'info' | 'warn'; fields: Record<string, unknown>; msg: string }[];
}

const SQLITE_HEADER = 'SQLite format 3\u0000';

type DatabaseConstructor = new (file: string, options?: { timeout?: number }) => SqliteDatabase;

const Database = BetterSqlite3 as unknown as DatabaseConstructor;

/** Refuses paths SQLite could not use, before opening (and so creating) anything. */
function checkPath(file: string): void {
  const dir = dirname(file);
  let dirIsDir = false;
  try {
    dirIsDir = statSync(dir).isDirectory();
  } catch {
    dirIsDir = false;
  }
  if (!dirIsDir) {
    throw new ConfigError(`Cannot open SQLite database ${file}: the directory ${dir} does not exist. Create it (mkdir -p ${dir}) or pass another { file }.`);
  }
  let size: number | null = null;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new ConfigError(`Cannot open SQLite database ${file}: it is not a regular file. Pass the path of a database file in { file }.`);
    size = st.size;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
  }
  if (size !== null) {
    try {
      accessSync(file, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw new ConfigError(
        `SQLite database ${file} is read-only for this process; Baton must write to it. Give this user write access (chmod u+w ${file}) or copy it to a writable path.`,
        { cause: err },
      );
    }
    if (size > 0) assertSqliteHeader(file, size);
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new ConfigError(
      `Cannot use SQLite database ${file}: its directory ${dir} is not writable, and SQLite in WAL mode creates ${basename(file)}-wal and ${basename(file)}-shm there. Give write access to ${dir} or choose another path.`,
      { cause: err },
    );
  }
}

function assertSqliteHeader(file: string, size: number): void {
  const buf = Buffer.alloc(16);
  let read = 0;
  const fd = openSync(file, 'r');
  try {
    read = readSync(fd, buf, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 100 || read < 16 || buf.toString('latin1') !== SQLITE_HEADER) {
    throw new SchemaError(
      `${file} is not a SQLite database (it does not start with the SQLite header). Point sqliteBackend at a new path or at an existing Baton database; the file was not modified.`,
    );
  }
}

/** Opens (or adopts) the database, checks it is ours, sets pragmas and applies migrations. */
export function openDatabase(source: { file: string } | { database: SqliteDatabase }, settings: OpenSettings): OpenedDatabase {
  let db: SqliteDatabase;
  let file: string;
  let owned: boolean;
  if ('database' in source) {
    db = source.database;
    if (db === null || typeof db !== 'object' || typeof db.prepare !== 'function') {
      throw new ConfigError('sqliteBackend({ database }) needs a better-sqlite3 Database instance.');
    }
    file = db.memory ? ':memory:' : resolve(db.name);
    if (!db.open) throw new ConfigError(`The better-sqlite3 database ${file} passed to sqliteBackend is closed; pass an open one.`);
    if (db.readonly) {
      throw new ConfigError(`The better-sqlite3 database ${file} passed to sqliteBackend was opened { readonly: true }; Baton must write to it. Open it read-write.`);
    }
    owned = false;
  } else {
    const given: unknown = (source as { file?: unknown }).file;
    if (typeof given !== 'string' || given.length === 0) {
      throw new ConfigError(`sqliteBackend({ file }) needs a file path (or ':memory:'); got ${JSON.stringify(given)}.`);
    }
    file = given === ':memory:' ? given : resolve(given);
    if (file !== ':memory:') checkPath(file);
    try {
      db = new Database(file, { timeout: settings.busyTimeoutMs });
    } catch (err) {
      throw mapSqliteError(err, 'open', file, settings.busyTimeoutMs);
    }
    owned = true;
  }
  const memory = file === ':memory:' || db.memory;
  try {
    const notes = prepare(db, file, memory, owned, settings);
    return { db, file, memory, owned, notes };
  } catch (err) {
    if (owned) closeQuietly(db);
    throw mapSqliteError(err, 'open', file, settings.busyTimeoutMs);
  }
}

function prepare(db: SqliteDatabase, file: string, memory: boolean, owned: boolean, settings: OpenSettings): OpenedDatabase['notes'] {
  const notes: OpenedDatabase['notes'] = [];
  db.pragma(`busy_timeout = ${settings.busyTimeoutMs}`);
  // Read-only inspection first: a foreign or newer file is refused before any write.
  const schema = inspectSchema(db);
  if (!schema.hasLedger && schema.tables.length > 0 && owned) {
    const shown = schema.tables.slice(0, 5).join(', ') + (schema.tables.length > 5 ? ', …' : '');
    throw new SchemaError(
      `SQLite database ${file} belongs to another program: it has tables (${shown}) but no Baton ledger (baton_migrations). ` +
        'Point sqliteBackend at a new file (e.g. ./baton.db), or pass your own better-sqlite3 instance with { database } to add the baton_* tables beside yours. The file was not modified.',
    );
  }
  assertNotNewer(schema.version, file);
  if (!memory) {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') {
      notes.push({ level: 'warn', fields: { file, journalMode: mode }, msg: 'SQLite refused WAL mode; readers will block writers' });
    }
  }
  db.pragma(`synchronous = ${settings.synchronous}`);
  const applied = migrate(db, file, () => Date.now());
  if (applied.length > 0) notes.push({ level: 'info', fields: { file, versions: applied }, msg: 'applied Baton SQLite migrations' });
  return notes;
}

function closeQuietly(db: SqliteDatabase): void {
  try {
    db.close();
  } catch {
    // Already failing with a clearer error; a close failure adds nothing.
  }
}
