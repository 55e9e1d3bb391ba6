// Port behaviour specific to the SQLite adapter: several connections on one file (claims, limits,
// rate bucket, fencing, timers), the backend clock, retention over the indexes, and the rows each
// write leaves behind.
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId, transitions, type Backend, type NewTimer, type QueueItem } from '@baton/core/adapter';
import { sqliteBackend } from '../src/index.js';
import { newTask, queueItem, sleep, tempDir } from './helpers.js';

const Q = ['default'];

function timer(over: Partial<NewTimer> = {}): NewTimer {
  return { id: newId(), kind: 'custom', delayMs: 0, key: null, taskId: null, phaseId: null, name: 'test', payload: { p: 1 }, ...over };
}

const item = (taskId: string, over: Partial<QueueItem> = {}): QueueItem => ({ taskId, queue: 'default', priority: 0, group: null, ...over });

async function running(b: Backend, leaseMs = 60_000): Promise<{ id: string; taskId: string; leaseId: string }> {
  const t = newTask();
  await b.tasks.create([t]);
  await b.queue.enqueue([queueItem(t)]);
  const [d] = await b.queue.claim({ queues: Q, limit: 1, leaseMs, waitMs: 0 });
  await b.tasks.start([{ taskId: t.id, leaseId: d!.leaseId, workerId: 'w' }]);
  return { id: t.id, taskId: t.id, leaseId: d!.leaseId };
}

describe('SQLite ports', () => {
  let tmp: ReturnType<typeof tempDir>;
  let a: Backend;
  let b: Backend;
  beforeEach(() => {
    tmp = tempDir();
    a = sqliteBackend({ file: tmp.file() });
    b = sqliteBackend({ file: tmp.file() });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    tmp.remove();
  });

  it('two connections claiming one file in turn never get the same delivery', async () => {
    const ids = Array.from({ length: 200 }, () => newId());
    await a.queue.enqueue(ids.map((id) => item(id)));
    const seen: string[] = [];
    for (let round = 0; round < 100 && seen.length < ids.length; round++) {
      const [x, y] = await Promise.all([
        a.queue.claim({ queues: Q, limit: 7, leaseMs: 60_000, waitMs: 0 }),
        b.queue.claim({ queues: Q, limit: 5, leaseMs: 60_000, waitMs: 0 }),
      ]);
      seen.push(...x.map((d) => d.taskId), ...y.map((d) => d.taskId));
    }
    expect(seen).toHaveLength(ids.length);
    expect(new Set(seen).size).toBe(ids.length);
  });

  it('claims from two connections in turn follow one global order: priority, then readiness, then enqueue order', async () => {
    const ids = Array.from({ length: 12 }, () => newId());
    await a.queue.enqueue(ids.map((id, i) => item(id, { priority: i % 3 })));
    const got: string[] = [];
    for (let i = 0; i < 6; i++) got.push(...(await (i % 2 === 0 ? a : b).queue.claim({ queues: Q, limit: 2, leaseMs: 60_000, waitMs: 0 })).map((d) => d.taskId));
    const expected = [2, 1, 0].flatMap((p) => ids.filter((_, i) => i % 3 === p));
    expect(got).toEqual(expected);
  });

  it('a queue’s concurrency and group caps count the leases of every connection on the file', async () => {
    await a.queue.configure('capped', { concurrency: 3, groupConcurrency: 1 });
    const ids = Array.from({ length: 8 }, () => newId());
    await a.queue.enqueue(ids.map((id, i) => item(id, { queue: 'capped', group: i < 4 ? 'acme' : null })));
    const x = await a.queue.claim({ queues: ['capped'], limit: 10, leaseMs: 60_000, waitMs: 0 });
    const y = await b.queue.claim({ queues: ['capped'], limit: 10, leaseMs: 60_000, waitMs: 0 });
    expect(x.length + y.length).toBe(3);
    expect([...x, ...y].filter((d) => ids.indexOf(d.taskId) < 4)).toHaveLength(1);
    expect(await b.queue.ack([x[0]!])).toEqual([true]);
    expect(await a.queue.claim({ queues: ['capped'], limit: 10, leaseMs: 60_000, waitMs: 0 })).toHaveLength(1);
  });

  it('the rate bucket lives in the file: two connections share one bucket', async () => {
    await a.queue.configure('limited', { rateLimit: { max: 2, perMs: 60_000 } });
    await a.queue.enqueue(Array.from({ length: 6 }, () => item(newId(), { queue: 'limited' })));
    const x = await a.queue.claim({ queues: ['limited'], limit: 1, leaseMs: 60_000, waitMs: 0 });
    const y = await b.queue.claim({ queues: ['limited'], limit: 5, leaseMs: 60_000, waitMs: 0 });
    expect(x.length + y.length).toBe(2);
    expect(await a.queue.claim({ queues: ['limited'], limit: 5, leaseMs: 60_000, waitMs: 0 })).toEqual([]);
    // A changed limit keeps what was used (a minute's worth of claims is still ahead of the clock)…
    await b.queue.configure('limited', { rateLimit: { max: 3, perMs: 60_000 } });
    expect(await a.queue.claim({ queues: ['limited'], limit: 5, leaseMs: 60_000, waitMs: 0 })).toEqual([]);
    // …a limit cleared and set anew starts full.
    await b.queue.configure('limited', { rateLimit: null });
    await b.queue.configure('limited', { rateLimit: { max: 3, perMs: 60_000 } });
    expect(await a.queue.claim({ queues: ['limited'], limit: 5, leaseMs: 60_000, waitMs: 0 })).toHaveLength(3);
  });

  it("a waiting claim on one backend is woken by an enqueue through another backend on the same file", async () => {
    const id = newId();
    const waiting = b.queue.claim({ queues: Q, limit: 1, leaseMs: 1000, waitMs: 10_000 });
    await sleep(50);
    await a.queue.enqueue([item(id)]);
    expect((await waiting).map((d) => d.taskId)).toEqual([id]);
  });

  it('an expired lease is reclaimed by another connection; the old holder can neither ack nor extend it', async () => {
    const id = newId();
    await a.queue.enqueue([item(id)]);
    const [old] = await a.queue.claim({ queues: Q, limit: 1, leaseMs: 100, waitMs: 0 });
    expect(await b.queue.reclaimExpired(10)).toEqual([]);
    await sleep(150);
    expect(await b.queue.reclaimExpired(10)).toEqual([old]);
    expect(await a.queue.ack([old!])).toEqual([false]);
    expect(await a.queue.extend([old!], 1000)).toEqual([false]);
    const [next] = await b.queue.claim({ queues: Q, limit: 1, leaseMs: 1000, waitMs: 0 });
    expect(next?.taskId).toBe(id);
    expect(next?.leaseId).not.toBe(old?.leaseId);
    expect(await b.queue.ack([next!])).toEqual([true]);
  });

  it('lease ids are unique across connections', async () => {
    await a.queue.enqueue(Array.from({ length: 40 }, () => item(newId())));
    const [x, y] = [await a.queue.claim({ queues: Q, limit: 20, leaseMs: 60_000, waitMs: 0 }), await b.queue.claim({ queues: Q, limit: 20, leaseMs: 60_000, waitMs: 0 })];
    expect(new Set([...x, ...y].map((d) => d.leaseId)).size).toBe(40);
  });

  it('checkpoint save is fenced by the lease across connections and stores the exact bytes', async () => {
    const t = await running(a, 100);
    const body = new Uint8Array([0, 1, 2, 250, 255]);
    expect(await a.checkpoints.save(t.id, t.leaseId, { token: 's1', encoding: 'gzip', body, sizeBytes: 99 })).toBe(true);
    expect((await b.tasks.get(t.id))?.hasCheckpoint).toBe(true);
    const loaded = await b.checkpoints.load(t.id);
    expect(loaded).toMatchObject({ taskId: t.id, token: 's1', encoding: 'gzip', sizeBytes: 99 });
    expect(Buffer.from(loaded!.body)).toEqual(Buffer.from(body));
    await sleep(150);
    const [expired] = await b.queue.reclaimExpired(10);
    expect(await b.tasks.recover([{ ...expired!, poisonPill: transitions.poisonPillError(t.id, 1, 10) }], 10)).toEqual(['recovered']);
    expect(await a.checkpoints.save(t.id, t.leaseId, { token: 's2', encoding: 'json', body: Buffer.from('{}'), sizeBytes: 2 })).toBe(false);
    expect((await b.checkpoints.load(t.id))?.token).toBe('s1');
    expect(await b.checkpoints.delete([t.id, newId()])).toBe(1);
    expect((await b.tasks.get(t.id))?.hasCheckpoint).toBe(false);
  });

  it('a due timer is claimed by one of two connections; after its claim expires it is due again', async () => {
    const [t1] = await a.timers.schedule([timer({ delayMs: 0 })]);
    const [x, y] = await Promise.all([a.timers.claimDue(10, 100), b.timers.claimDue(10, 100)]);
    expect([...x, ...y].map((r) => r.id)).toEqual([t1!.id]);
    expect(await a.timers.nextDueIn()).toBeNull();
    await sleep(150);
    expect(await b.timers.nextDueIn()).toBe(0);
    expect((await b.timers.claimDue(10, 60_000)).map((r) => r.id)).toEqual([t1!.id]);
    await b.timers.complete([t1!.id]);
    expect(await a.timers.claimDue(10, 1000)).toEqual([]);
    expect(await a.timers.list({ limit: 100 })).toEqual([]);
  });

  it('event seq keeps growing after retention deleted every event', async () => {
    const ev = (i: number) => ({ id: newId(), type: 'task.started' as const, at: Date.now(), runId: 'r', phaseId: null, taskId: `t${i}`, workerId: null, data: { i } });
    await a.events.append([ev(1), ev(2), ev(3)]);
    const before = await b.events.query({ runId: 'r', limit: 100 });
    expect(before.map((e) => e.data.i)).toEqual([1, 2, 3]);
    expect(await a.events.purge({ olderThanMs: 3_600_000, keepLatest: 0, limit: 100 })).toBe(3);
    await b.events.append([ev(4)]);
    const [after] = await a.events.query({ limit: 100 });
    expect(after!.seq).toBeGreaterThan(before[2]!.seq);
  });

  it('task purge keeps the newest keepLatest, drops the old ones with their checkpoints and keys', async () => {
    const done: string[] = [];
    for (let i = 0; i < 5; i++) {
      const t = await running(a);
      await a.checkpoints.save(t.id, t.leaseId, { token: 'c', encoding: 'json', body: Buffer.from('{}'), sizeBytes: 2 });
      await a.tasks.finish([{ taskId: t.id, leaseId: t.leaseId, state: 'completed', result: i }]);
      done.push(t.id);
      await sleep(3);
    }
    expect(await b.tasks.purge({ state: 'completed', olderThanMs: 3_600_000, keepLatest: 2, limit: 2 })).toBe(2);
    expect(await b.tasks.purge({ state: 'completed', olderThanMs: 3_600_000, keepLatest: 2, limit: 100 })).toBe(1);
    expect((await a.tasks.list({ states: ['completed'], limit: 100 })).tasks.map((t) => t.id)).toEqual(done.slice(3));
    expect((await a.checkpoints.stats()).count).toBe(2);
    const db = new Database(tmp.file());
    expect(db.prepare('SELECT count(*) FROM baton_idempotency_keys').pluck().get()).toBe(2);
    db.close();
    await sleep(20);
    expect(await b.tasks.purge({ state: 'completed', olderThanMs: 10, keepLatest: 100, limit: 100 })).toBe(2);
  });

  it('text is stored exactly as given: astral characters, U+FFFF, line separators and quotes in names, ids and keys', async () => {
    const odd = 'type 𝄞 \uffff \u2028 "q" \'s\' \\ ü';
    const t = newTask({ type: odd, queue: 'q.odd:1', group: `g ${odd}`, runId: `r ${odd}`, phaseId: `p ${odd}`, idempotencyKey: `k ${odd}`, input: { [odd]: odd } });
    await a.tasks.create([t]);
    const got = await b.tasks.get(t.id);
    expect(got).toMatchObject({ type: odd, group: `g ${odd}`, runId: `r ${odd}`, phaseId: `p ${odd}`, idempotencyKey: `k ${odd}`, input: { [odd]: odd } });
    expect((await b.tasks.counts('type')).map((c) => c.key)).toEqual([odd]);
    expect((await b.tasks.list({ type: odd, limit: 10 })).tasks.map((x) => x.id)).toEqual([t.id]);
  });
});
