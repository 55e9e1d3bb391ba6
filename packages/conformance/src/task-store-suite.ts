// TaskStore: creation and idempotency keys, reads, and what survives a round trip through
// storage (JSON fidelity, no prototype pollution, no shared objects). Pages and counts are in
// admin-store-suite.ts, the fields of each change in transitions-suite.ts.
import { describe, expect, it } from 'vitest';
import { newId, type JsonValue } from '@baton/core/adapter';
import { isEpochMs, newTask, sleep, startTask, type Harness } from './harness.js';

export function taskStoreSuite(h: Harness): void {
  describe('TaskStore: create and read', () => {
    it('create returns the given ids and stores pending tasks with zeroed counters', async () => {
      const b = h.backend();
      const a = newTask({ queue: 'emails', priority: 5, group: 'tenant-9', runId: 'run-1', phaseId: 'phase-1', maxRetries: 5, budget: { costUsd: 1.5, tokens: 1000, timeMs: 60_000 } });
      const c = newTask({ type: 'other', input: [1, 'two'] });
      expect(await b.tasks.create([a, c])).toEqual([
        { id: a.id, duplicate: false },
        { id: c.id, duplicate: false },
      ]);
      const got = await b.tasks.get(a.id);
      expect(got).toMatchObject({
        id: a.id,
        type: 'conformance',
        queue: 'emails',
        priority: 5,
        group: 'tenant-9',
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
        progress: null,
        leaseId: null,
        workerId: null,
        hasCheckpoint: false,
        result: null,
        error: null,
        durationMs: null,
        startedAt: null,
        heartbeatAt: null,
        finishedAt: null,
        corruption: null,
      });
      expect(isEpochMs(got!.createdAt)).toBe(true);
      expect(got!.updatedAt).toBe(got!.createdAt);
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
      expect((await b.tasks.list({ limit: 1000 })).tasks).toHaveLength(1);
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
      const lease = `lease-${newId()}`;
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
      const lease = await startTask(b, t.id);
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
