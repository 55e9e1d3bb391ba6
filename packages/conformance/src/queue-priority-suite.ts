// Claim order: highest priority first, then oldest readiness, then enqueue order, across every
// queue one claim lists. Asserted strictly for a single claimer; under concurrent claimers only
// that each delivery goes to exactly one of them (per-backend ordering there is documented in
// the README, not promised by the port).
import { describe, expect, it } from 'vitest';
import { MAX_PRIORITY, MIN_PRIORITY, type Delivery } from '@baton/core/adapter';
import { sleep, type Harness } from './harness.js';
import { LEASE, drain, enqueueSpaced, freshIds, item, jitter, taskIds } from './queue-helpers.js';

/** Named ids, so a failing order reads as letters rather than uuids. */
function named(...names: string[]): { id: (n: string) => string; name: (id: string) => string } {
  const fresh = freshIds(names.length);
  const ids = new Map(names.map((n, i) => [n, fresh[i]!]));
  const back = new Map([...ids].map(([n, id]) => [id, n]));
  return { id: (n) => ids.get(n)!, name: (id) => back.get(id) ?? `?${id}` };
}

export function queuePrioritySuite(h: Harness): void {
  describe('Queue: priority and order', () => {
    it('hands out higher priority first and, within one priority, oldest readiness first', async () => {
      const b = h.backend();
      const t = named('a', 'b', 'c', 'd', 'e', 'f');
      const prio: Record<string, number> = { a: 0, b: 5, c: 0, d: 10, e: 5, f: -3 };
      await enqueueSpaced(b, Object.entries(prio).map(([n, priority]) => item(t.id(n), { priority })));
      const got = await drain(b, ['default'], { want: 6, limit: 2 });
      expect(taskIds(got).map(t.name)).toEqual(['d', 'b', 'e', 'a', 'c', 'f']);
    });

    it('within one enqueue call, deliveries of one priority go in the order they were given', async () => {
      const b = h.backend();
      const t = named('x', 'y', 'z', 'w', 'v');
      await b.queue.enqueue([item(t.id('x')), item(t.id('y'), { priority: 1 }), item(t.id('z')), item(t.id('w'), { priority: 1 }), item(t.id('v'))]);
      const got = await drain(b, ['default'], { want: 5, limit: 2 });
      expect(taskIds(got).map(t.name)).toEqual(['y', 'w', 'x', 'z', 'v']);
    });

    it('orders the extreme priorities MAX_PRIORITY and MIN_PRIORITY correctly, FIFO among equals', async () => {
      const b = h.backend();
      const t = named('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
      const prio: Record<string, number> = { a: 0, b: MIN_PRIORITY, c: MAX_PRIORITY, d: MAX_PRIORITY - 1, e: MIN_PRIORITY + 1, f: MAX_PRIORITY, g: MIN_PRIORITY, h: 0 };
      await enqueueSpaced(b, Object.entries(prio).map(([n, priority]) => item(t.id(n), { priority })));
      const got = await drain(b, ['default'], { want: 8, limit: 3 });
      expect(taskIds(got).map(t.name)).toEqual(['c', 'f', 'd', 'a', 'h', 'e', 'b', 'g']);
    });

    it('a released delivery is ready from its release: it goes behind its priority’s older ready deliveries', async () => {
      const b = h.backend();
      const t = named('a', 'b', 'c');
      await enqueueSpaced(b, [item(t.id('a')), item(t.id('b'))]);
      const [first] = await drain(b, ['default'], { want: 1, limit: 1 });
      expect(t.name(first!.taskId)).toBe('a');
      await enqueueSpaced(b, [item(t.id('c'))]);
      expect(await b.queue.release([first!])).toEqual([true]);
      const got = await drain(b, ['default'], { want: 3, limit: 1 });
      expect(taskIds(got).map(t.name)).toEqual(['b', 'c', 'a']);
    });

    it('a delayed delivery is ready from its due time: after earlier ready ones, before later ones', async () => {
      const b = h.backend();
      const t = named('delayed', 'early', 'late');
      await b.queue.enqueue([item(t.id('delayed'), { delayMs: 300 })]);
      await enqueueSpaced(b, [item(t.id('early'))]);
      await sleep(1_000);
      await enqueueSpaced(b, [item(t.id('late'))]);
      const got = await drain(b, ['default'], { want: 3, limit: 1 });
      expect(taskIds(got).map(t.name)).toEqual(['early', 'delayed', 'late']);
    });

    it('one claim over several queues takes by priority, then readiness, whatever the queue', async () => {
      const b = h.backend();
      const t = named('x', 'y', 'z', 'w');
      await enqueueSpaced(b, [item(t.id('x'), { queue: 'a', priority: 1 }), item(t.id('y'), { queue: 'b', priority: 5 }), item(t.id('z'), { queue: 'b' }), item(t.id('w'), { queue: 'a' })]);
      const got = await drain(b, ['a', 'b'], { want: 4, limit: 2 });
      expect(taskIds(got).map(t.name)).toEqual(['y', 'x', 'z', 'w']);
    });

    it('a delayed high-priority delivery does not go ahead before it is due, and goes first once due', async () => {
      const b = h.backend();
      const t = named('high', 'l1', 'l2', 'l3');
      await b.queue.enqueue([item(t.id('high'), { priority: 100, delayMs: 800 })]);
      await enqueueSpaced(b, [item(t.id('l1')), item(t.id('l2')), item(t.id('l3'))]);
      const before = await drain(b, ['default'], { want: 1, limit: 1 });
      expect(taskIds(before).map(t.name)).toEqual(['l1']);
      expect((await b.queue.depth()).delayed).toBe(1);
      await sleep(1_600);
      const after = await drain(b, ['default'], { want: 3, limit: 1 });
      expect(taskIds(after).map(t.name)).toEqual(['high', 'l2', 'l3']);
    });

    it('5 concurrent claimers over mixed priorities and queues: each delivery goes to exactly one claimer', async () => {
      const b = h.backend();
      const ids = freshIds(150);
      await b.queue.enqueue(ids.map((id, i) => item(id, { queue: i % 2 === 0 ? 'even' : 'odd', priority: (i * 7919) % 21 - 10 })));
      const claimer = async (): Promise<Delivery[]> => {
        const mine: Delivery[] = [];
        let empty = 0;
        for (let i = 0; i < 300 && empty < 3; i++) {
          const got = await b.queue.claim({ queues: ['even', 'odd'], limit: 5, leaseMs: LEASE, waitMs: 50 });
          empty = got.length === 0 ? empty + 1 : 0;
          mine.push(...got);
          await jitter(3);
        }
        return mine;
      };
      const all = (await Promise.all([claimer(), claimer(), claimer(), claimer(), claimer()])).flat();
      expect(all).toHaveLength(ids.length);
      expect(new Set(taskIds(all))).toEqual(new Set(ids));
      expect(new Set(all.map((d) => d.leaseId)).size).toBe(ids.length);
      expect(await b.queue.ack(all)).toEqual(all.map(() => true));
    });
  });
}
