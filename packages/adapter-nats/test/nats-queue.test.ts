// Queue behaviour specific to the JetStream mapping: leases timed by the backend clock, not by the
// consumers' ack wait; a delivery pulled by a claimer that died before leasing it comes back; any
// process can settle a lease; a handback interrupted midway is finished by the next reclaim pass;
// removal that keeps the consumers consistent; names that are not subject-safe; consumers per
// priority level created on first use; slots of leases that were never written are freed.
import { afterEach, describe, expect, it } from 'vitest';
import { newId, type QueueItem } from '@baton/core/adapter';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { natsBackend, type NatsBackend } from '../src/index.js';
import { encodeJson } from '../src/nats-codec.js';
import { encodeToken, QueueSubjects, resourceNames } from '../src/nats-names.js';
import { pull } from '../src/nats-pull.js';
import { connectTest, freshBackend, NATS_URL, natsUp, skipReason, sleep } from './helpers.js';

const Q = ['default'];
const item = (taskId: string, over: Partial<QueueItem> = {}): QueueItem => ({ taskId, queue: 'default', priority: 0, group: null, ...over });

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

  it('a lease is timed by the backend clock, not by the consumer ack wait: no early redelivery, reclaimed once it expired', async () => {
    const { backend, prefix } = fresh({ ackWaitMs: 200 });
    const other = second(prefix);
    const id = newId();
    await backend.queue.enqueue([item(id)]);
    const [d] = await backend.queue.claim({ queues: Q, limit: 1, leaseMs: 1_000, waitMs: 500 });
    expect(d?.taskId).toBe(id);
    await sleep(500); // well past ack_wait, inside the lease
    expect(await other.queue.claim({ queues: Q, limit: 1, leaseMs: 1_000, waitMs: 0 })).toEqual([]);
    expect(await other.queue.reclaimExpired(10)).toEqual([]);
    await sleep(700);
    expect(await other.queue.reclaimExpired(10)).toEqual([{ taskId: id, leaseId: d!.leaseId }]);
    const [again] = await other.queue.claim({ queues: Q, limit: 1, leaseMs: 1_000, waitMs: 500 });
    expect(again?.taskId).toBe(id);
    expect(again?.leaseId).not.toBe(d!.leaseId);
  });

  it('a delivery pulled by a claimer that died before leasing it comes back after the ack wait', async () => {
    const { backend, prefix } = fresh({ ackWaitMs: 300 });
    const id = newId();
    await backend.queue.enqueue([item(id)]);
    // A claimer that pulled the message and died: nothing acked, NAKed or leased.
    const nc = await connectTest();
    try {
      const q = new QueueSubjects(resourceNames(prefix), 'default');
      const stolen = await pull(nc, `${prefix}_queue`, q.levelConsumer(0), { batch: 1, noWait: true });
      expect(stolen).toHaveLength(1);
      expect(await backend.queue.claim({ queues: Q, limit: 1, leaseMs: 60_000, waitMs: 0 })).toEqual([]);
      const [d] = await backend.queue.claim({ queues: Q, limit: 1, leaseMs: 60_000, waitMs: 3_000 });
      expect(d?.taskId).toBe(id);
    } finally {
      await nc.close();
    }
  });

  it('another process can ack, extend and release a lease it did not claim (the lease entry is the delivery)', async () => {
    const { backend, prefix } = fresh();
    const other = second(prefix);
    const [a, b] = [newId(), newId()];
    await backend.queue.enqueue([item(a), item(b)]);
    const got = await backend.queue.claim({ queues: Q, limit: 2, leaseMs: 60_000, waitMs: 500 });
    expect(got.map((d) => d.taskId)).toEqual([a, b]);
    expect(await other.queue.extend(got, 60_000)).toEqual([true, true]);
    expect(await other.queue.ack([got[0]!])).toEqual([true]);
    expect(await other.queue.release([got[1]!])).toEqual([true]);
    expect(await backend.queue.depth()).toEqual({ ready: 1, leased: 0, expired: 0, delayed: 0 });
    const [again] = await backend.queue.claim({ queues: Q, limit: 1, leaseMs: 60_000, waitMs: 500 });
    expect(again?.taskId).toBe(b);
    expect(await backend.queue.ack([got[1]!])).toEqual([false]);
  });

  it('a handback interrupted after taking the lease (no message published) is finished by the next reclaim pass', async () => {
    const { backend, prefix } = fresh();
    const id = newId();
    await backend.queue.enqueue([item(id)]);
    const [d] = await backend.queue.claim({ queues: Q, limit: 1, leaseMs: 60_000, waitMs: 500 });
    // What a reclaim pass that died right after marking leaves behind: a marked entry, long ago, no message.
    const nc = await connectTest();
    try {
      const js = jetstream(nc);
      const mark = { l: d!.leaseId, e: Date.now() - 60_000, q: 'default', p: 0, g: null, m: 0, x: 'e', xp: 'dead-pass', xa: Date.now() - 60_000 };
      await js.publish(`$KV.${prefix}_leases.${encodeToken(id)}`, encodeJson(mark));
    } finally {
      await nc.close();
    }
    expect(await backend.queue.ack([d!])).toEqual([false]);
    expect(await backend.queue.claim({ queues: Q, limit: 1, leaseMs: 60_000, waitMs: 200 })).toEqual([]);
    // Reported again (the dead pass never returned it) and handed back.
    expect(await backend.queue.reclaimExpired(10)).toEqual([{ taskId: id, leaseId: d!.leaseId }]);
    const [again] = await backend.queue.claim({ queues: Q, limit: 1, leaseMs: 60_000, waitMs: 1_000 });
    expect(again?.taskId).toBe(id);
    expect(await backend.queue.reclaimExpired(10)).toEqual([]);
  });

  it('remove of a leased delivery keeps the other leases intact (no consumer reset), and the holder is refused', async () => {
    const { backend } = fresh();
    const ids = [newId(), newId(), newId()];
    await backend.queue.enqueue(ids.map((id) => item(id)));
    const got = await backend.queue.claim({ queues: Q, limit: 3, leaseMs: 300, waitMs: 500 });
    expect(got).toHaveLength(3);
    expect(await backend.queue.remove([ids[1]!])).toBe(1);
    expect(await backend.queue.ack([got[1]!])).toEqual([false]);
    await sleep(500);
    const reclaimed = await backend.queue.reclaimExpired(10);
    expect(reclaimed.map((r) => r.taskId).sort()).toEqual([ids[0]!, ids[2]!].sort());
    const again = await backend.queue.claim({ queues: Q, limit: 3, leaseMs: 60_000, waitMs: 500 });
    expect(again.map((d) => d.taskId).sort()).toEqual([ids[0]!, ids[2]!].sort());
    // The removed task can be enqueued again.
    await backend.queue.enqueue([item(ids[1]!)]);
    expect((await backend.queue.depth()).ready).toBe(1);
  });

  it('task ids and queue names that are not subject-safe (dots, wildcards, spaces, unicode) round-trip', async () => {
    const { backend } = fresh();
    const ids = ['a.b', '*', '>', 'with space', 'ünï', '=x', '', 'plain-id_1'];
    for (const queue of ['default', 'mail.high:2']) {
      await backend.queue.enqueue(ids.map((id) => item(`${queue}/${id}`, { queue })));
      await backend.queue.enqueue([item(`${queue}/a.b`, { queue }), item(`${queue}/*`, { queue })]); // still one live delivery each
      const got = await backend.queue.claim({ queues: [queue], limit: 20, leaseMs: 60_000, waitMs: 500 });
      expect(got.map((d) => d.taskId)).toEqual(ids.map((id) => `${queue}/${id}`));
      expect(await backend.queue.ack(got)).toEqual(ids.map(() => true));
    }
    expect(await backend.queue.depth()).toEqual({ ready: 0, leased: 0, expired: 0, delayed: 0 });
  });

  it('a delayed enqueue lands on the server clock: not before its due time, counted as delayed until then', async () => {
    const { backend } = fresh();
    const id = newId();
    await backend.queue.enqueue([item(id, { delayMs: 400 })]);
    expect(await backend.queue.depth()).toEqual({ ready: 0, leased: 0, expired: 0, delayed: 1 });
    expect(await backend.queue.claim({ queues: Q, limit: 1, leaseMs: 1_000, waitMs: 100 })).toEqual([]);
    const [d] = await backend.queue.claim({ queues: Q, limit: 1, leaseMs: 1_000, waitMs: 2_000 });
    expect(d?.taskId).toBe(id);
    expect(await backend.queue.depth()).toEqual({ ready: 0, leased: 1, expired: 0, delayed: 0 });
  });

  it('each priority level gets its own consumer on first use; a claim walks them highest first', async () => {
    const { backend, prefix } = fresh();
    const ids = [newId(), newId(), newId()];
    await backend.queue.enqueue([item(ids[0]!, { priority: -7 }), item(ids[1]!, { priority: 10_000 }), item(ids[2]!)]);
    const nc = await connectTest();
    try {
      const jsm = await jetstreamManager(nc);
      const names: string[] = [];
      for await (const ci of jsm.consumers.list(`${prefix}_queue`)) names.push(ci.name);
      const q = new QueueSubjects(resourceNames(prefix), 'default');
      expect(names.sort()).toEqual([q.levelConsumer(-7), q.levelConsumer(0), q.levelConsumer(10_000)].sort());
    } finally {
      await nc.close();
    }
    const got = await backend.queue.claim({ queues: Q, limit: 3, leaseMs: 60_000, waitMs: 500 });
    expect(got.map((d) => d.taskId)).toEqual([ids[1], ids[2], ids[0]]);
  });

  it('a slot reserved by a claimer that died before writing its lease is freed once that lease would have expired', async () => {
    const { backend, prefix } = fresh();
    await backend.queue.configure('capped', { concurrency: 1 });
    // A holder whose lease entry was never written, as a claimer that died in between leaves it.
    const nc = await connectTest();
    try {
      const kv = await jetstreamManager(nc).then((jsm) => jsm.direct.getMessage(`KV_${prefix}_queues`, { last_by_subj: `$KV.${prefix}_queues.capped` }));
      const doc = JSON.parse(new TextDecoder().decode(kv!.data)) as { h: Record<string, unknown> };
      doc.h['ghost-lease'] = [encodeToken('ghost'), null, Date.now() - 60_000];
      await jetstream(nc).publish(`$KV.${prefix}_queues.capped`, JSON.stringify(doc));
    } finally {
      await nc.close();
    }
    const id = newId();
    await backend.queue.enqueue([item(id, { queue: 'capped' })]);
    expect(await backend.queue.claim({ queues: ['capped'], limit: 1, leaseMs: 60_000, waitMs: 200 })).toEqual([]);
    expect(await backend.queue.reclaimExpired(10)).toEqual([]);
    const [d] = await backend.queue.claim({ queues: ['capped'], limit: 1, leaseMs: 60_000, waitMs: 500 });
    expect(d?.taskId).toBe(id);
  });
});
