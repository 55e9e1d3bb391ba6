// A queue's rate limit: a token bucket of `max` claims refilled evenly over `perMs` on the
// backend's clock, shared by every claimer. Only an upper bound is asserted (at most the full
// bucket plus what the elapsed time refilled), plus that claims are granted at all and come back
// after the bucket ran dry: real time on a loaded machine gives no tighter promise.
import { describe, expect, it } from 'vitest';
import type { Backend } from '@baton/core/adapter';
import { eventually, sleep, type Harness } from './harness.js';
import { LEASE, drain, drainAll, freshIds, item, taskIds } from './queue-helpers.js';

/** Claims from `queue` with `claimers` concurrent loops for about `windowMs`, acking each at once. */
async function claimFor(b: Backend, queue: string, claimers: number, windowMs: number): Promise<number> {
  let granted = 0;
  const started = Date.now();
  const loop = async (): Promise<void> => {
    while (Date.now() - started < windowMs) {
      const got = await b.queue.claim({ queues: [queue], limit: 5, leaseMs: LEASE, waitMs: 0 });
      granted += got.length;
      // Acks give no tokens back: the bucket counts claims, not leases held.
      if (got.length > 0) await b.queue.ack(got);
      await sleep(10);
    }
  };
  await Promise.all(Array.from({ length: claimers }, loop));
  return granted;
}

export function queueRateLimitSuite(h: Harness): void {
  describe('Queue: rate limit', () => {
    it('3 concurrent claimers are granted at most max + elapsed/perMs·max claims in total, and some', async () => {
      const b = h.backend();
      const max = 3;
      const perMs = 1_000;
      await b.queue.enqueue(freshIds(80).map((id) => item(id, { queue: 'limited' })));
      // The window opens before configure: the backend's elapsed time is no longer than ours.
      const opened = Date.now();
      await b.queue.configure('limited', { rateLimit: { max, perMs } });
      const granted = await claimFor(b, 'limited', 3, 1_500);
      const elapsed = Date.now() - opened;
      const bound = max + Math.ceil((elapsed / perMs) * max);
      expect(granted, `granted ${granted} claims in ${elapsed} ms; the bucket allows ${bound}`).toBeLessThanOrEqual(bound);
      expect(granted).toBeGreaterThan(0);
    });

    it('a limited queue does not hold back other queues, even in the same claim', async () => {
      const b = h.backend();
      await b.queue.configure('limited', { rateLimit: { max: 1, perMs: 60_000 } });
      const free = freshIds(6);
      await b.queue.enqueue([...freshIds(6).map((id) => item(id, { queue: 'limited' })), ...free.map((id) => item(id, { queue: 'free' }))]);
      const got = await drainAll(b, ['limited', 'free'], { limit: 10 });
      expect(new Set(taskIds(got.filter((d) => free.includes(d.taskId))))).toEqual(new Set(free));
      expect(got.length - free.length).toBeLessThanOrEqual(1);
      expect(await b.queue.claim({ queues: ['limited'], limit: 10, leaseMs: LEASE, waitMs: 300 })).toEqual([]);
    });

    it('a bucket that ran dry refills: claims are granted again after perMs', async () => {
      const b = h.backend();
      await b.queue.configure('limited', { rateLimit: { max: 2, perMs: 500 } });
      await b.queue.enqueue(freshIds(20).map((id) => item(id, { queue: 'limited' })));
      let dry = false;
      let first = 0;
      for (let i = 0; i < 20 && !dry; i++) {
        const got = await b.queue.claim({ queues: ['limited'], limit: 10, leaseMs: LEASE, waitMs: 0 });
        first += got.length;
        dry = got.length === 0;
      }
      expect(dry).toBe(true);
      expect(first).toBeGreaterThan(0);
      let later: string[] = [];
      const refilled = await eventually(async () => (later = taskIds(await b.queue.claim({ queues: ['limited'], limit: 10, leaseMs: LEASE, waitMs: 0 }))).length > 0, 10_000, 100);
      expect(refilled).toBe(true);
      expect(later.length).toBeLessThanOrEqual(2);
    });

    it('clearing the rate limit with null lets claims through at once', async () => {
      const b = h.backend();
      await b.queue.configure('limited', { rateLimit: { max: 1, perMs: 60_000 } });
      await b.queue.enqueue(freshIds(5).map((id) => item(id, { queue: 'limited' })));
      const before = await drainAll(b, ['limited'], { limit: 5 });
      expect(before.length).toBeLessThanOrEqual(1);
      expect(await b.queue.configure('limited', { rateLimit: null })).toMatchObject({ rateLimit: null });
      expect(await drain(b, ['limited'], { want: 5 - before.length, limit: 5, maxCalls: 20 })).toHaveLength(5 - before.length);
    });
  });
}
