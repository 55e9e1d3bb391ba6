// Fleet-wide limits enforced by the backend at claim time: a queue's concurrency (leased at once,
// slots given back by ack, release, remove and reclaimExpired, never by a lease merely expiring)
// and its per-group cap, which holds back one group without blocking the others.
import { describe, expect, it } from 'vitest';
import type { Backend, Delivery } from '@baton/core/adapter';
import { sleep, type Harness } from './harness.js';
import { EXPIRE_WAIT, LEASE, SHORT_LEASE, LeaseCounter, drain, drainAll, enqueueSpaced, freshIds, item, jitter, taskIds } from './queue-helpers.js';

/** Queue `q` capped at 2 with n tasks in it: claims both slots and returns the two deliveries. */
async function holdBoth(b: Backend, n: number): Promise<Delivery[]> {
  await b.queue.configure('q', { concurrency: 2 });
  await b.queue.enqueue(freshIds(n).map((id) => item(id, { queue: 'q' })));
  const held = await drainAll(b, ['q'], { limit: 10 });
  expect(held).toHaveLength(2);
  return held;
}

interface Churn {
  /** Key the counter tracks per delivery (its queue, its group). */
  keyOf: Map<string, string>;
  queues: string[];
  claimers: number;
  /** Share of holds that end in release (the delivery comes back) rather than ack. */
  releaseShare: number;
}

/**
 * Claimers that loop claim → hold a few ms → ack (or release) until every delivery was acked
 * once, counting leases per key client-side. Returns the counter and every acked task id.
 */
async function churn(b: Backend, o: Churn): Promise<{ counter: LeaseCounter; acked: string[] }> {
  const counter = new LeaseCounter();
  const acked: string[] = [];
  const total = o.keyOf.size;
  const claimer = async (): Promise<void> => {
    for (let i = 0; i < 3_000 && acked.length < total; i++) {
      const got = await b.queue.claim({ queues: o.queues, limit: 2, leaseMs: LEASE, waitMs: 20 });
      for (const d of got) counter.add(o.keyOf.get(d.taskId) ?? '?');
      await jitter(25);
      const release: Delivery[] = [];
      const ack: Delivery[] = [];
      for (const d of got) (Math.random() < o.releaseShare ? release : ack).push(d);
      for (const d of got) counter.drop(o.keyOf.get(d.taskId) ?? '?');
      if (ack.length > 0) {
        expect(await b.queue.ack(ack)).toEqual(ack.map(() => true));
        acked.push(...taskIds(ack));
      }
      if (release.length > 0) expect(await b.queue.release(release)).toEqual(release.map(() => true));
    }
  };
  await Promise.all(Array.from({ length: o.claimers }, claimer));
  return { counter, acked };
}

export function queueLimitsSuite(h: Harness): void {
  describe('Queue: fleet-wide concurrency', () => {
    it('a claim takes no more than the queue’s concurrency, however large its limit; other queues are not capped', async () => {
      const b = h.backend();
      await b.queue.configure('capped', { concurrency: 2 });
      const capped = freshIds(6);
      const free = freshIds(4);
      await b.queue.enqueue([...capped.map((id) => item(id, { queue: 'capped' })), ...free.map((id) => item(id, { queue: 'free' }))]);
      const got = await drainAll(b, ['capped', 'free'], { limit: 20 });
      expect(got.filter((d) => capped.includes(d.taskId))).toHaveLength(2);
      expect(new Set(taskIds(got.filter((d) => free.includes(d.taskId))))).toEqual(new Set(free));
    });

    it('slots come back on ack, release and remove: each frees exactly one more claim', async () => {
      const b = h.backend();
      const held = await holdBoth(b, 8);
      const refill = async (): Promise<Delivery> => {
        const more = await drainAll(b, ['q'], { limit: 10 });
        expect(more).toHaveLength(1);
        return more[0]!;
      };
      expect(await b.queue.ack([held[0]!])).toEqual([true]);
      const afterAck = await refill();
      expect(await b.queue.release([held[1]!])).toEqual([true]);
      const afterRelease = await refill();
      expect(await b.queue.remove([afterAck.taskId])).toBe(1);
      const afterRemove = await refill();
      expect((await b.queue.queues()).find((q) => q.name === 'q')?.depth).toMatchObject({ leased: 2 });
      expect(await b.queue.ack([afterRelease, afterRemove])).toEqual([true, true]);
    });

    it('a lease repeated in one ack or release batch is applied once and frees one slot', async () => {
      const b = h.backend();
      const held = await holdBoth(b, 5);
      expect(await b.queue.ack([held[0]!, held[0]!])).toEqual([true, false]);
      // One slot came back, not two: the queue's count stays right for every later claim.
      const next = await drainAll(b, ['q'], { limit: 10 });
      expect(next).toHaveLength(1);
      expect((await b.queue.queues()).find((q) => q.name === 'q')?.depth).toMatchObject({ leased: 2, ready: 2 });
      expect(await b.queue.release([held[1]!, held[1]!])).toEqual([true, false]);
      expect(await drainAll(b, ['q'], { limit: 10 })).toHaveLength(1);
      expect((await b.queue.queues()).find((q) => q.name === 'q')?.depth).toMatchObject({ leased: 2, ready: 2 });
    });

    it('an expired lease keeps its slot until reclaimExpired frees it', async () => {
      const b = h.backend();
      await b.queue.configure('q', { concurrency: 1 });
      const [first, second] = freshIds(2);
      await enqueueSpaced(b, [item(first!, { queue: 'q' }), item(second!, { queue: 'q' })]);
      const [d] = await drain(b, ['q'], { want: 1, leaseMs: SHORT_LEASE });
      expect(d?.taskId).toBe(first);
      await sleep(EXPIRE_WAIT);
      expect(await b.queue.claim({ queues: ['q'], limit: 10, leaseMs: LEASE, waitMs: 300 })).toEqual([]);
      expect(await b.queue.reclaimExpired(100)).toEqual([d]);
      const again = await drainAll(b, ['q'], { limit: 10 });
      expect(again).toHaveLength(1);
    });

    it('5 concurrent claimers never hold more than `concurrency` leases of the queue at once, and all work completes', async () => {
      const b = h.backend();
      await b.queue.configure('capped', { concurrency: 3 });
      const keyOf = new Map<string, string>();
      for (const id of freshIds(60)) keyOf.set(id, 'capped');
      for (const id of freshIds(30)) keyOf.set(id, 'free');
      await b.queue.enqueue([...keyOf].map(([id, queue]) => item(id, { queue })));
      const { counter, acked } = await churn(b, { keyOf, queues: ['capped', 'free'], claimers: 5, releaseShare: 0.2 });
      expect(counter.peak('capped'), JSON.stringify(counter.allPeaks())).toBeLessThanOrEqual(3);
      expect(acked).toHaveLength(keyOf.size);
      expect(new Set(acked)).toEqual(new Set(keyOf.keys()));
    });
  });

  describe('Queue: group caps', () => {
    it('groupConcurrency 1 leases one delivery per group while other groups and ungrouped deliveries still flow', async () => {
      const b = h.backend();
      await b.queue.configure('g', { groupConcurrency: 1 });
      const [a1, a2, a3, u1, b1, b2, u2] = freshIds(7);
      const tenant = 'tenant ü 🚀:1';
      await enqueueSpaced(b, [
        item(a1!, { queue: 'g', group: 'acme' }),
        item(a2!, { queue: 'g', group: 'acme' }),
        item(a3!, { queue: 'g', group: 'acme' }),
        item(u1!, { queue: 'g' }),
        item(b1!, { queue: 'g', group: tenant }),
        item(b2!, { queue: 'g', group: tenant }),
        item(u2!, { queue: 'g' }),
      ]);
      const first = await drainAll(b, ['g'], { limit: 20 });
      expect(new Set(taskIds(first))).toEqual(new Set([a1, u1, b1, u2]));
      expect(first).toHaveLength(4);
      const byTask = new Map(first.map((d) => [d.taskId, d]));
      expect(await b.queue.ack([byTask.get(a1!)!])).toEqual([true]);
      expect(taskIds(await drainAll(b, ['g'], { limit: 20 }))).toEqual([a2]);
      expect(await b.queue.release([byTask.get(b1!)!])).toEqual([true]);
      const next = await drainAll(b, ['g'], { limit: 20 });
      expect(next).toHaveLength(1);
      expect([b1, b2]).toContain(next[0]!.taskId);
    });

    it('an expired lease keeps its group’s slot until reclaimExpired frees it', async () => {
      const b = h.backend();
      await b.queue.configure('g', { groupConcurrency: 1 });
      const [x, y] = freshIds(2);
      await enqueueSpaced(b, [item(x!, { queue: 'g', group: 'acme' }), item(y!, { queue: 'g', group: 'acme' })]);
      const [d] = await drain(b, ['g'], { want: 1, leaseMs: SHORT_LEASE });
      await sleep(EXPIRE_WAIT);
      expect(await b.queue.claim({ queues: ['g'], limit: 10, leaseMs: LEASE, waitMs: 300 })).toEqual([]);
      expect(await b.queue.reclaimExpired(100)).toEqual([d]);
      expect(await drainAll(b, ['g'], { limit: 10 })).toHaveLength(1);
    });

    it('5 concurrent claimers never hold two leases of one group at once, and every group’s work completes', async () => {
      const b = h.backend();
      await b.queue.configure('g', { groupConcurrency: 1 });
      const keyOf = new Map<string, string>();
      const items = [];
      for (const group of ['acme', 'globex', 'initech']) {
        for (const id of freshIds(12)) {
          keyOf.set(id, group);
          items.push(item(id, { queue: 'g', group }));
        }
      }
      for (const id of freshIds(20)) {
        keyOf.set(id, 'ungrouped');
        items.push(item(id, { queue: 'g' }));
      }
      await b.queue.enqueue(items);
      const { counter, acked } = await churn(b, { keyOf, queues: ['g'], claimers: 5, releaseShare: 0.2 });
      const peaks = JSON.stringify(counter.allPeaks());
      for (const group of ['acme', 'globex', 'initech']) expect(counter.peak(group), peaks).toBeLessThanOrEqual(1);
      expect(acked).toHaveLength(keyOf.size);
      expect(new Set(acked)).toEqual(new Set(keyOf.keys()));
    });
  });
}
