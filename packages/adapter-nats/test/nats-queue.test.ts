// Queue behaviour specific to the JetStream mapping: JetStream's own redelivery timer versus the
// lease, expired leases that wait for reclaimExpired, acks from another process, removal that keeps
// the consumer consistent, and ids that are not subject-safe.
import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '@baton/core';
import { natsBackend, type NatsBackend } from '../src/index.js';
import { freshBackend, NATS_URL, natsUp, skipReason, sleep } from './helpers.js';

describe.skipIf(!natsUp)(`@baton/nats queue on JetStream ${skipReason}`, () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });
  const fresh = (opts: Parameters<typeof freshBackend>[0] = {}) => {
    const f = freshBackend(opts);
    cleanups.push(f.cleanup);
    return f;
  };
  const second = (prefix: string, opts: Partial<Parameters<typeof natsBackend>[1]> = {}): NatsBackend => {
    const b = natsBackend(NATS_URL, { ...opts, prefix });
    cleanups.push(() => b.close());
    return b;
  };

  it('a lease longer than ack_wait is not redelivered early: the NAK delay holds the message until reclaimExpired', async () => {
    const { backend, prefix } = fresh({ ackWaitMs: 200 });
    const other = second(prefix);
    const id = newId();
    await backend.queue.enqueue([{ taskId: id }]);
    const [d] = await backend.queue.claim({ limit: 1, leaseMs: 1_000, waitMs: 500 });
    expect(d?.taskId).toBe(id);
    await sleep(500); // well past ack_wait, inside the lease
    expect(await other.queue.claim({ limit: 1, leaseMs: 1_000, waitMs: 0 })).toEqual([]);
    expect(await other.queue.reclaimExpired(10)).toEqual([]);
    await sleep(700);
    expect(await other.queue.reclaimExpired(10)).toEqual([{ taskId: id, leaseId: d!.leaseId }]);
    const [again] = await other.queue.claim({ limit: 1, leaseMs: 1_000, waitMs: 500 });
    expect(again?.taskId).toBe(id);
    expect(again?.leaseId).not.toBe(d!.leaseId);
  });

  it('a delivery JetStream redelivers after its lease expired waits for reclaimExpired (a recovery, not a fresh claim)', async () => {
    const { backend } = fresh({ ackWaitMs: 150 });
    const id = newId();
    await backend.queue.enqueue([{ taskId: id }]);
    const [d] = await backend.queue.claim({ limit: 1, leaseMs: 150, waitMs: 500 });
    await sleep(400); // the server redelivers at ack_wait; the lease has expired, nobody reclaimed it
    expect(await backend.queue.claim({ limit: 1, leaseMs: 150, waitMs: 0 })).toEqual([]);
    expect(await backend.queue.depth()).toEqual({ ready: 0, leased: 1, delayed: 0 });
    expect(await backend.queue.reclaimExpired(10)).toEqual([{ taskId: id, leaseId: d!.leaseId }]);
    // Handed back at once, not after the parking delay.
    const [again] = await backend.queue.claim({ limit: 1, leaseMs: 5_000, waitMs: 1_000 });
    expect(again?.taskId).toBe(id);
    expect(await backend.queue.ack([d!])).toEqual([false]);
    expect(await backend.queue.ack([again!])).toEqual([true]);
  });

  it('extend past ack_wait keeps the delivery from being redelivered to another claimer', async () => {
    const { backend, prefix } = fresh({ ackWaitMs: 200 });
    const other = second(prefix);
    const id = newId();
    await backend.queue.enqueue([{ taskId: id }]);
    const [d] = await backend.queue.claim({ limit: 1, leaseMs: 200, waitMs: 500 });
    for (let i = 0; i < 6; i++) {
      await sleep(100);
      expect(await backend.queue.extend([d!], 200)).toEqual([true]);
      expect(await other.queue.claim({ limit: 1, leaseMs: 200, waitMs: 0 })).toEqual([]);
    }
    expect(await other.queue.reclaimExpired(10)).toEqual([]);
    expect(await other.queue.ack([d!])).toEqual([true]);
  });

  it('another process can ack, extend and release a lease it did not claim (the ack subject lives in the lease entry)', async () => {
    const { backend, prefix } = fresh();
    const other = second(prefix);
    const [a, b] = [newId(), newId()];
    await backend.queue.enqueue([{ taskId: a }, { taskId: b }]);
    const got = await backend.queue.claim({ limit: 2, leaseMs: 60_000, waitMs: 500 });
    expect(got.map((d) => d.taskId)).toEqual([a, b]);
    expect(await other.queue.extend(got, 60_000)).toEqual([true, true]);
    expect(await other.queue.ack([got[0]!])).toEqual([true]);
    expect(await other.queue.release([got[1]!])).toEqual([true]);
    expect(await backend.queue.depth()).toEqual({ ready: 1, leased: 0, delayed: 0 });
    const [again] = await backend.queue.claim({ limit: 1, leaseMs: 60_000, waitMs: 500 });
    expect(again?.taskId).toBe(b);
  });

  it('remove of a leased delivery keeps the other leases intact (no consumer reset), and the holder is refused', async () => {
    const { backend } = fresh();
    const ids = [newId(), newId(), newId()];
    await backend.queue.enqueue(ids.map((taskId) => ({ taskId })));
    const got = await backend.queue.claim({ limit: 3, leaseMs: 300, waitMs: 500 });
    expect(got).toHaveLength(3);
    expect(await backend.queue.remove([ids[1]!])).toBe(1);
    expect(await backend.queue.ack([got[1]!])).toEqual([false]);
    await sleep(400);
    const reclaimed = await backend.queue.reclaimExpired(10);
    expect(reclaimed.map((r) => r.taskId).sort()).toEqual([ids[0]!, ids[2]!].sort());
    const again = await backend.queue.claim({ limit: 3, leaseMs: 60_000, waitMs: 500 });
    expect(again.map((d) => d.taskId).sort()).toEqual([ids[0]!, ids[2]!].sort());
    // The removed task can be enqueued again: its subject is free.
    await backend.queue.enqueue([{ taskId: ids[1]! }]);
    expect((await backend.queue.depth()).ready).toBe(1);
  });

  it('task ids that are not subject-safe (dots, wildcards, spaces, unicode) round-trip through the queue', async () => {
    const { backend } = fresh();
    const ids = ['a.b', '*', '>', 'with space', 'ünï', '=x', '', 'plain-id_1'];
    await backend.queue.enqueue(ids.map((taskId) => ({ taskId })));
    await backend.queue.enqueue([{ taskId: 'a.b' }, { taskId: '*' }]); // still one live delivery each
    const got = await backend.queue.claim({ limit: 20, leaseMs: 60_000, waitMs: 500 });
    expect(got.map((d) => d.taskId)).toEqual(ids);
    expect(await backend.queue.ack(got)).toEqual(ids.map(() => true));
    expect(await backend.queue.depth()).toEqual({ ready: 0, leased: 0, delayed: 0 });
  });

  it('a delayed enqueue lands on the server clock: not before its due time, counted as delayed until then', async () => {
    const { backend } = fresh();
    const id = newId();
    await backend.queue.enqueue([{ taskId: id, delayMs: 400 }]);
    expect(await backend.queue.depth()).toEqual({ ready: 0, leased: 0, delayed: 1 });
    expect(await backend.queue.claim({ limit: 1, leaseMs: 1_000, waitMs: 100 })).toEqual([]);
    const [d] = await backend.queue.claim({ limit: 1, leaseMs: 1_000, waitMs: 2_000 });
    expect(d?.taskId).toBe(id);
    expect(await backend.queue.depth()).toEqual({ ready: 0, leased: 1, delayed: 0 });
  });
});
