// Named queues (issue 11): a claim takes only from the queues it lists, however many claimers
// run at once, and work in a queue nobody serves waits there, visible in depth() and queues().
// Queue names that share a prefix or carry `. : -` must stay apart (key prefixes, NATS subjects).
import { describe, expect, it } from 'vitest';
import type { Delivery } from '@baton/core/adapter';
import { sleep, type Harness } from './harness.js';
import { EXPIRE_WAIT, LEASE, SHORT_LEASE, drain, drainAll, freshIds, item, jitter, queueInfo, taskIds } from './queue-helpers.js';

export function queueRoutingSuite(h: Harness): void {
  describe('Queue: routing by named queue', () => {
    it('a claim of one queue never receives another queue’s deliveries, even ones with a name sharing its prefix', async () => {
      const b = h.backend();
      const names = ['mail', 'mail.high', 'mail:1', 'mail-x', 'Mail'];
      const byQueue = new Map(names.map((q) => [q, freshIds(3)]));
      for (const [queue, ids] of byQueue) await b.queue.enqueue(ids.map((id) => item(id, { queue })));
      for (const [queue, ids] of byQueue) {
        const got = await drainAll(b, [queue], { limit: 10 });
        expect(new Set(taskIds(got)), `claim of '${queue}'`).toEqual(new Set(ids));
        expect(got).toHaveLength(ids.length);
      }
    });

    it('a claim over several queues takes from each of them, and from no other', async () => {
      const b = h.backend();
      const [a1, a2, b1, b2, c1] = freshIds(5);
      await b.queue.enqueue([item(a1!, { queue: 'alpha' }), item(b1!, { queue: 'beta' }), item(a2!, { queue: 'alpha' }), item(b2!, { queue: 'beta' }), item(c1!, { queue: 'gamma' })]);
      const got = await drain(b, ['alpha', 'beta'], { want: 4, limit: 10 });
      expect(new Set(taskIds(got))).toEqual(new Set([a1, a2, b1, b2]));
      expect(await b.queue.claim({ queues: ['alpha', 'beta'], limit: 10, leaseMs: LEASE, waitMs: 300 })).toEqual([]);
      expect(taskIds(await drain(b, ['gamma'], { want: 1 }))).toEqual([c1]);
    });

    it('5 concurrent claimers over overlapping queue sets each receive only deliveries of queues they listed, each delivery once', async () => {
      const b = h.backend();
      const queues = ['q0', 'q1', 'q2', 'q3'];
      const queueOf = new Map<string, string>();
      for (const queue of queues) {
        const ids = freshIds(40);
        for (const id of ids) queueOf.set(id, queue);
        await b.queue.enqueue(ids.map((id) => item(id, { queue })));
      }
      // q1 and q3 are each served by two claimers with different sets; every queue by at least one.
      const sets: string[][] = [['q0'], ['q1'], ['q0', 'q1'], ['q2', 'q3'], ['q3']];
      const claimer = async (mine: string[]): Promise<Delivery[]> => {
        const got: Delivery[] = [];
        let empty = 0;
        for (let i = 0; i < 300 && empty < 3; i++) {
          const ds = await b.queue.claim({ queues: mine, limit: 4, leaseMs: LEASE, waitMs: 50 });
          empty = ds.length === 0 ? empty + 1 : 0;
          for (const d of ds) expect(mine, `delivery of ${queueOf.get(d.taskId)} to a claimer of ${mine.join(',')}`).toContain(queueOf.get(d.taskId));
          got.push(...ds);
          await jitter(5);
          if (ds.length > 0) expect(await b.queue.ack(ds)).toEqual(ds.map(() => true));
        }
        return got;
      };
      const all = (await Promise.all(sets.map(claimer))).flat();
      expect(all).toHaveLength(queueOf.size);
      expect(new Set(taskIds(all))).toEqual(new Set(queueOf.keys()));
      expect(await b.queue.depth()).toEqual({ ready: 0, leased: 0, expired: 0, delayed: 0 });
    });

    it('work in a queue nobody claims stays ready and shows in depth() and queues()', async () => {
      const b = h.backend();
      const [orphan, served] = freshIds(2);
      await b.queue.enqueue([item(orphan!, { queue: 'unserved' }), item(served!, { queue: 'served' })]);
      expect(taskIds(await drainAll(b, ['served', 'default']))).toEqual([served]);
      expect(await b.queue.depth()).toEqual({ ready: 1, leased: 1, expired: 0, delayed: 0 });
      expect((await queueInfo(b, 'unserved'))?.depth).toEqual({ ready: 1, leased: 0, expired: 0, delayed: 0 });
      expect((await queueInfo(b, 'served'))?.depth).toEqual({ ready: 0, leased: 1, expired: 0, delayed: 0 });
      expect(taskIds(await drain(b, ['unserved'], { want: 1 }))).toEqual([orphan]);
    });

    it('enqueueing a task that has a live delivery leaves it in its first queue', async () => {
      const b = h.backend();
      const [id] = freshIds(1);
      await b.queue.enqueue([item(id!, { queue: 'first' })]);
      await b.queue.enqueue([item(id!, { queue: 'second', priority: 100 })]);
      expect(await b.queue.claim({ queues: ['second'], limit: 10, leaseMs: LEASE, waitMs: 300 })).toEqual([]);
      const [d] = await drain(b, ['first'], { want: 1 });
      expect(d?.taskId).toBe(id);
      // Leased is live too: still not in 'second'.
      await b.queue.enqueue([item(id!, { queue: 'second' })]);
      expect(await b.queue.claim({ queues: ['first', 'second'], limit: 10, leaseMs: LEASE, waitMs: 300 })).toEqual([]);
      expect(await b.queue.ack([d!])).toEqual([true]);
      // Once acked, the task may be delivered anew, in the queue the new item names.
      await b.queue.enqueue([item(id!, { queue: 'second' })]);
      expect(taskIds(await drain(b, ['second'], { want: 1 }))).toEqual([id]);
    });

    it('release puts a delivery back in its own queue', async () => {
      const b = h.backend();
      const [id] = freshIds(1);
      await b.queue.enqueue([item(id!, { queue: 'home' })]);
      const [d] = await drain(b, ['home'], { want: 1 });
      expect(await b.queue.release([d!])).toEqual([true]);
      expect(await b.queue.claim({ queues: ['elsewhere', 'default'], limit: 10, leaseMs: LEASE, waitMs: 300 })).toEqual([]);
      expect(taskIds(await drain(b, ['home'], { want: 1 }))).toEqual([id]);
    });

    it('reclaimExpired puts a delivery back in its own queue', async () => {
      const b = h.backend();
      const [id] = freshIds(1);
      await b.queue.enqueue([item(id!, { queue: 'home' })]);
      const [d] = await drain(b, ['home'], { want: 1, leaseMs: SHORT_LEASE });
      await sleep(EXPIRE_WAIT);
      expect(await b.queue.reclaimExpired(100)).toEqual([d]);
      expect(await b.queue.claim({ queues: ['elsewhere', 'default'], limit: 10, leaseMs: LEASE, waitMs: 300 })).toEqual([]);
      expect(taskIds(await drain(b, ['home'], { want: 1 }))).toEqual([id]);
    });
  });
}
