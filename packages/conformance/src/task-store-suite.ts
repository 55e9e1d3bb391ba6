// TaskStore: creation and idempotency keys, reads, filters, counts, and what survives a round
// trip through storage (JSON fidelity, no prototype pollution, no shared objects).
import { describe, expect, it } from 'vitest';
import { newId, type JsonValue, type TaskCount } from '@baton/core';
import { byId, claimIds, createTasks, isEpochMs, newTask, sleep, type Harness } from './harness.js';

export function taskStoreSuite(h: Harness): void {
  describe('TaskStore: create and read', () => {
    it('create returns the given ids and stores pending tasks with zeroed counters', async () => {
      const b = h.backend();
      const a = newTask({ runId: 'run-1', phaseId: 'phase-1', maxRetries: 5, budget: { costUsd: 1.5, tokens: 1000, timeMs: 60_000 } });
      const c = newTask({ type: 'other', input: [1, 'two'] });
      expect(await b.tasks.create([a, c])).toEqual([
        { id: a.id, duplicate: false },
        { id: c.id, duplicate: false },
      ]);
      const got = await b.tasks.get(a.id);
      expect(got).toMatchObject({
        id: a.id,
        type: 'conformance',
        input: { n: 1 },
        state: 'pending',
        idempotencyKey: a.idempotencyKey,
        runId: 'run-1',
        phaseId: 'phase-1',
        attempt: 0,
        maxRetries: 5,
        recoveries: 0,
        budget: { costUsd: 1.5, tokens: 1000, timeMs: 60_000 },
        usage: { costUsd: 0, tokens: 0 },
        leaseId: null,
        workerId: null,
        hasCheckpoint: false,
        result: null,
        error: null,
        durationMs: null,
        startedAt: null,
        finishedAt: null,
      });
      expect(isEpochMs(got!.createdAt)).toBe(true);
      expect(got!.updatedAt).toBeGreaterThanOrEqual(got!.createdAt);
      expect((await b.tasks.get(c.id))?.input).toEqual([1, 'two']);
      expect((await b.tasks.get(c.id))?.budget).toBeNull();
    });

    it('get returns null for an unknown id', async () => {
      expect(await h.backend().tasks.get(newId())).toBeNull();
    });

    it('a second create with a live key returns the existing id as a duplicate and creates nothing', async () => {
      const b = h.backend();
      const first = newTask();
      await b.tasks.create([first]);
      const again = newTask({ idempotencyKey: first.idempotencyKey, input: { n: 2 } });
      expect(await b.tasks.create([again])).toEqual([{ id: first.id, duplicate: true }]);
      expect(await b.tasks.get(again.id)).toBeNull();
      expect((await b.tasks.get(first.id))?.input).toEqual({ n: 1 });
    });

    it('50 concurrent creates of one key create exactly one task; all others are duplicates of it', async () => {
      const b = h.backend();
      const key = `race-${newId()}`;
      const tasks = Array.from({ length: 50 }, (_, i) => newTask({ idempotencyKey: key, input: { i } }));
      const results = (await Promise.all(tasks.map((t) => b.tasks.create([t])))).map((r) => r[0]!);
      const winners = results.filter((r) => !r.duplicate);
      expect(winners).toHaveLength(1);
      const winner = winners[0]!.id;
      expect(new Set(results.map((r) => r.id))).toEqual(new Set([winner]));
      expect(await b.tasks.list({ limit: 1000 })).toHaveLength(1);
      for (const t of tasks) if (t.id !== winner) expect(await b.tasks.get(t.id)).toBeNull();
    });

    it('one create call carrying a key twice creates one task and reports the second as its duplicate', async () => {
      const b = h.backend();
      const a = newTask();
      const twin = newTask({ idempotencyKey: a.idempotencyKey });
      expect(await b.tasks.create([a, twin])).toEqual([
        { id: a.id, duplicate: false },
        { id: a.id, duplicate: true },
      ]);
      expect(await b.tasks.get(twin.id)).toBeNull();
    });

    it('once a key’s TTL has passed the key maps to nothing and a new task is created', async () => {
      const b = h.backend();
      const first = newTask({ keyTtlMs: 500 });
      await b.tasks.create([first]);
      expect((await b.tasks.create([newTask({ idempotencyKey: first.idempotencyKey })]))[0]).toEqual({ id: first.id, duplicate: true });
      await sleep(1_200);
      const second = newTask({ idempotencyKey: first.idempotencyKey, keyTtlMs: 60_000 });
      expect(await b.tasks.create([second])).toEqual([{ id: second.id, duplicate: false }]);
      expect(await b.tasks.get(first.id)).not.toBeNull();
      expect((await b.tasks.create([newTask({ idempotencyKey: first.idempotencyKey })]))[0]).toEqual({ id: second.id, duplicate: true });
    });
  });

  describe('TaskStore: list and counts', () => {
    it('list filters by type, runId, phaseId, states and ids, combined with AND, oldest first', async () => {
      const b = h.backend();
      const [t1, t2, t3, t4] = await createTasks(b, [
        { type: 'a', runId: 'r1', phaseId: 'p1' },
        { type: 'b', runId: 'r1', phaseId: 'p2' },
        { type: 'a', runId: 'r2', phaseId: 'p1' },
        { type: 'a' },
      ]);
      const ids = async (filter: Parameters<typeof b.tasks.list>[0]) => (await b.tasks.list(filter)).map((t) => t.id);
      expect(await ids({})).toEqual([t1, t2, t3, t4]);
      expect(await ids({ type: 'a' })).toEqual([t1, t3, t4]);
      expect(await ids({ runId: 'r1' })).toEqual([t1, t2]);
      expect(await ids({ phaseId: 'p1' })).toEqual([t1, t3]);
      expect(await ids({ type: 'a', runId: 'r1' })).toEqual([t1]);
      expect(await ids({ ids: [t4!, t2!] })).toEqual([t2, t4]);
      expect(await ids({ ids: [t1!], type: 'b' })).toEqual([]);
      expect(await ids({ ids: [newId()] })).toEqual([]);
      expect(await ids({ limit: 2 })).toEqual([t1, t2]);

      await b.queue.enqueue([{ taskId: t2! }]);
      const lease = (await claimIds(b, [t2!], 60_000)).get(t2!)!;
      await b.tasks.start([{ taskId: t2!, leaseId: lease, workerId: 'w' }]);
      expect(await ids({ states: ['running'] })).toEqual([t2]);
      expect(await ids({ states: ['pending'] })).toEqual([t1, t3, t4]);
      expect(await ids({ states: ['pending', 'running'] })).toEqual([t1, t2, t3, t4]);
      expect(await ids({ states: ['completed'] })).toEqual([]);
    });

    it('list idleForMs returns only tasks not updated within that time', async () => {
      const b = h.backend();
      const [old] = await createTasks(b, [{}]);
      await sleep(600);
      const [fresh] = await createTasks(b, [{}]);
      expect((await b.tasks.list({ idleForMs: 300 })).map((t) => t.id)).toEqual([old]);
      expect((await b.tasks.list({ states: ['pending'], idleForMs: 300 })).map((t) => t.id)).toEqual([old]);
      expect((await b.tasks.list({ limit: 10 })).map((t) => t.id).sort(byId)).toEqual([old!, fresh!].sort(byId));
    });

    it('list returns at most 100 by default and honours a larger or smaller limit', async () => {
      const b = h.backend();
      await b.tasks.create(Array.from({ length: 120 }, (_, i) => newTask({ input: { i } })));
      expect(await b.tasks.list({})).toHaveLength(100);
      expect(await b.tasks.list({ limit: 1000 })).toHaveLength(120);
      expect(await b.tasks.list({ limit: 7 })).toHaveLength(7);
      expect(await b.tasks.list({ states: ['pending'], limit: 1000 })).toHaveLength(120);
    });

    it('counts groups tasks by phase and state', async () => {
      const b = h.backend();
      const [, , p1Running, , done] = await createTasks(b, [{ phaseId: 'p1' }, { phaseId: 'p1' }, { phaseId: 'p1' }, { phaseId: 'p2' }, {}]);
      await b.queue.enqueue([{ taskId: p1Running! }, { taskId: done! }]);
      const leases = await claimIds(b, [p1Running!, done!], 60_000);
      await b.tasks.start([...leases].map(([taskId, leaseId]) => ({ taskId, leaseId, workerId: 'w' })));
      await b.tasks.finish([{ taskId: done!, leaseId: leases.get(done!)!, state: 'completed', result: null }]);
      const norm = (cs: TaskCount[]) =>
        cs
          .filter((c) => c.count > 0)
          .map((c) => `${c.phaseId ?? '-'}:${c.state}:${c.count}`)
          .sort();
      expect(norm(await b.tasks.counts())).toEqual(['-:completed:1', 'p1:pending:2', 'p1:running:1', 'p2:pending:1']);
    });
  });

  describe('TaskStore: stored data', () => {
    const awkward: JsonValue = {
      unicode: 'héllo wörld — 日本語 — 🚀👩‍💻 — עברית — \u2028\u2029',
      escapes: 'quote " backslash \\ slash / newline \n tab \t cr \r',
      nested: [[1, [2, [3, []]]], { a: [{ b: null }, { c: [true, false] }] }],
      nothing: null,
      yes: true,
      no: false,
      numbers: [0, -1, 3.25, -0.0125, 1e-7, 123456789.5, 2 ** 53 - 1],
      emptyObject: {},
      emptyArray: [],
      large: 'x'.repeat(200_000),
      manyKeys: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])),
    };

    it('input and result survive a round trip: unicode, escapes, nesting, null, numbers, large values', async () => {
      const b = h.backend();
      const t = newTask({ input: awkward });
      await b.tasks.create([t]);
      expect((await b.tasks.get(t.id))?.input).toEqual(awkward);
      await b.queue.enqueue([{ taskId: t.id }]);
      const lease = (await claimIds(b, [t.id], 60_000)).get(t.id)!;
      const [started] = await b.tasks.start([{ taskId: t.id, leaseId: lease, workerId: 'w' }]);
      expect(started?.task?.input).toEqual(awkward);
      expect(await b.tasks.finish([{ taskId: t.id, leaseId: lease, state: 'completed', result: awkward, durationMs: 5 }])).toEqual([true]);
      expect((await b.tasks.get(t.id))?.result).toEqual(awkward);
    });

    it('inputs that are not objects survive a round trip: null, string, number, boolean, array', async () => {
      const b = h.backend();
      const inputs: JsonValue[] = [null, 'just a string', 42.5, false, [1, 'a', null, [{}]]];
      const tasks = inputs.map((input) => newTask({ input }));
      await b.tasks.create(tasks);
      for (const [i, t] of tasks.entries()) expect((await b.tasks.get(t.id))?.input).toEqual(inputs[i]);
    });

    it('__proto__ and constructor keys in input and result do not pollute any prototype', async () => {
      const b = h.backend();
      const hostile = JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted2":"yes"}},"ok":1}') as JsonValue;
      const t = newTask({ input: hostile });
      await b.tasks.create([t]);
      const got = (await b.tasks.get(t.id))!;
      const input = got.input as Record<string, unknown>;
      expect(input.ok).toBe(1);
      expect(input.polluted).toBeUndefined();
      expect(Object.getPrototypeOf(input) === Object.prototype || Object.getPrototypeOf(input) === null).toBe(true);
      await b.queue.enqueue([{ taskId: t.id }]);
      const lease = (await claimIds(b, [t.id], 60_000)).get(t.id)!;
      await b.tasks.start([{ taskId: t.id, leaseId: lease, workerId: 'w' }]);
      await b.tasks.finish([{ taskId: t.id, leaseId: lease, state: 'completed', result: hostile }]);
      expect(((await b.tasks.get(t.id))?.result as Record<string, unknown>).polluted).toBeUndefined();
      const probe: Record<string, unknown> = {};
      expect(probe.polluted).toBeUndefined();
      expect(probe.polluted2).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('stored records share no objects with the caller: later mutation changes nothing stored', async () => {
      const b = h.backend();
      const input = { list: [1, 2], inner: { v: 'a' } };
      const t = newTask({ input });
      await b.tasks.create([t]);
      input.list.push(3);
      input.inner.v = 'changed';
      const got = (await b.tasks.get(t.id))!;
      expect(got.input).toEqual({ list: [1, 2], inner: { v: 'a' } });
      (got.input as { list: number[] }).list.push(99);
      got.usage.tokens = 5;
      expect((await b.tasks.get(t.id))?.input).toEqual({ list: [1, 2], inner: { v: 'a' } });
      expect((await b.tasks.get(t.id))?.usage).toEqual({ costUsd: 0, tokens: 0 });
    });
  });
}
