// The WAL checkpoint thread (walCheckpoint: 'background'): it copies the log back into the
// database file while the main connection only checkpoints past its backstop, it stops with the
// backend, and if it dies the main connection goes back to SQLite's own checkpoints.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '@baton/core';
import { captureLogger } from '@baton/conformance';
import { BACKSTOP_PAGES, SQLITE_DEFAULT_PAGES } from '../src/checkpointer.js';
import { sqliteBackend } from '../src/index.js';
import { checkpointerOf, type SqliteBackend } from '../src/sqlite-backend.js';
import { newTask, sleep, tempDir } from './helpers.js';

/** Waits for `check` to hold (polling), up to `ms`. */
async function until(check: () => boolean, ms = 5_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(10)) if (check()) return true;
  return check();
}

/** 100 tasks in 10 commits: a few hundred WAL pages, under SQLite's own 1,000-page checkpoint. */
async function writeSome(b: SqliteBackend): Promise<void> {
  for (let i = 0; i < 10; i++) await b.flow!.createAndEnqueue(Array.from({ length: 10 }, () => newTask({ input: { pad: 'x'.repeat(2_000) } })), Array(10).fill(undefined));
}

describe('sqliteBackend: WAL checkpoints on a thread of their own', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  it('copies the log into the database file while the main connection waits for its backstop', async () => {
    const file = tmp.file();
    const b = sqliteBackend({ file });
    const thread = checkpointerOf.get(b)!;
    expect(await until(() => thread.running)).toBe(true);
    expect(thread.mainPages()).toBe(BACKSTOP_PAGES);
    const before = statSync(file).size;
    await writeSome(b);
    // Only a checkpoint writes the database file itself; the main connection has not reached one.
    expect(await until(() => statSync(file).size > before)).toBe(true);
    await b.close();
    expect(thread.running).toBe(false);
  });

  it("walCheckpoint: 'inline' leaves checkpoints to SQLite inside commits (the file grows only at 1,000 pages)", async () => {
    const file = tmp.file();
    const b = sqliteBackend({ file }, { walCheckpoint: 'inline' });
    expect(checkpointerOf.get(b)).toBeUndefined();
    const before = statSync(file).size;
    await writeSome(b);
    await sleep(300);
    expect(statSync(file).size).toBe(before);
    await b.close();
  });

  it('stops with close(): the thread has exited and every commit is in the file', async () => {
    const file = tmp.file();
    const b = sqliteBackend({ file });
    const thread = checkpointerOf.get(b)!;
    await until(() => thread.running);
    await writeSome(b);
    await b.close();
    expect(thread.running).toBe(false);
    const db = new Database(file);
    expect(db.prepare('SELECT count(*) FROM baton_tasks').pluck().get()).toBe(100);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('if the thread dies, the main connection checkpoints again at SQLite\'s default and one warning says so; writes go on', async () => {
    const file = tmp.file();
    const logger = captureLogger();
    const b = sqliteBackend({ file });
    await b.ready({ logger });
    const thread = checkpointerOf.get(b)!;
    await until(() => thread.running);
    await thread.kill();
    expect(await until(() => thread.mainPages() === SQLITE_DEFAULT_PAGES)).toBe(true);
    expect(logger.lines.filter((l) => l.level === 'warn' && l.msg.includes('checkpoint thread stopped'))).toHaveLength(1);
    await writeSome(b);
    expect((await b.tasks.counts('queue')).reduce((n, c) => n + c.count, 0)).toBe(100);
    await b.close();
  });

  it('a thread that dies before ready is reported at ready, through the baton logger', async () => {
    const b = sqliteBackend({ file: tmp.file() });
    const thread = checkpointerOf.get(b)!;
    await until(() => thread.running);
    await thread.kill();
    expect(await until(() => thread.mainPages() === SQLITE_DEFAULT_PAGES)).toBe(true);
    const logger = captureLogger();
    await b.ready({ logger });
    expect(logger.lines.filter((l) => l.level === 'warn' && l.msg.includes('checkpoint thread stopped'))).toHaveLength(1);
    await b.close();
  });

  it("runs no thread for a connection it is given or for ':memory:', and leaves the given connection's settings alone", async () => {
    const db = new Database(tmp.file());
    const given = sqliteBackend({ database: db });
    expect(checkpointerOf.get(given)).toBeUndefined();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(SQLITE_DEFAULT_PAGES);
    await given.close();
    db.close();
    const memory = sqliteBackend({ file: ':memory:' });
    expect(checkpointerOf.get(memory)).toBeUndefined();
    await memory.close();
  });

  it('refuses an unknown walCheckpoint with a ConfigError naming the option and its values', () => {
    expect(() => sqliteBackend({ file: tmp.file() }, { walCheckpoint: 'sometimes' as 'inline' })).toThrow(ConfigError);
    expect(() => sqliteBackend({ file: tmp.file() }, { walCheckpoint: 'sometimes' as 'inline' })).toThrow(/walCheckpoint/);
  });
});

describe('sqliteBackend: the checkpoint thread and the process', () => {
  it('`await backend.close()` at the end of a script returns before the process exits (the thread holds it until stopped)', () => {
    const tmp = tempDir();
    try {
      const src = new URL('../src/index.ts', import.meta.url).href;
      const script = `import { sqliteBackend } from ${JSON.stringify(src)};
        const b = sqliteBackend({ file: ${JSON.stringify(tmp.file())} });
        await b.close();
        console.log('after close');`;
      const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
      expect(out.trim()).toBe('after close');
    } finally {
      tmp.remove();
    }
  });
});
