// Opening, pragmas, the migration ledger and closing: what the adapter promises beyond the ports.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError, silentLogger, type Logger } from '@baton/core';
import { MIGRATIONS, SCHEMA_VERSION, sqliteBackend } from '../src/index.js';
import { newTask, queueItem, tempDir } from './helpers.js';

const pkg = fileURLToPath(new URL('../', import.meta.url));

describe('sqliteBackend: open and close', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  it('opens a file in WAL mode with synchronous NORMAL and declares itself durable and multi-process', async () => {
    const b = sqliteBackend({ file: tmp.file() });
    expect(b.file).toBe(tmp.file());
    expect(b.name).toBe('sqlite');
    expect(b.capabilities).toEqual({ durable: true, multiProcess: true, transactionalEnqueue: false, pushWake: false, atomicEvents: true });
    await b.close();
    const db = new Database(tmp.file());
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('applies synchronous FULL and busyTimeoutMs to a connection it is given, and leaves that connection open', async () => {
    const db = new Database(tmp.file());
    const b = sqliteBackend({ database: db }, { synchronous: 'FULL', busyTimeoutMs: 1234, name: 'mine' });
    expect(b.name).toBe('mine');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
    await b.close();
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT count(*) FROM baton_tasks').pluck().get()).toBe(0);
    db.close();
  });

  it("adds the baton_* tables beside an application's own tables when given its connection", async () => {
    const db = new Database(tmp.file());
    db.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY)');
    const b = sqliteBackend({ database: db });
    await b.tasks.create([newTask()]);
    await b.close();
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toContain('orders');
    expect(tables).toContain('baton_tasks');
    db.close();
  });

  it("':memory:' works and is declared neither durable nor multi-process", async () => {
    const b = sqliteBackend({ file: ':memory:' });
    expect(b.capabilities.durable).toBe(false);
    expect(b.capabilities.multiProcess).toBe(false);
    const t = newTask();
    await b.tasks.create([t]);
    expect((await b.tasks.get(t.id))?.state).toBe('pending');
    await b.close();
  });

  it('records each migration once in baton_migrations; reopening applies nothing', async () => {
    const file = tmp.file();
    await sqliteBackend({ file }).close();
    await sqliteBackend({ file }).close();
    const db = new Database(file);
    const rows = db.prepare('SELECT version, name FROM baton_migrations ORDER BY version').all();
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.at(-1)?.version);
    db.close();
  });

  it('several backends opening one new file at once migrate it exactly once', async () => {
    const file = tmp.file();
    const backends = Array.from({ length: 4 }, () => sqliteBackend({ file }));
    for (const b of backends) await b.close();
    const db = new Database(file);
    expect(db.prepare('SELECT count(*) FROM baton_migrations').pluck().get()).toBe(MIGRATIONS.length);
    db.close();
  });

  it('data survives close and reopen', async () => {
    const file = tmp.file();
    const a = sqliteBackend({ file });
    const t = newTask({ input: { keep: 'me' } });
    await a.tasks.create([t]);
    await a.queue.enqueue([queueItem(t)]);
    await a.close();
    const b = sqliteBackend({ file });
    expect((await b.tasks.get(t.id))?.input).toEqual({ keep: 'me' });
    expect(await b.queue.depth()).toEqual({ ready: 1, leased: 0, expired: 0, delayed: 0 });
    await b.close();
  });

  it('after close every port call rejects with BackendUnavailableError and a waiting claim returns', async () => {
    const b = sqliteBackend({ file: tmp.file() });
    const waiting = b.queue.claim({ queues: ['default'], limit: 1, leaseMs: 1000, waitMs: 10_000 });
    await b.close();
    await b.close();
    expect(await waiting).toEqual([]);
    await expect(b.tasks.get('x')).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(b.queue.enqueue([queueItem(newTask())])).rejects.toThrow(/closed \(queue\.enqueue\)/);
    await expect(b.ready({ logger: silentLogger })).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('logs through the baton logger given at ready: the migrations it applied at open, once', async () => {
    const lines: string[] = [];
    const log = (msg?: string) => (_obj: object | string, m?: string) => void lines.push(`${msg ?? ''}${m ?? (typeof _obj === 'string' ? _obj : '')}`);
    const logger: Logger = { trace: log(), debug: log(), info: log('info:'), warn: log('warn:'), error: log('error:'), fatal: log(), child: () => logger };
    const b = sqliteBackend({ file: tmp.file() });
    expect(lines).toEqual([]);
    await b.ready({ logger });
    await b.ready({ logger });
    expect(lines).toEqual(['info:applied Baton SQLite migrations']);
    await b.close();
  });

  it('ready refuses a file another process migrated to a newer schema since it was opened', async () => {
    const file = tmp.file();
    const b = sqliteBackend({ file });
    const db = new Database(file);
    db.prepare('INSERT INTO baton_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'future.sql', Date.now());
    db.close();
    await expect(b.ready({ logger: silentLogger })).rejects.toThrow(/schema version \d+.*upgrade @baton\/sqlite/);
    await b.close();
  });

  it('the embedded migrations match migrations/sqlite (npm run generate -- --check)', () => {
    expect(() =>
      execFileSync(process.execPath, ['../../scripts/embed-files.mjs', '../../migrations/sqlite', 'sql', 'src/migrations.generated.ts', '--check'], {
        cwd: pkg,
        stdio: 'pipe',
      }),
    ).not.toThrow();
  });
});
