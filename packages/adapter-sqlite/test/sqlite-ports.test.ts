// Port behaviour specific to the SQLite adapter: several connections on one file, the backend
// clock, retention over the indexes, and the rows each write leaves behind.
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId, type Backend, type NewTimer } from '@baton/core';
import { sqliteBackend } from '@baton/sqlite';
import { newTask, sleep, tempDir } from './helpers.js';

function timer(over: Partial<NewTimer> = {}): NewTimer {
  return { id: newId(), kind: 'custom', delayMs: 0, key: null, taskId: null, phaseId: null, name: 'test', payload: { p: 1 }, ...over };
}

async function running(b: Backend, leaseMs = 60_000): Promise<{ id: string; taskId: string; leaseId: string }> {
  const t = newTask();
  await b.tasks.create([t]);
  await b.queue.enqueue([{ taskId: t.id }]);
  const [d] = await b.queue.claim({ limit: 1, leaseMs, waitMs: 0 });
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
    await a.queue.enqueue(ids.map((taskId) => ({ taskId })));
    const seen: string[] = [];
    for (let round = 0; round < 100 && seen.length < ids.length; round++) {
      const [x, y] = await Promise.all([
        a.queue.claim({ limit: 7, leaseMs: 60_000, waitMs: 0 }),
        b.queue.claim({ limit: 5, leaseMs: 60_000, waitMs: 0 }),
      ]);
      seen.push(...x.map((d) => d.taskId), ...y.map((d) => d.taskId));
    }
    expect(seen).toHaveLength(ids.length);
    expect(new Set(seen).size).toBe(ids.length);
  });

  it('claims oldest first; a delayed delivery becomes claimable during a waiting claim', async () => {
    const [first, second, late] = [newId(), newId(), newId()];
    await a.queue.enqueue([{ taskId: late, delayMs: 150 }]);
    await a.queue.enqueue([{ taskId: first }]);
    await a.queue.enqueue([{ taskId: second }]);
    expect((await a.queue.claim({ limit: 10, leaseMs: 1000, waitMs: 0 })).map((d) => d.taskId)).toEqual([first, second]);
    expect(await a.queue.depth()).toEqual({ ready: 0, leased: 2, delayed: 1 });
    const got = await b.queue.claim({ limit: 10, leaseMs: 1000, waitMs: 5_000 });
    expect(got.map((d) => d.taskId)).toEqual([late]);
  });

  it("a waiting claim on one backend is woken by an enqueue through another backend on the same file", async () => {
    const id = newId();
    const waiting = b.queue.claim({ limit: 1, leaseMs: 1000, waitMs: 10_000 });
    await sleep(50);
    await a.queue.enqueue([{ taskId: id }]);
    expect((await waiting).map((d) => d.taskId)).toEqual([id]);
  });

  it('an aborted waiting claim returns empty', async () => {
    const ac = new AbortController();
    const waiting = a.queue.claim({ limit: 1, leaseMs: 1000, waitMs: 10_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    expect(await waiting).toEqual([]);
  });

  it('an expired lease is reclaimed by another connection; the old holder can neither ack nor extend it', async () => {
    const id = newId();
    await a.queue.enqueue([{ taskId: id }]);
    const [old] = await a.queue.claim({ limit: 1, leaseMs: 100, waitMs: 0 });
    expect(await b.queue.reclaimExpired(10)).toEqual([]);
    await sleep(150);
    expect(await b.queue.reclaimExpired(10)).toEqual([old]);
    expect(await a.queue.ack([old!])).toEqual([false]);
    expect(await a.queue.extend([old!], 1000)).toEqual([false]);
    const [next] = await b.queue.claim({ limit: 1, leaseMs: 1000, waitMs: 0 });
    expect(next?.taskId).toBe(id);
    expect(next?.leaseId).not.toBe(old?.leaseId);
    expect(await b.queue.ack([next!])).toEqual([true]);
    expect(await a.queue.depth()).toEqual({ ready: 0, leased: 0, delayed: 0 });
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
    expect(await b.tasks.recover([expired!], 10)).toEqual(['recovered']);
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
    expect(await a.timers.list({})).toEqual([]);
  });

  it('timers: a pending key returns the pending timer; cancel and list filter by every field', async () => {
    const [k1] = await a.timers.schedule([timer({ key: 'retry:1', delayMs: 60_000, taskId: 't1' })]);
    const [again] = await b.timers.schedule([timer({ key: 'retry:1', delayMs: 5 })]);
    expect(again).toEqual(k1);
    await a.timers.schedule([timer({ phaseId: 'p1', delayMs: 30_000 }), timer({ phaseId: 'p2', delayMs: 30_000 })]);
    const next = await a.timers.nextDueIn();
    expect(next).toBeGreaterThan(20_000);
    expect(next).toBeLessThanOrEqual(30_000);
    expect((await a.timers.list({ taskId: 't1' })).map((r) => r.id)).toEqual([k1!.id]);
    expect(await a.timers.cancel({ phaseId: 'p1' })).toBe(1);
    expect(await a.timers.cancel({ keys: ['retry:1'], taskId: 'other' })).toBe(0);
    expect(await a.timers.cancel({ keys: ['retry:1'] })).toBe(1);
    expect((await a.timers.list({})).map((r) => r.phaseId)).toEqual(['p2']);
  });

  it('heartbeats expire after their TTL and stale lists live entries, stalest first', async () => {
    await a.heartbeats.beat([{ id: 'short', ttlMs: 100 }, { id: 'w1', ttlMs: 60_000 }]);
    await sleep(20);
    await b.heartbeats.beat([{ id: 'w2', ttlMs: 60_000 }]);
    expect(await b.heartbeats.lastSeen('short')).not.toBeNull();
    await sleep(120);
    expect(await b.heartbeats.lastSeen('short')).toBeNull();
    expect((await a.heartbeats.stale(10)).map((e) => e.id)).toEqual(['w1', 'w2']);
    expect((await a.heartbeats.stale(60_000)).map((e) => e.id)).toEqual([]);
    await a.heartbeats.remove(['w1']);
    expect(await b.heartbeats.lastSeen('w1')).toBeNull();
  });

  it('event seq keeps growing after retention deleted every event', async () => {
    const ev = (i: number) => ({ id: newId(), type: 'task.started' as const, at: Date.now(), runId: 'r', phaseId: null, taskId: `t${i}`, workerId: null, data: { i } });
    await a.events.append([ev(1), ev(2), ev(3)]);
    const before = await b.events.query({ runId: 'r' });
    expect(before.map((e) => e.data.i)).toEqual([1, 2, 3]);
    expect(await a.events.purge({ olderThanMs: 3_600_000, keepLatest: 0, limit: 100 })).toBe(3);
    await b.events.append([ev(4)]);
    const [after] = await a.events.query({});
    expect(after!.seq).toBeGreaterThan(before[2]!.seq);
    expect((await a.events.query({ type: ['task.started', 'task.completed'], after: before[2]!.seq })).map((e) => e.data.i)).toEqual([4]);
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
    expect((await a.tasks.list({ states: ['completed'] })).map((t) => t.id)).toEqual(done.slice(3));
    expect((await a.checkpoints.stats()).count).toBe(2);
    const db = new Database(tmp.file());
    expect(db.prepare('SELECT count(*) FROM baton_idempotency_keys').pluck().get()).toBe(2);
    db.close();
    await sleep(20);
    expect(await b.tasks.purge({ state: 'completed', olderThanMs: 10, keepLatest: 100, limit: 100 })).toBe(2);
  });

  it('finish applies each outcome only under the lease; scheduled counts an attempt; recover turns a poison pill dead', async () => {
    const t = await running(a);
    expect(await b.tasks.finish([{ taskId: t.id, leaseId: 'other', state: 'completed' }])).toEqual([false]);
    const err = { name: 'Error', message: 'boom', code: null, stack: null };
    expect(await b.tasks.finish([{ taskId: t.id, leaseId: t.leaseId, state: 'scheduled', error: err, durationMs: 7 }])).toEqual([true]);
    expect(await a.tasks.get(t.id)).toMatchObject({ state: 'scheduled', attempt: 1, error: err, durationMs: 7, leaseId: null, finishedAt: null });
    expect(await a.queue.ack([t])).toEqual([true]);
    expect(await a.tasks.transition([t.id, t.id], ['scheduled'], 'pending')).toEqual([t.id]);
    await a.queue.enqueue([{ taskId: t.id }]);
    const [d] = await a.queue.claim({ limit: 1, leaseMs: 60_000, waitMs: 0 });
    await a.tasks.start([{ taskId: t.id, leaseId: d!.leaseId, workerId: 'w' }]);
    expect(await a.tasks.recover([{ taskId: t.id, leaseId: d!.leaseId }], 0)).toEqual(['dead']);
    expect(await a.tasks.get(t.id)).toMatchObject({ state: 'dead', recoveries: 1, error: { code: 'POISON_PILL' } });
  });
});
