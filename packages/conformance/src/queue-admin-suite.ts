// Queue administration: pause and resume, settings that configure() merges and keeps durably for
// every worker, and the depth the admin views read (queues() per queue, depth() in total, with
// `expired` showing leases whose holder stopped heartbeating).
import { describe, expect, it } from 'vitest';
import { DEFAULT_QUEUE_SETTINGS, type QueueDepth } from '@baton/core/adapter';
import { eventually, sleep, type Harness } from './harness.js';
import { EXPIRE_WAIT, LEASE, SHORT_LEASE, drain, drainAll, freshIds, item, queueInfo, queuesByName, taskIds } from './queue-helpers.js';

const ZERO: QueueDepth = { ready: 0, leased: 0, expired: 0, delayed: 0 };

export function queueAdminSuite(h: Harness): void {
  describe('Queue: pause and resume', () => {
    it('a paused queue hands out nothing while the same claims return other queues’ work; resuming hands it out again', async () => {
      const b = h.backend();
      expect(await b.queue.configure('held', { paused: true })).toEqual({ ...DEFAULT_QUEUE_SETTINGS, paused: true });
      const held = freshIds(3);
      const open = freshIds(2);
      await b.queue.enqueue([...held.map((id) => item(id, { queue: 'held' })), ...open.map((id) => item(id, { queue: 'open' }))]);
      expect(new Set(taskIds(await drainAll(b, ['held', 'open'], { limit: 10 })))).toEqual(new Set(open));
      expect(await b.queue.claim({ queues: ['held'], limit: 10, leaseMs: LEASE, waitMs: 300 })).toEqual([]);
      // Paused work is still ready work: it counts in depth.
      expect(await queueInfo(b, 'held')).toEqual({ name: 'held', ...DEFAULT_QUEUE_SETTINGS, paused: true, depth: { ...ZERO, ready: 3 } });
      expect((await b.queue.depth()).ready).toBe(3);

      expect(await b.queue.configure('held', { paused: false })).toEqual(DEFAULT_QUEUE_SETTINGS);
      const resumed = await drain(b, ['held'], { want: 3, limit: 10 });
      expect(new Set(taskIds(resumed))).toEqual(new Set(held));
    });

    it('pausing leaves running leases alone: extend, ack and release of deliveries claimed before still apply', async () => {
      const b = h.backend();
      const ids = freshIds(2);
      await b.queue.enqueue(ids.map((id) => item(id, { queue: 'q' })));
      const [x, y] = await drain(b, ['q'], { want: 2, limit: 2 });
      await b.queue.configure('q', { paused: true });
      expect(await b.queue.extend([x!, y!], LEASE)).toEqual([true, true]);
      expect(await b.queue.ack([x!])).toEqual([true]);
      expect(await b.queue.release([y!])).toEqual([true]);
      expect(await b.queue.claim({ queues: ['q'], limit: 10, leaseMs: LEASE, waitMs: 300 })).toEqual([]);
      expect((await queueInfo(b, 'q'))?.depth).toEqual({ ...ZERO, ready: 1 });
      await b.queue.configure('q', { paused: false });
      expect(taskIds(await drain(b, ['q'], { want: 1 }))).toEqual([y!.taskId]);
    });

    it('a paused queue with a delayed delivery hands it out only after it is resumed', async () => {
      const b = h.backend();
      const [id] = freshIds(1);
      await b.queue.configure('q', { paused: true });
      await b.queue.enqueue([item(id!, { queue: 'q', delayMs: 100 })]);
      expect(await eventually(async () => (await b.queue.depth()).ready === 1)).toBe(true);
      expect(await b.queue.claim({ queues: ['q'], limit: 10, leaseMs: LEASE, waitMs: 300 })).toEqual([]);
      await b.queue.configure('q', { paused: false });
      expect(taskIds(await drain(b, ['q'], { want: 1 }))).toEqual([id]);
    });
  });

  describe('Queue: configure, queues() and depth()', () => {
    it('configure of a queue never seen starts from the defaults and returns every setting', async () => {
      const b = h.backend();
      expect(await b.queue.configure('fresh', { concurrency: 3 })).toEqual({ ...DEFAULT_QUEUE_SETTINGS, concurrency: 3 });
      expect(await b.queue.configure('other', {})).toEqual(DEFAULT_QUEUE_SETTINGS);
    });

    it('configure merges a partial patch into the stored settings, null clears one, and queues() reads them back', async () => {
      const b = h.backend();
      await b.queue.configure('q', { concurrency: 2, groupConcurrency: 1 });
      const all = { paused: true, concurrency: 2, rateLimit: null, groupConcurrency: 1 };
      expect(await b.queue.configure('q', { paused: true })).toEqual(all);
      expect(await b.queue.configure('q', { rateLimit: { max: 5, perMs: 1_000 } })).toEqual({ ...all, rateLimit: { max: 5, perMs: 1_000 } });
      expect(await b.queue.configure('q', { concurrency: null })).toEqual({ ...all, concurrency: null, rateLimit: { max: 5, perMs: 1_000 } });
      expect(await b.queue.configure('q', {})).toEqual({ ...all, concurrency: null, rateLimit: { max: 5, perMs: 1_000 } });
      expect(await queueInfo(b, 'q')).toEqual({ name: 'q', ...all, concurrency: null, rateLimit: { max: 5, perMs: 1_000 }, depth: ZERO });
      // Settings of one queue are its own.
      expect(await b.queue.configure('neighbour', {})).toEqual(DEFAULT_QUEUE_SETTINGS);
    });

    it('queues() is empty on a fresh backend, then lists each queue with deliveries or settings, with its depth', async () => {
      const b = h.backend();
      expect(await b.queue.queues()).toEqual([]);
      const [r1, r2, late, leased] = freshIds(4);
      await b.queue.enqueue([item(leased!, { queue: 'a' })]);
      await drain(b, ['a'], { want: 1 });
      await b.queue.enqueue([item(r1!, { queue: 'a' }), item(r2!, { queue: 'a' }), item(late!, { queue: 'a', delayMs: 60_000 })]);
      await b.queue.configure('b', { paused: true });
      expect(await queuesByName(b)).toEqual([
        { name: 'a', ...DEFAULT_QUEUE_SETTINGS, depth: { ready: 2, leased: 1, expired: 0, delayed: 1 } },
        { name: 'b', ...DEFAULT_QUEUE_SETTINGS, paused: true, depth: ZERO },
      ]);
    });

    it('depth() totals the depth of every queue', async () => {
      const b = h.backend();
      const ids = freshIds(9);
      await b.queue.enqueue([item(ids[0]!, { queue: 'x' }), item(ids[1]!, { queue: 'y' })]);
      await drain(b, ['x', 'y'], { want: 2 });
      await b.queue.enqueue([
        item(ids[2]!, { queue: 'x' }),
        item(ids[3]!, { queue: 'y' }),
        item(ids[4]!, { queue: 'z' }),
        item(ids[5]!, { queue: 'z' }),
        item(ids[6]!, { queue: 'x', delayMs: 60_000 }),
        item(ids[7]!, { queue: 'z', delayMs: 60_000 }),
        item(ids[8]!),
      ]);
      const total = await b.queue.depth();
      expect(total).toEqual({ ready: 5, leased: 2, expired: 0, delayed: 2 });
      const sum = { ...ZERO };
      for (const q of await b.queue.queues()) for (const k of Object.keys(sum) as (keyof QueueDepth)[]) sum[k] += q.depth[k];
      expect(sum).toEqual(total);
    });

    it('expired counts leased deliveries past their lease until reclaimExpired returns them to ready', async () => {
      const b = h.backend();
      const [s1, s2, live] = freshIds(3);
      await b.queue.enqueue([item(s1!, { queue: 'short' }), item(s2!, { queue: 'short' }), item(live!, { queue: 'long' })]);
      await drain(b, ['short'], { want: 2, leaseMs: SHORT_LEASE });
      await drain(b, ['long'], { want: 1 });
      await sleep(EXPIRE_WAIT);
      expect(await b.queue.depth()).toEqual({ ready: 0, leased: 3, expired: 2, delayed: 0 });
      expect((await queueInfo(b, 'short'))?.depth).toEqual({ ...ZERO, leased: 2, expired: 2 });
      expect((await queueInfo(b, 'long'))?.depth).toEqual({ ...ZERO, leased: 1 });
      const reclaimed = await b.queue.reclaimExpired(100);
      expect(new Set(taskIds(reclaimed))).toEqual(new Set([s1, s2]));
      expect(await b.queue.depth()).toEqual({ ready: 2, leased: 1, expired: 0, delayed: 0 });
    });
  });
}
