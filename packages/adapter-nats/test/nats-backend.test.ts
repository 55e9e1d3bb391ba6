// Backend-level behaviour of @baton/nats beyond the shared suite: construction checks, resource
// names and teardown, layout/schema guards, payload limits against max_payload, chunked
// checkpoints, idempotency keys (expiry, orphans, racing processes), unreachable servers, and the
// event outbox: events of a write whose publish never happened reach the log once, in order.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackendUnavailableError, ConfigError, newId, SchemaError, type NewEvent, type NewTask } from '@baton/core/adapter';
import { newTask, queueItem } from '@baton/conformance';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { destroyNatsResources, natsBackend, type NatsBackend } from '../src/index.js';
import { decodeToken, encodeToken, hashKey } from '../src/nats-names.js';
import { Outbox } from '../src/nats-outbox.js';
import { scanStream } from '../src/nats-scan.js';
import { connectTest, freshBackend, NATS_URL, natsUp, randomPrefix, skipReason, sleep } from './helpers.js';

const task = (over: Partial<NewTask> = {}): NewTask => newTask({ type: 'job', ...over });
const newEvent = (over: Partial<NewEvent> = {}): NewEvent => ({ id: newId(), type: 'task.started', at: Date.now(), runId: null, phaseId: null, taskId: null, workerId: 'w-1', data: {}, ...over });

describe('@baton/nats construction (no server needed)', () => {
  it('refuses a bad prefix, bad options and a bad connection argument at construction with ConfigError', () => {
    expect(() => natsBackend(NATS_URL, { prefix: 'Bad.Prefix' })).toThrow(ConfigError);
    expect(() => natsBackend(NATS_URL, { prefix: 'a>' })).toThrow(ConfigError);
    expect(() => natsBackend(NATS_URL, { prefix: 'ok', storage: 'disk' as 'file' })).toThrow(ConfigError);
    expect(() => natsBackend(NATS_URL, { prefix: 'ok', ackWaitMs: 0 })).toThrow(ConfigError);
    expect(() => natsBackend(42 as unknown as string, { prefix: 'ok' })).toThrow(ConfigError);
  });

  it('encodes ids into subject tokens injectively and reversibly', () => {
    const ids = ['abc', 'a.b', '*', '>', '', '=abc', 'ünï', 'a b', 'A-Z_09'];
    const tokens = ids.map(encodeToken);
    expect(new Set(tokens).size).toBe(ids.length);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_=-]+$/);
    expect(tokens.map(decodeToken)).toEqual(ids);
  });
});

describe.skipIf(!natsUp)(`@baton/nats backend ${skipReason}`, () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });
  const fresh = (opts: Parameters<typeof freshBackend>[0] = {}) => {
    const f = freshBackend(opts);
    cleanups.push(f.cleanup);
    return f;
  };

  it('creates its streams and buckets under the prefix; destroyNatsResources removes them', async () => {
    const prefix = randomPrefix('names');
    const backend = natsBackend(NATS_URL, { prefix });
    await backend.ready();
    await backend.close();
    const nc = await connectTest();
    try {
      const jsm = await jetstreamManager(nc);
      const names = new Set<string>();
      for await (const s of jsm.streams.list()) if (s.config.name.includes(prefix)) names.add(s.config.name);
      expect([...names].sort()).toEqual(
        [`${prefix}_queue`, `${prefix}_events`, ...['tasks', 'checkpoints', 'timers', 'leases', 'queues', 'heartbeats', 'coord'].map((b) => `KV_${prefix}_${b}`)].sort(),
      );
      expect(await destroyNatsResources(nc, prefix)).toBe(9);
      const left: string[] = [];
      for await (const s of jsm.streams.list()) if (s.config.name.includes(prefix)) left.push(s.config.name);
      expect(left).toEqual([]);
    } finally {
      await nc.close();
    }
  });

  it('refuses a prefix written by a newer or an older layout, or holding data that is not Baton\'s, with SchemaError', async () => {
    const { backend, prefix } = fresh();
    await backend.ready();
    const nc = await connectTest();
    try {
      await jetstream(nc).publish(`$KV.${prefix}_tasks.m.schema`, JSON.stringify({ version: 99, kind: 'baton-nats' }));
      const newer = natsBackend(nc, { prefix });
      await expect(newer.tasks.get('x')).rejects.toBeInstanceOf(SchemaError);
      await jetstream(nc).publish(`$KV.${prefix}_tasks.m.schema`, JSON.stringify({ version: 1, kind: 'baton-nats' }));
      const older = natsBackend(nc, { prefix });
      await expect(older.tasks.get('x')).rejects.toThrow(/layout 1/);
      await jetstream(nc).publish(`$KV.${prefix}_tasks.m.schema`, JSON.stringify({ hello: 'world' }));
      const foreign = natsBackend(nc, { prefix });
      await expect(foreign.tasks.get('x')).rejects.toBeInstanceOf(SchemaError);
    } finally {
      await nc.close();
    }
  });

  it('refuses a task record larger than the server max_payload before writing anything (the key stays free)', async () => {
    const { backend } = fresh();
    await backend.ready();
    const key = newId();
    const big = task({ idempotencyKey: key, input: { blob: 'x'.repeat(1_100_000) } });
    await expect(backend.tasks.create([big])).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    const [ok] = await backend.tasks.create([task({ idempotencyKey: key })]);
    expect(ok!.duplicate).toBe(false);
  });

  it('stores a checkpoint larger than max_payload in chunks and loads it byte for byte', async () => {
    const { backend } = fresh();
    const t = task();
    await backend.tasks.create([t]);
    await backend.queue.enqueue([queueItem(t)]);
    const [d] = await backend.queue.claim({ queues: ['default'], limit: 1, leaseMs: 60_000, waitMs: 500 });
    await backend.tasks.start([{ taskId: t.id, leaseId: d!.leaseId, workerId: 'w' }]);
    const body = new Uint8Array(2_500_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) % 251;
    expect(await backend.checkpoints.save(t.id, d!.leaseId, { token: 'big', encoding: 'gzip', body, sizeBytes: 9_000_000 })).toBe(true);
    const loaded = await backend.checkpoints.load(t.id);
    expect(loaded?.token).toBe('big');
    expect(Buffer.compare(Buffer.from(loaded!.body), Buffer.from(body))).toBe(0);
    expect(await backend.checkpoints.stats()).toEqual({ count: 1, totalBytes: body.length, avgBytes: body.length });
    // A newer save replaces it and the old chunks are gone.
    const small = new Uint8Array([1, 2, 3]);
    expect(await backend.checkpoints.save(t.id, d!.leaseId, { token: 'small', encoding: 'json', body: small, sizeBytes: 3 })).toBe(true);
    expect((await backend.checkpoints.load(t.id))?.token).toBe('small');
    const nc = await connectTest();
    try {
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info(`KV_${backend.prefix}_checkpoints`)).state.messages).toBe(1);
    } finally {
      await nc.close();
    }
  });

  it('an idempotency key maps to its task until its TTL passes, then a new create replaces it', async () => {
    const { backend } = fresh();
    const key = newId();
    const [first] = await backend.tasks.create([task({ idempotencyKey: key, keyTtlMs: 300 })]);
    const [dup] = await backend.tasks.create([task({ idempotencyKey: key, keyTtlMs: 300 })]);
    expect(dup).toEqual({ id: first!.id, duplicate: true });
    await sleep(400);
    const [again] = await backend.tasks.create([task({ idempotencyKey: key, keyTtlMs: 300 })]);
    expect(again!.duplicate).toBe(false);
    expect(again!.id).not.toBe(first!.id);
  });

  it('an orphaned key (its create crashed before writing the task) is taken over once its grace has passed', async () => {
    const { backend, prefix } = fresh();
    await backend.ready();
    const key = newId();
    const nc = await connectTest();
    try {
      const { jetstream } = await import('@nats-io/jetstream');
      const at = Date.now() - 60_000;
      await jetstream(nc).publish(`$KV.${prefix}_tasks.k.${hashKey(key)}`, JSON.stringify({ id: 'never-written', exp: at + 3_600_000, at }));
    } finally {
      await nc.close();
    }
    const [r] = await backend.tasks.create([task({ idempotencyKey: key })]);
    expect(r!.duplicate).toBe(false);
    expect(await backend.tasks.get(r!.id)).not.toBeNull();
  });

  it('concurrent creates of one key from two processes create exactly one task', async () => {
    const { backend, prefix } = fresh();
    const other = natsBackend(NATS_URL, { prefix });
    cleanups.push(() => other.close());
    await Promise.all([backend.ready(), other.ready()]);
    for (let round = 0; round < 5; round++) {
      const key = newId();
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? other : backend).tasks.create([task({ idempotencyKey: key })])));
      const flat = results.map((r) => r[0]!);
      expect(flat.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(new Set(flat.map((r) => r.id)).size).toBe(1);
    }
  });

  it('the backend clock follows the server clock (same host: within a second of ours)', async () => {
    const { backend } = fresh();
    await backend.ready();
    expect(Math.abs(backend.clock!.now() - Date.now())).toBeLessThan(1_000);
  });

  it('an unreachable server fails with BackendUnavailableError naming the URL without its password', async () => {
    const backend: NatsBackend = natsBackend('nats://user:secret@127.0.0.1:1', { prefix: 'unreachable', connectOptions: { maxReconnectAttempts: 0, timeout: 500 } });
    try {
      const err = await backend.tasks.get('x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect((err as Error).message).toContain('127.0.0.1:1');
      expect((err as Error).message).not.toContain('secret');
    } finally {
      await backend.close();
    }
  });

  it('scans end at the snapshot while writers keep the bucket busy and claimers rewrite and delete its keys', async () => {
    const { backend } = fresh();
    await backend.ready();
    const ids = Array.from({ length: 120 }, () => newId());
    await backend.timers.schedule(ids.map((id, i) => ({ id, kind: 'custom' as const, delayMs: 0, key: null, taskId: null, phaseId: null, name: 'n', payload: { i } })));
    // A scan that followed later writes would never end while this writer runs.
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const [t] = await backend.timers.schedule([{ id: newId(), kind: 'custom', delayMs: 600_000, key: null, taskId: null, phaseId: null, name: 'n', payload: null }]);
        await backend.timers.cancel({ ids: [t!.id] });
      }
    })();
    const claimer = async (): Promise<string[]> => {
      const fired: string[] = [];
      for (let empty = 0; empty < 3; ) {
        const got = await backend.timers.claimDue(10, 60_000);
        if (got.length === 0) empty++;
        fired.push(...got.map((t) => t.id));
        await backend.timers.complete(got.map((t) => t.id));
      }
      return fired;
    };
    try {
      const fired = (await Promise.all(Array.from({ length: 4 }, claimer))).flat();
      expect(fired.sort()).toEqual([...ids].sort());
    } finally {
      writing = false;
      await writer;
    }
  }, 60_000);

  it('a scan of a history-1 bucket reads a key rewritten after its snapshot was taken once, at its new value', async () => {
    const nc = await connectTest();
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const stream = `KV_${randomPrefix('scan')}`;
    const put = (key: string, v: string) => js.publish(key, new TextEncoder().encode(v));
    try {
      await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], max_msgs_per_subject: 1 });
      const keys = Array.from({ length: 500 }, (_, i) => `${stream}.k${i}`);
      for (const k of keys) await put(k, 'v1');
      // Rewrites that land after the scan read the stream's last sequence and before its consumer
      // exists: each rewritten key's only message is then past that snapshot.
      const rewritten = keys.filter((_, i) => i % 50 === 7);
      const racing: JetStreamManager = Object.create(jsm) as JetStreamManager;
      Object.defineProperty(racing, 'consumers', {
        value: Object.assign(Object.create(jsm.consumers) as JetStreamManager['consumers'], {
          add: async (...args: Parameters<JetStreamManager['consumers']['add']>) => {
            for (const k of rewritten) await put(k, 'v2');
            return jsm.consumers.add(...args);
          },
        }),
      });
      const seen = new Map<string, string>();
      const reads: string[] = [];
      await scanStream({ nc, jsm: racing }, stream, {
        filter: `${stream}.>`,
        start: { policy: 'last_per_subject' },
        onMessage: (m) => {
          reads.push(m.subject);
          seen.set(m.subject, new TextDecoder().decode(m.data));
        },
      });
      expect(reads.length, 'no key read twice').toBe(seen.size);
      expect([...seen.keys()].sort(), 'every key read').toEqual([...keys].sort());
      for (const k of rewritten) expect(seen.get(k)).toBe('v2');
    } finally {
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
  }, 60_000);

  it('event queries by task id work for ids that are not subject-safe', async () => {
    const { backend } = fresh();
    const odd = 'task.with*odd>chars';
    const ev = (taskId: string | null) => newEvent({ taskId });
    await backend.events.append([ev(odd), ev('plain'), ev(null)]);
    expect((await backend.events.query({ taskId: odd, limit: 100 })).map((e) => e.taskId)).toEqual([odd]);
    expect(await backend.events.query({ limit: 100 })).toHaveLength(3);
  });
  describe('the event outbox', () => {
    afterEach(() => vi.restoreAllMocks());
    const logged = async (b: NatsBackend, taskId: string) => (await b.events.query({ taskId, limit: 100 })).map((e) => e.type);

    /** The next publish of written events does not happen: the process "dies" between the write and the publish. */
    const dieBeforePublish = () => vi.spyOn(Outbox.prototype, 'flush').mockImplementationOnce(async () => true);

    it('events of a write whose publish never happened are published once, in order, by the task’s next writer in another process', async () => {
      const { backend, prefix } = fresh();
      const t = task();
      dieBeforePublish();
      await backend.tasks.create([t], { events: [[newEvent({ type: 'task.enqueued', taskId: t.id })]] });
      expect(await logged(backend, t.id)).toEqual([]);
      // A reader does not publish: the outbox waits for the next write.
      expect((await backend.tasks.get(t.id))?.state).toBe('pending');
      expect((await backend.tasks.list({ limit: 10 })).tasks).toHaveLength(1);
      expect(await logged(backend, t.id)).toEqual([]);
      const other = natsBackend(NATS_URL, { prefix });
      cleanups.push(() => other.close());
      const [started] = await other.tasks.start([{ taskId: t.id, leaseId: 'lease-1', workerId: 'w' }], { startedEvents: true });
      expect(started?.task?.state).toBe('running');
      expect(await logged(backend, t.id)).toEqual(['task.enqueued', 'task.started']);
      // A third writer that cannot vouch for either verifies instead of republishing.
      const third = natsBackend(NATS_URL, { prefix });
      cleanups.push(() => third.close());
      expect(await third.tasks.finish([{ taskId: t.id, leaseId: 'lease-1', state: 'completed', result: 1, events: [newEvent({ type: 'task.completed', taskId: t.id })] }])).toEqual([true]);
      expect(await logged(backend, t.id)).toEqual(['task.enqueued', 'task.started', 'task.completed']);
    });

    it('a finish written by a process that died before publishing is replayed by the refused recover of the reclaim that follows', async () => {
      const { backend, prefix } = fresh();
      const t = task();
      await backend.tasks.create([t]);
      await backend.tasks.start([{ taskId: t.id, leaseId: 'lease-1', workerId: 'w' }]);
      dieBeforePublish();
      await backend.tasks.finish([{ taskId: t.id, leaseId: 'lease-1', state: 'completed', result: 1, events: [newEvent({ type: 'task.completed', taskId: t.id })] }]);
      expect(await logged(backend, t.id)).toEqual([]);
      const other = natsBackend(NATS_URL, { prefix });
      cleanups.push(() => other.close());
      const poisonPill = { name: 'PoisonPillError', message: 'x', code: 'POISON_PILL', stack: null };
      expect(await other.tasks.recover([{ taskId: t.id, leaseId: 'lease-1', poisonPill }], 3)).toEqual(['skipped']);
      expect(await logged(backend, t.id)).toEqual(['task.completed']);
      expect(await other.tasks.recover([{ taskId: t.id, leaseId: 'lease-1', poisonPill }], 3)).toEqual(['skipped']);
      expect(await logged(backend, t.id)).toEqual(['task.completed']);
    });

    it('past the duplicate window, a writer that finds a published outbox reads the task’s events instead of republishing them', async () => {
      const { backend, prefix } = fresh({ duplicateWindowMs: 1_000 });
      const t = task();
      await backend.tasks.create([t], { events: [[newEvent({ type: 'task.enqueued', taskId: t.id })]] });
      // The task's newest event is not one of the outbox's: only reading its events tells.
      await backend.events.append([newEvent({ type: 'task.progress', taskId: t.id })]);
      await sleep(1_200);
      const other = natsBackend(NATS_URL, { prefix, duplicateWindowMs: 1_000 });
      cleanups.push(() => other.close());
      await other.tasks.start([{ taskId: t.id, leaseId: 'lease-1', workerId: 'w' }], { startedEvents: true });
      expect(await logged(backend, t.id)).toEqual(['task.enqueued', 'task.progress', 'task.started']);
    });

    it('a reader that meets an old outbox nobody replayed (a cancel whose process died) settles it once, in the background', async () => {
      const { backend, prefix } = fresh({ duplicateWindowMs: 1_000 });
      const t = task();
      await backend.tasks.create([t]);
      dieBeforePublish();
      expect(await backend.tasks.transition([t.id], ['pending'], 'cancelled', { events: [[newEvent({ type: 'task.cancelled', taskId: t.id })]] })).toEqual([t.id]);
      const other = natsBackend(NATS_URL, { prefix, duplicateWindowMs: 1_000 });
      cleanups.push(() => other.close());
      // Fresh: the writer may still be publishing; a reader leaves it alone.
      await other.tasks.get(t.id);
      await sleep(100);
      expect(await logged(backend, t.id)).toEqual([]);
      await sleep(600);
      await other.tasks.list({ limit: 10 });
      for (let i = 0; i < 50 && (await logged(backend, t.id)).length === 0; i++) await sleep(50);
      expect(await logged(backend, t.id)).toEqual(['task.cancelled']);
      // Cleared: later readers and writers find nothing to replay.
      const nc = await connectTest();
      try {
        const sm = await (await jetstreamManager(nc)).direct.getMessage(`KV_${prefix}_tasks`, { last_by_subj: `$KV.${prefix}_tasks.t.${encodeToken(t.id)}` });
        expect(JSON.parse(new TextDecoder().decode(sm!.data))).not.toHaveProperty('ob');
      } finally {
        await nc.close();
      }
      await other.tasks.get(t.id);
      expect(await logged(backend, t.id)).toEqual(['task.cancelled']);
    });

    it('a record whose whole text cannot be decoded is quarantined from its key and headers, with one task.corrupt event', async () => {
      const { backend, prefix } = fresh();
      const t = task({ type: 'odd type', queue: 'q.1' });
      await backend.tasks.create([t]);
      const nc = await connectTest();
      try {
        const jsm = await jetstreamManager(nc);
        const sm = await jsm.direct.getMessage(`KV_${prefix}_tasks`, { last_by_subj: `$KV.${prefix}_tasks.t.${encodeToken(t.id)}` });
        const h = headers();
        for (const [k, vs] of sm!.header ?? []) if (k.startsWith('Baton-')) for (const v of vs) h.append(k, v);
        await jetstream(nc).publish(`$KV.${prefix}_tasks.t.${encodeToken(t.id)}`, '{not json', { headers: h });
      } finally {
        await nc.close();
      }
      const rec = await backend.tasks.get(t.id);
      expect(rec).toMatchObject({ id: t.id, type: 'odd type', queue: 'q.1', state: 'dead', error: { code: 'CORRUPT_RECORD' } });
      expect(rec?.corruption).toMatchObject({ field: 'record', raw: '{not json' });
      expect(await logged(backend, t.id)).toEqual(['task.corrupt']);
      expect((await backend.tasks.get(t.id))?.corruption?.field).toBe('record');
      expect(await logged(backend, t.id)).toEqual(['task.corrupt']);
    });
  });
});
