// What a backend's declared capabilities promise, checked where it declares them: enqueue inside
// the application's transaction (transactionalEnqueue), claims woken by new work (pushWake).
import { describe, expect, it } from 'vitest';
import { ConfigError, createBaton, silentLogger } from '@baton/core';
import { itWhen, newTask, queueItem, type Harness } from './harness.js';

export function capabilitiesSuite(h: Harness): void {
  describe('Capabilities', () => {
    itWhen(h, { transactionalEnqueue: true }, 'a task enqueued in a transaction that rolls back never exists; one that commits exists and runs', async () => {
      const b = h.backend();
      const hook = h.target.transaction;
      expect(hook, 'the target declares transactionalEnqueue: it must give the suite a transaction hook').toBeTypeOf('function');
      const baton = createBaton({ backend: b, logger: silentLogger, worker: { pollIntervalMs: 50 } });
      h.onCleanup(() => baton.stop({ deadlineMs: 0 }));
      let rolledBack = '';
      await hook!(b, async (transaction) => {
        rolledBack = (await baton.enqueue('tx', { n: 1 }, { transaction })).taskId;
      }, 'rollback');
      expect(await b.tasks.get(rolledBack)).toBeNull();
      expect(await b.events.query({ taskId: rolledBack, limit: 10 })).toEqual([]);

      let committed = '';
      await hook!(b, async (transaction) => {
        committed = (await baton.enqueue('tx', { n: 2 }, { transaction })).taskId;
      }, 'commit');
      expect((await b.tasks.get(committed))?.state).toBe('pending');
      expect((await b.events.query({ taskId: committed, limit: 10 })).map((e) => e.type)).toEqual(['task.enqueued']);
      baton.register('tx', (input) => input);
      await baton.start();
      expect(await baton.waitFor(committed, { timeoutMs: 20_000, pollMs: 50 })).toMatchObject({ state: 'completed', result: { n: 2 } });
    });

    itWhen(h, { transactionalEnqueue: false }, 'a backend without transactionalEnqueue refuses a transaction with a ConfigError, storing nothing', async () => {
      const b = h.backend();
      const baton = createBaton({ backend: b, logger: silentLogger });
      await expect(baton.enqueue('tx', {}, { transaction: {} })).rejects.toBeInstanceOf(ConfigError);
      expect((await b.tasks.list({ limit: 10 })).tasks).toEqual([]);
    });

    itWhen(h, { pushWake: true }, 'a waiting claim is woken by the enqueue, not by its timeout', async () => {
      const b = h.backend();
      const t = newTask({ queue: 'woken' });
      await b.tasks.create([t]);
      const claiming = b.queue.claim({ queues: ['woken'], limit: 1, leaseMs: 60_000, waitMs: 20_000 });
      await new Promise((r) => setTimeout(r, 300));
      const enqueuedAt = Date.now();
      await b.queue.enqueue([queueItem(t)]);
      const got = await claiming;
      expect(got.map((d) => d.taskId)).toEqual([t.id]);
      // Woken, not timed out: far inside the 20 s wait (a bound, not a latency target).
      expect(Date.now() - enqueuedAt).toBeLessThan(10_000);
    });

    it('declares each capability as a boolean the rest of the suite can read', () => {
      const caps = h.backend().capabilities;
      for (const key of ['durable', 'multiProcess', 'transactionalEnqueue', 'pushWake', 'atomicEvents'] as const) expect(typeof caps[key]).toBe('boolean');
    });
  });
}
