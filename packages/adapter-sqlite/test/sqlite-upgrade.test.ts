// A v1 database (000001, with queued, delayed, running and finished tasks in it) upgrades in place
// when opened: its tasks land in queue 'default' at priority 0, and a v2 baton runs every one to
// completion — the running one after its dead worker's lease is reclaimed.
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBaton, silentLogger, type Baton } from '@baton/core';
import { DEFAULT_QUEUE_SETTINGS, newId } from '@baton/core/adapter';
import { MIGRATIONS, SCHEMA_VERSION, sqliteBackend, type SqliteBackend } from '../src/index.js';
import { writeV1Database, type V1Task } from './fixtures/v1-database.js';
import { newTask, tempDir } from './helpers.js';

describe('SQLite upgrade from schema v1', () => {
  let tmp: ReturnType<typeof tempDir>;
  let backend: SqliteBackend | null;
  let baton: Baton | null;
  beforeEach(() => {
    tmp = tempDir();
    backend = null;
    baton = null;
  });
  afterEach(async () => {
    await baton?.stop({ deadlineMs: 0 });
    await backend?.close();
    tmp.remove();
  });

  it('migrates a v1 file with tasks in place; its queued tasks land in default and run to completion', async () => {
    const file = tmp.file();
    const pending = Array.from({ length: 12 }, (_, i): V1Task => ({ id: newId(), state: 'pending', input: { i } }));
    const delayed: V1Task = { id: newId(), state: 'pending', input: { i: 'delayed' }, readyAt: Date.now() + 300 };
    const running: V1Task = { id: newId(), state: 'running', input: { i: 'running' }, leaseId: 'v1-dead-lease', leaseExpiresAt: Date.now() - 1_000 };
    const done: V1Task = { id: newId(), state: 'completed', input: { i: 'done' } };
    writeV1Database(file, [...pending, delayed, running, done]);

    backend = sqliteBackend({ file });
    const ledger = new Database(file, { readonly: true });
    expect(ledger.prepare('SELECT version FROM baton_migrations ORDER BY version').pluck().all()).toEqual(MIGRATIONS.map((m) => m.version));
    ledger.close();
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(2);

    // Every v1 task reads as a v2 record: queue 'default', priority 0, no group, progress or trace.
    const before = await backend.tasks.get(running.id);
    expect(before).toMatchObject({ state: 'running', queue: 'default', priority: 0, group: null, progress: null, traceContext: null, corruption: null, leaseId: 'v1-dead-lease' });
    expect(before!.heartbeatAt).toBe(before!.startedAt);
    expect(await backend.tasks.get(done.id)).toMatchObject({ state: 'completed', queue: 'default', result: { v1: true } });
    const [info] = await backend.queue.queues();
    expect(info).toMatchObject({ name: 'default', ...DEFAULT_QUEUE_SETTINGS });
    expect(info!.depth.ready + info!.depth.delayed).toBe(13);
    expect(info!.depth).toMatchObject({ leased: 1, expired: 1 });

    const ran: unknown[] = [];
    baton = createBaton({ backend, logger: silentLogger, worker: { concurrency: 4, pollIntervalMs: 20, stallTimeoutMs: 1_000, heartbeatIntervalMs: 300 } });
    baton.register('legacy', (input) => {
      ran.push((input as { i: unknown }).i);
      return { ran: (input as { i: unknown }).i };
    });
    await baton.start();
    for (const t of [...pending, delayed, running]) {
      expect(await baton.waitFor(t.id, { timeoutMs: 20_000, pollMs: 50 }), `task ${JSON.stringify(t.input)}`).toMatchObject({ state: 'completed', result: { ran: (t.input as { i: unknown }).i } });
    }
    expect((await baton.getTask(running.id))?.recoveries).toBe(1);
    expect(ran).toHaveLength(14);
    expect(await backend.queue.depth()).toEqual({ ready: 0, leased: 0, expired: 0, delayed: 0 });
    // The v1 idempotency keys still map to their tasks.
    expect(await backend.tasks.create([newTask({ type: 'legacy', idempotencyKey: `v1-key-${done.id}` })])).toEqual([{ id: done.id, duplicate: true }]);
  });
});
