// Queue: deliveries with leases, within one queue. At-least-once, one live delivery per task,
// never one delivery to two claimers, leases that expire by the backend clock and fence
// ack/extend/release. Named queues, priorities and limits have suites of their own.
import { describe, expect, it } from 'vitest';
import { newId, type LeaseRef } from '@baton/core/adapter';
import { claimIds, sleep, type Harness } from './harness.js';
import { LEASE, item } from './queue-helpers.js';

const Q = ['default'];

export function queueSuite(h: Harness): void {
  describe('Queue', () => {
    it('enqueue, claim and ack deliver a task once under a fresh leaseId', async () => {
      const b = h.backend();
      const id = newId();
      await b.queue.enqueue([item(id)]);
      const got = await b.queue.claim({ queues: Q, limit: 10, leaseMs: LEASE, waitMs: 2_000 });
      expect(got).toHaveLength(1);
      expect(got[0]!.taskId).toBe(id);
      expect(typeof got[0]!.leaseId).toBe('string');
      expect(got[0]!.leaseId.length).toBeGreaterThan(0);
      expect(await b.queue.ack(got)).toEqual([true]);
      expect(await b.queue.ack(got)).toEqual([false]);
      expect(await b.queue.claim({ queues: Q, limit: 10, leaseMs: LEASE, waitMs: 0 })).toEqual([]);
      expect(await b.queue.depth()).toEqual({ ready: 0, leased: 0, expired: 0, delayed: 0 });
    });

    it('claim takes at most limit deliveries, oldest first', async () => {
      const b = h.backend();
      const ids = [newId(), newId(), newId(), newId()];
      for (const id of ids) {
        await b.queue.enqueue([item(id)]);
        await sleep(3);
      }
      // A backend may hand out fewer than limit per call; the order across calls is what counts.
      const first: string[] = [];
      for (let i = 0; i < 20 && first.length < 3; i++) {
        const got = await b.queue.claim({ queues: Q, limit: 3 - first.length, leaseMs: LEASE, waitMs: 500 });
        expect(got.length).toBeLessThanOrEqual(3 - first.length);
        first.push(...got.map((d) => d.taskId));
      }
      expect(first).toEqual(ids.slice(0, 3));
      const rest = await b.queue.claim({ queues: Q, limit: 3, leaseMs: LEASE, waitMs: 2_000 });
      expect(rest.map((d) => d.taskId)).toEqual(ids.slice(3));
    });

    it('never hands one delivery to two of 5 concurrent claimers (200 items)', async () => {
      const b = h.backend();
      const ids = Array.from({ length: 200 }, () => newId());
      await b.queue.enqueue(ids.map((taskId) => item(taskId)));
      const claimer = async (): Promise<string[]> => {
        const mine: string[] = [];
        let empty = 0;
        for (let i = 0; i < 400 && empty < 3; i++) {
          const got = await b.queue.claim({ queues: Q, limit: 7, leaseMs: LEASE, waitMs: 50 });
          if (got.length === 0) empty++;
          else empty = 0;
          mine.push(...got.map((d) => d.taskId));
          if (got.length > 0) expect(await b.queue.ack(got)).toEqual(got.map(() => true));
        }
        return mine;
      };
      const all = (await Promise.all([claimer(), claimer(), claimer(), claimer(), claimer()])).flat();
      expect(all).toHaveLength(200);
      expect(new Set(all)).toEqual(new Set(ids));
    });

    it('keeps at most one live delivery per task: repeated enqueues give one claim', async () => {
      const b = h.backend();
      const id = newId();
      await b.queue.enqueue([item(id), item(id)]);
      await b.queue.enqueue([item(id)]);
      expect((await b.queue.depth()).ready).toBe(1);
      const got = await b.queue.claim({ queues: Q, limit: 10, leaseMs: LEASE, waitMs: 2_000 });
      expect(got.map((d) => d.taskId)).toEqual([id]);
      await b.queue.enqueue([item(id)]);
      expect(await b.queue.claim({ queues: Q, limit: 10, leaseMs: LEASE, waitMs: 300 })).toEqual([]);
      expect(await b.queue.depth()).toEqual({ ready: 0, leased: 1, expired: 0, delayed: 0 });
      await b.queue.ack(got);
      await b.queue.enqueue([item(id)]);
      expect((await b.queue.claim({ queues: Q, limit: 10, leaseMs: LEASE, waitMs: 2_000 })).map((d) => d.taskId)).toEqual([id]);
    });

    it('a delayed delivery is not claimable before delayMs and is after', async () => {
      const b = h.backend();
      const id = newId();
      await b.queue.enqueue([item(id, { delayMs: 800 })]);
      expect(await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 0 })).toEqual([]);
      expect(await b.queue.depth()).toEqual({ ready: 0, leased: 0, expired: 0, delayed: 1 });
      await sleep(1_600);
      const got = await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 2_000 });
      expect(got.map((d) => d.taskId)).toEqual([id]);
    });

    it('release makes a delivery claimable again under a new leaseId; the old lease is dead', async () => {
      const b = h.backend();
      const id = newId();
      await b.queue.enqueue([item(id)]);
      const [first] = await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 2_000 });
      expect(await b.queue.release([{ taskId: id, leaseId: 'not-it' }])).toEqual([false]);
      expect(await b.queue.release([first!])).toEqual([true]);
      expect(await b.queue.release([first!])).toEqual([false]);
      const [second] = await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 2_000 });
      expect(second?.taskId).toBe(id);
      expect(second?.leaseId).not.toBe(first!.leaseId);
      expect(await b.queue.ack([first!])).toEqual([false]);
      expect(await b.queue.extend([first!], LEASE)).toEqual([false]);
      expect(await b.queue.ack([second!])).toEqual([true]);
    });

    it('release with delayMs holds the delivery back until the delay passes', async () => {
      const b = h.backend();
      const id = newId();
      await b.queue.enqueue([item(id)]);
      const [d] = await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 2_000 });
      expect(await b.queue.release([{ ...d!, delayMs: 800 }])).toEqual([true]);
      expect(await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 0 })).toEqual([]);
      expect((await b.queue.depth()).delayed).toBe(1);
      await sleep(1_600);
      expect((await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 2_000 })).map((x) => x.taskId)).toEqual([id]);
    });

    it('extend keeps a lease alive past its original expiry', async () => {
      const b = h.backend();
      const id = newId();
      await b.queue.enqueue([item(id)]);
      const [d] = await b.queue.claim({ queues: Q, limit: 1, leaseMs: 400, waitMs: 2_000 });
      for (let i = 0; i < 8; i++) {
        await sleep(100);
        expect(await b.queue.extend([d!], 400)).toEqual([true]);
      }
      expect(await b.queue.reclaimExpired(100)).toEqual([]);
      expect(await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 0 })).toEqual([]);
      expect(await b.queue.ack([d!])).toEqual([true]);
    });

    it('reclaimExpired returns expired leases; the delivery comes back under a new leaseId and the old one is refused', async () => {
      const b = h.backend();
      const id = newId();
      const live = newId();
      await b.queue.enqueue([item(id)]);
      const [d] = await b.queue.claim({ queues: Q, limit: 1, leaseMs: 200, waitMs: 2_000 });
      await b.queue.enqueue([item(live)]);
      const [l] = await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 2_000 });
      expect(l?.taskId).toBe(live);
      await sleep(700);
      expect(await b.queue.depth()).toEqual({ ready: 0, leased: 2, expired: 1, delayed: 0 });
      expect(await b.queue.reclaimExpired(100)).toEqual([{ taskId: id, leaseId: d!.leaseId }]);
      expect(await b.queue.reclaimExpired(100)).toEqual([]);
      expect(await b.queue.ack([d!])).toEqual([false]);
      expect(await b.queue.extend([d!], LEASE)).toEqual([false]);
      const [again] = await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 2_000 });
      expect(again?.taskId).toBe(id);
      expect(again?.leaseId).not.toBe(d!.leaseId);
      expect(await b.queue.ack([again!, l!])).toEqual([true, true]);
    });

    it('reclaimExpired returns at most limit leases per call', async () => {
      const b = h.backend();
      const ids = [newId(), newId(), newId()];
      await b.queue.enqueue(ids.map((taskId) => item(taskId)));
      await claimIds(b, ids, 200);
      await sleep(700);
      const first = await b.queue.reclaimExpired(2);
      expect(first.length).toBeLessThanOrEqual(2);
      const seen: LeaseRef[] = [...first];
      for (let i = 0; i < 5 && seen.length < 3; i++) seen.push(...(await b.queue.reclaimExpired(2)));
      expect(new Set(seen.map((r) => r.taskId))).toEqual(new Set(ids));
    });

    it('remove drops deliveries whatever their lease and reports how many', async () => {
      const b = h.backend();
      const [leased, ready, delayed] = [newId(), newId(), newId()];
      await b.queue.enqueue([item(leased)]);
      const [d] = await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 2_000 });
      await b.queue.enqueue([item(ready), item(delayed, { delayMs: 60_000 })]);
      expect(await b.queue.remove([leased, ready, delayed, newId()])).toBe(3);
      expect(await b.queue.depth()).toEqual({ ready: 0, leased: 0, expired: 0, delayed: 0 });
      expect(await b.queue.ack([d!])).toEqual([false]);
      expect(await b.queue.claim({ queues: Q, limit: 10, leaseMs: LEASE, waitMs: 0 })).toEqual([]);
      expect(await b.queue.remove([leased])).toBe(0);
    });

    it('depth counts ready, leased and delayed deliveries', async () => {
      const b = h.backend();
      await b.queue.enqueue([item(newId()), item(newId()), item(newId()), item(newId(), { delayMs: 60_000 })]);
      await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 2_000 });
      expect(await b.queue.depth()).toEqual({ ready: 2, leased: 1, expired: 0, delayed: 1 });
    });

    it('ack, extend and release answer per ref, in order', async () => {
      const b = h.backend();
      const ids = [newId(), newId()];
      await b.queue.enqueue(ids.map((taskId) => item(taskId)));
      const leases = await claimIds(b, ids, LEASE);
      const good = { taskId: ids[0]!, leaseId: leases.get(ids[0]!)! };
      const other = { taskId: ids[1]!, leaseId: leases.get(ids[1]!)! };
      const bad = { taskId: ids[1]!, leaseId: 'nope' };
      expect(await b.queue.extend([bad, good], LEASE)).toEqual([false, true]);
      expect(await b.queue.release([good, bad])).toEqual([true, false]);
      expect(await b.queue.ack([bad, other, { taskId: newId(), leaseId: 'x' }])).toEqual([false, true, false]);
    });

    it('a waiting claim returns the item enqueued during its wait', async () => {
      const b = h.backend();
      const id = newId();
      const waiting = b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 8_000 });
      await sleep(150);
      await b.queue.enqueue([item(id)]);
      expect((await waiting).map((d) => d.taskId)).toEqual([id]);
    });

    it('a waiting claim returns empty after waitMs when nothing comes; waitMs 0 does not wait', async () => {
      const b = h.backend();
      const started = Date.now();
      expect(await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 400 })).toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 0 })).toEqual([]);
    });

    it('aborting the signal ends a waiting claim early', async () => {
      const b = h.backend();
      const ac = new AbortController();
      const waiting = b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 60_000, signal: ac.signal });
      await sleep(150);
      ac.abort();
      const outcome = await Promise.race([waiting.then((d) => ({ ended: true, d })), sleep(15_000).then(() => ({ ended: false, d: [] }))]);
      expect(outcome.ended).toBe(true);
      expect(outcome.d).toEqual([]);
      const pre = new AbortController();
      pre.abort();
      expect(await b.queue.claim({ queues: Q, limit: 1, leaseMs: LEASE, waitMs: 60_000, signal: pre.signal })).toEqual([]);
    });
  });
}
