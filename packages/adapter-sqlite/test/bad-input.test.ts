// Bad input at open: each case is a typed error that names the file and says what to do, and
// leaves the file exactly as it was.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, SchemaError } from '@baton/core';
import { sqliteBackend } from '../src/index.js';
import { tempDir } from './helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/open-file.ts', import.meta.url));

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('sqliteBackend refuses bad input without touching the file', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  it('a path in a missing directory: ConfigError naming the directory, nothing created', () => {
    const file = join(tmp.dir, 'missing', 'deeper', 'baton.db');
    const err = thrown(() => sqliteBackend({ file }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain(file);
    expect(err.message).toContain(join(tmp.dir, 'missing', 'deeper'));
    expect(err.message).toMatch(/does not exist.*mkdir -p/);
    expect(existsSync(join(tmp.dir, 'missing'))).toBe(false);
  });

  it('a file that is not a SQLite database: SchemaError naming the file, bytes unchanged', () => {
    const file = tmp.file('notes.txt');
    const text = 'These are my notes, not a database.\n'.repeat(20);
    writeFileSync(file, text);
    const err = thrown(() => sqliteBackend({ file }));
    expect(err).toBeInstanceOf(SchemaError);
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/not a SQLite database.*not modified/);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('a short non-empty file is refused too; an empty file is adopted as a new database', async () => {
    const short = tmp.file('short.db');
    writeFileSync(short, 'x');
    expect(thrown(() => sqliteBackend({ file: short }))).toBeInstanceOf(SchemaError);
    expect(readFileSync(short, 'utf8')).toBe('x');
    const empty = tmp.file('empty.db');
    writeFileSync(empty, '');
    const b = sqliteBackend({ file: empty });
    expect(await b.queue.depth()).toEqual({ ready: 0, leased: 0, expired: 0, delayed: 0 });
    await b.close();
  });

  it("another program's SQLite database: SchemaError naming the file and its tables, bytes unchanged", () => {
    const file = tmp.file('app.db');
    const other = new Database(file);
    other.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('Ada');");
    other.close();
    const before = readFileSync(file);
    const err = thrown(() => sqliteBackend({ file }));
    expect(err).toBeInstanceOf(SchemaError);
    expect(err.message).toContain(file);
    expect(err.message).toContain('customers');
    expect(err.message).toMatch(/another program.*new file.*not modified/);
    expect(Buffer.compare(readFileSync(file), before)).toBe(0);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('a Baton database from a newer release: SchemaError naming both versions, bytes unchanged', async () => {
    const file = tmp.file();
    await sqliteBackend({ file }).close();
    const db = new Database(file);
    db.prepare('INSERT INTO baton_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(999_999, '999999_future.sql', Date.now());
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const before = readFileSync(file);
    const err = thrown(() => sqliteBackend({ file }));
    expect(err).toBeInstanceOf(SchemaError);
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/version 999999.*upgrade @baton\/sqlite/);
    expect(Buffer.compare(readFileSync(file), before)).toBe(0);
  });

  it('a read-only file: ConfigError naming the file and how to fix it, bytes unchanged', () => {
    const file = tmp.file();
    const db = new Database(file);
    db.exec('CREATE TABLE baton_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    db.close();
    chmodSync(file, 0o444);
    const before = readFileSync(file);
    if (process.getuid?.() === 0) {
      // root writes through file modes, so the check runs as an unprivileged user in a child process.
      chmodSync(tmp.dir, 0o777);
      const run = spawnSync(process.execPath, ['--import', 'tsx', fixture, file], {
        cwd: root,
        uid: 65534,
        gid: 65534,
        encoding: 'utf8',
        env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
        timeout: 30_000,
      });
      const out = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as { ok: boolean; name?: string; message?: string };
      expect(out, run.stderr).toMatchObject({ ok: false, name: 'ConfigError' });
      expect(out.message).toContain(file);
      expect(out.message).toMatch(/read-only.*chmod u\+w/);
    } else {
      const err = thrown(() => sqliteBackend({ file }));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(file);
      expect(err.message).toMatch(/read-only.*chmod u\+w/);
    }
    expect(Buffer.compare(readFileSync(file), before)).toBe(0);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('a better-sqlite3 connection opened read-only: ConfigError', () => {
    const file = tmp.file();
    new Database(file).close();
    const ro = new Database(file, { readonly: true });
    try {
      const err = thrown(() => sqliteBackend({ database: ro }));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toContain(file);
    } finally {
      ro.close();
    }
  });

  it('bad options: ConfigError naming the option', () => {
    const file = tmp.file();
    expect(() => sqliteBackend({ file }, { synchronous: 'OFF' as 'FULL' })).toThrow(/option synchronous must be one of "NORMAL", "FULL"; got "OFF"/);
    expect(() => sqliteBackend({ file }, { busyTimeoutMs: -1 })).toThrow(/option busyTimeoutMs must be an integer from 0 to \d+; got -1/);
    expect(() => sqliteBackend({ file }, { busyTimeoutMs: 1.5 })).toThrow(ConfigError);
    expect(() => sqliteBackend({ file }, { name: '' })).toThrow(/option name must be a non-empty string/);
    expect(() => sqliteBackend({ file }, { logger: {} as never })).toThrow(/option logger must be a pino-compatible logger/);
    expect(() => sqliteBackend({ file: '' })).toThrow(ConfigError);
    expect(() => sqliteBackend({} as { file: string })).toThrow(/needs a source: pass \{ file/);
    expect(() => sqliteBackend(null as never)).toThrow(ConfigError);
    expect(existsSync(file)).toBe(false);
  });
});
