// Behaviour of the Redis adapter beyond the shared contract: configuration checks, key layout,
// trimming, schema guard, persistence warnings, binary checkpoints, prototype-safe decoding, the
// shared blocking read and the TaskFlow scripts.
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, newId, SchemaError, type Logger, type NewTask } from '@baton/core';
import { newTask } from '@baton/conformance';
import { Redis, type Cluster } from 'ioredis';
import { redisBackend, type RedisClient } from '../src/index.js';
import { deletePrefix, isolatedBackend, randomPrefix, REDIS_URL, redisUp, skipReason } from './helpers.js';

const task = (over: Partial<NewTask> = {}): NewTask => newTask({ type: 'job', ...over });

function captureLogger(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at =
    (level: string) =>
    (a: object | string, b?: string): void => {
      lines.push({ level, msg: typeof a === 'string' ? a : (b ?? '') });
    };
  const logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal'), child: () => logger, lines };
  return logger;
}

describe('configuration', () => {
  it('takes an ioredis Redis or Cluster instance as its client (structural type)', () => {
    const fromCluster = (c: Cluster): RedisClient => c;
    const fromRedis = (r: Redis): RedisClient => r;
    expect(typeof fromCluster).toBe('function');
    expect(typeof fromRedis).toBe('function');
  });

  it('refuses an invalid prefix before touching Redis', () => {
    expect(() => redisBackend(REDIS_URL, { prefix: 'Bad-Prefix' })).toThrow(ConfigError);
    expect(() => redisBackend(REDIS_URL, { prefix: 'x}{y' })).toThrow(ConfigError);
  });

  it('refuses a URL that is not redis:// and never shows its password', () => {
    let message = '';
    try {
      redisBackend('http://user:s3cret@example.com:6379');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).not.toContain('s3cret');
  });

  it('refuses an ioredis client with keyPrefix (the scripts build keys themselves)', () => {
    const client = new Redis(REDIS_URL, { keyPrefix: 'app:', lazyConnect: true });
    expect(() => redisBackend(client)).toThrow(/keyPrefix/);
    client.disconnect();
  });

  it('tolerates CONFIG being disabled: logs and carries on', async () => {
    const logger = captureLogger();
    const fake: RedisClient = {
      status: 'ready',
      call: async (cmd: string) => {
        if (cmd === 'CONFIG') throw Object.assign(new Error("ERR unknown command 'CONFIG'"), { name: 'ReplyError' });
        return null;
      },
      hmgetBuffer: async () => [],
      duplicate: () => fake,
      on: () => fake,
      removeListener: () => fake,
      quit: async () => 'OK',
      disconnect: () => undefined,
    };
    const backend = redisBackend(fake, { logger });
    expect(await backend.persistence).toMatchObject({ maxmemoryPolicy: null, warnings: [] });
    expect(logger.lines.some((l) => l.level === 'info' && l.msg.includes('CONFIG GET refused'))).toBe(true);
  });
});

describe.skipIf(!redisUp)(`@baton/redis on the shared Redis ${skipReason}`, () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  const fresh = (opts: Parameters<typeof isolatedBackend>[0] = {}) => {
    const b = isolatedBackend(opts);
    cleanups.push(b.cleanup);
    return b;
  };

  it('puts every key under the {prefix} hash tag, so one Cluster slot holds them all', async () => {
    const { backend: b, prefix } = fresh();
    const [t] = await b.tasks.create([task({ runId: 'r1', phaseId: 'p1' })]);
    await b.queue.enqueue([{ taskId: t!.id }, { taskId: 'later', delayMs: 60_000 }]);
    const [d] = await b.queue.claim({ limit: 1, leaseMs: 10_000, waitMs: 0 });
    await b.tasks.start([{ taskId: d!.taskId, leaseId: d!.leaseId, workerId: 'w' }]);
    await b.checkpoints.save(t!.id, d!.leaseId, { token: 't', encoding: 'json', body: Buffer.from('{}'), sizeBytes: 2 });
    await b.timers.schedule([{ id: newId(), kind: 'custom', delayMs: 1000, key: 'k', taskId: t!.id, phaseId: 'p1', name: 'n', payload: null }]);
    await b.heartbeats.beat([{ id: 'worker:1', ttlMs: 10_000 }]);
    await b.events.append([{ id: newId(), type: 'task.started', at: Date.now(), runId: null, phaseId: null, taskId: t!.id, workerId: null, data: {} }]);
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`*${prefix}*`);
    r.disconnect();
    expect(keys.length).toBeGreaterThan(10);
    for (const k of keys) expect(k.startsWith(`{${prefix}}:`)).toBe(true);
  });

  it('keeps the stream bounded: claimed entries are trimmed, so it holds only ready deliveries', async () => {
    const { backend: b, prefix } = fresh();
    const r = new Redis(REDIS_URL);
    try {
      for (let round = 0; round < 5; round++) {
        const ids = Array.from({ length: 200 }, () => newId());
        await b.queue.enqueue(ids.map((taskId) => ({ taskId })));
        expect(await r.xlen(`{${prefix}}:q`)).toBe(200);
        const got = await b.queue.claim({ limit: 150, leaseMs: 10_000, waitMs: 0 });
        expect(await r.xlen(`{${prefix}}:q`)).toBe(50);
        const rest = await b.queue.claim({ limit: 100, leaseMs: 10_000, waitMs: 0 });
        expect(await b.queue.ack([...got, ...rest])).toEqual([...got, ...rest].map(() => true));
      }
      expect(await r.xlen(`{${prefix}}:q`)).toBe(0);
      expect(await r.hlen(`{${prefix}}:qdv`)).toBe(0);
      expect(await r.zcard(`{${prefix}}:qleases`)).toBe(0);
      expect(await b.queue.depth()).toEqual({ ready: 0, leased: 0, delayed: 0 });
    } finally {
      r.disconnect();
    }
  });

  it('refuses a prefix whose keys hold foreign data or a newer layout (SchemaError)', async () => {
    const { backend: b, prefix } = fresh();
    const r = new Redis(REDIS_URL);
    try {
      await r.set(`{${prefix}}:q`, 'not a stream');
      await expect(b.tasks.get('x')).rejects.toBeInstanceOf(SchemaError);
      const { backend: b2, prefix: p2 } = fresh();
      await r.hset(`{${p2}}:meta`, 'version', '99');
      await expect(b2.queue.depth()).rejects.toThrow(/newer than this @baton\/redis/);
    } finally {
      r.disconnect();
    }
  });

  it('warns when Redis persists nothing or may evict keys', async () => {
    const logger = captureLogger();
    const r = new Redis(REDIS_URL);
    const [, policy] = (await r.config('GET', 'maxmemory-policy')) as string[];
    const [, aof] = (await r.config('GET', 'appendonly')) as string[];
    const [, save] = (await r.config('GET', 'save')) as string[];
    r.disconnect();
    const { backend: b } = fresh({ logger, checkPersistence: true });
    const report = await b.persistence;
    expect(report).toMatchObject({ maxmemoryPolicy: policy, appendonly: aof });
    const warned = logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    expect(warned.some((m) => m.includes('maxmemory-policy'))).toBe(policy !== 'noeviction');
    expect(warned.some((m) => m.includes('appendonly'))).toBe(aof === 'no');
    if (aof === 'no' && save === '') expect(warned.some((m) => m.includes('persists nothing'))).toBe(true);
  });

  it('stores checkpoint bodies byte for byte (gzip and all 256 byte values)', async () => {
    const { backend: b } = fresh();
    const [t] = await b.tasks.create([task()]);
    await b.queue.enqueue([{ taskId: t!.id }]);
    const [d] = await b.queue.claim({ limit: 1, leaseMs: 10_000, waitMs: 0 });
    await b.tasks.start([{ ...d!, workerId: 'w' }]);
    const body = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
    expect(await b.checkpoints.save(t!.id, d!.leaseId, { token: 'bin', encoding: 'gzip', body, sizeBytes: 9_999 })).toBe(true);
    const loaded = await b.checkpoints.load(t!.id);
    expect(loaded).toMatchObject({ token: 'bin', encoding: 'gzip', sizeBytes: 9_999 });
    expect(Buffer.from(loaded!.body).equals(Buffer.from(body))).toBe(true);
    expect((await b.tasks.get(t!.id))!.hasCheckpoint).toBe(true);
  });

  it('keeps a task input with __proto__ keys from reaching any prototype', async () => {
    const { backend: b } = fresh();
    const input = JSON.parse('{"__proto__":{"polluted":true},"ok":1}') as NewTask['input'];
    const [t] = await b.tasks.create([task({ input })]);
    const got = await b.tasks.get(t!.id);
    expect(got!.input).toEqual({ ok: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('wakes several waiting claims of one backend from their shared blocking read', async () => {
    const { backend: b } = fresh();
    const waiting = [b.queue.claim({ limit: 1, leaseMs: 10_000, waitMs: 5_000 }), b.queue.claim({ limit: 1, leaseMs: 10_000, waitMs: 5_000 })];
    await new Promise((r) => setTimeout(r, 100));
    await b.queue.enqueue([{ taskId: 'a' }, { taskId: 'b' }]);
    const got = (await Promise.all(waiting)).flat().map((d) => d.taskId).sort();
    expect(got).toEqual(['a', 'b']);
  });

  it('flow.createAndEnqueue creates and delivers in one step; duplicates are neither created nor re-enqueued', async () => {
    const { backend: b } = fresh();
    const now = task({ idempotencyKey: 'same' });
    const later = task();
    const res = await b.flow.createAndEnqueue([now, later, task({ idempotencyKey: 'same' })], [0, 60_000, 0]);
    expect(res).toEqual([
      { id: now.id, duplicate: false },
      { id: later.id, duplicate: false },
      { id: now.id, duplicate: true },
    ]);
    expect(await b.queue.depth()).toEqual({ ready: 1, leased: 0, delayed: 1 });
    const claimed = await b.queue.claim({ limit: 10, leaseMs: 10_000, waitMs: 0 });
    expect(claimed.map((d) => d.taskId)).toEqual([now.id]);
    expect((await b.tasks.get(later.id))!.state).toBe('pending');
  });

  it('stores each append as one entry yet numbers, pages and purges events one by one', async () => {
    const { backend: b, prefix } = fresh();
    const ev = (i: number, at = Date.now()) => ({ id: `e${i}`, type: 'task.started' as const, at, runId: i % 2 ? 'odd' : 'even', phaseId: null, taskId: `t${i}`, workerId: null, data: { i } });
    const old = Date.now() - 3_600_000;
    await b.events.append([0, 1, 2, 3].map((i) => ev(i, old)));
    await b.events.append([4, 5, 6].map((i) => ev(i)));
    await b.events.append([ev(7)]);
    const r = new Redis(REDIS_URL);
    expect(await r.xlen(`{${prefix}}:ev`)).toBe(3);
    r.disconnect();
    const all = await b.events.query({});
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(all.map((e) => e.data.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect((await b.events.query({ after: 2, limit: 3 })).map((e) => e.seq)).toEqual([3, 4, 5]);
    expect((await b.events.query({ runId: 'odd', after: 4 })).map((e) => e.seq)).toEqual([6, 8]);
    // Age: the four old events go (a prefix), limited per call.
    expect(await b.events.purge({ olderThanMs: 60_000, keepLatest: 100, limit: 3 })).toBe(3);
    expect(await b.events.purge({ olderThanMs: 60_000, keepLatest: 100, limit: 100 })).toBe(1);
    expect((await b.events.query({})).map((e) => e.seq)).toEqual([5, 6, 7, 8]);
    // Count: keep the newest 2, even from the middle of an append batch.
    expect(await b.events.purge({ olderThanMs: 60_000, keepLatest: 2, limit: 100 })).toBe(2);
    expect((await b.events.query({})).map((e) => e.seq)).toEqual([7, 8]);
    expect((await b.events.query({ after: 1 })).map((e) => e.seq)).toEqual([7, 8]);
    await b.events.append([ev(8)]);
    expect((await b.events.query({ after: 7 })).map((e) => e.seq)).toEqual([8, 9]);
  });

  it('caps the event log at eventsMaxLen events, dropping the oldest', async () => {
    const { backend: b } = fresh({ eventsMaxLen: 5 });
    for (let i = 0; i < 4; i++) {
      await b.events.append([0, 1, 2].map((j) => ({ id: `e${i}${j}`, type: 'task.started' as const, at: Date.now(), runId: null, phaseId: null, taskId: null, workerId: null, data: {} })));
    }
    expect((await b.events.query({})).map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
  });

  it('flow.claimAndStart claims and starts in one step, and waits like claim', async () => {
    const { backend: b } = fresh();
    const [a, c] = [task(), task()];
    await b.flow.createAndEnqueue([a, c], []);
    await b.tasks.transition([c.id], ['pending'], 'cancelled');
    const got = await b.flow.claimAndStart({ limit: 10, leaseMs: 10_000, waitMs: 0 }, 'w1');
    expect(got.map((g) => g.delivery.taskId)).toEqual([a.id, c.id]);
    const started = got[0]!.start;
    expect(started.task).toMatchObject({ id: a.id, state: 'running', leaseId: got[0]!.delivery.leaseId, workerId: 'w1', input: { n: 1 } });
    expect(await b.tasks.get(a.id)).toEqual(started.task);
    expect(got[1]!.start).toEqual({ taskId: c.id, task: null, state: 'cancelled' });
    const waiting = b.flow.claimAndStart({ limit: 1, leaseMs: 10_000, waitMs: 5_000 }, 'w1');
    const late = task();
    setTimeout(() => void b.flow.createAndEnqueue([late], []), 50);
    expect((await waiting).map((g) => g.start.task?.id)).toEqual([late.id]);
  });

  it('flow.finishAndSettle writes the outcome and acks / releases under the same lease, or nothing', async () => {
    const { backend: b } = fresh();
    const [a, c, d] = [task(), task(), task()];
    await b.flow.createAndEnqueue([a, c, d], []);
    const got = await b.flow.claimAndStart({ limit: 3, leaseMs: 10_000, waitMs: 0 }, 'w');
    const lease = (id: string) => got.find((g) => g.delivery.taskId === id)!.delivery.leaseId;
    await b.checkpoints.save(a.id, lease(a.id), { token: 't', encoding: 'json', body: Buffer.from('{}'), sizeBytes: 2 });
    const applied = await b.flow.finishAndSettle([
      { outcome: { taskId: a.id, leaseId: lease(a.id), state: 'completed', result: { ok: 1 }, durationMs: 5 }, queue: 'ack', deleteCheckpoint: true },
      { outcome: { taskId: c.id, leaseId: lease(c.id), state: 'pending' }, queue: 'release', releaseDelayMs: 60_000 },
      { outcome: { taskId: d.id, leaseId: 'stale', state: 'completed' }, queue: 'ack' },
    ]);
    expect(applied).toEqual([true, true, false]);
    expect(await b.tasks.get(a.id)).toMatchObject({ state: 'completed', result: { ok: 1 }, hasCheckpoint: false, leaseId: null });
    expect(await b.checkpoints.load(a.id)).toBeNull();
    expect(await b.checkpoints.stats()).toEqual({ count: 0, totalBytes: 0, avgBytes: 0 });
    expect((await b.tasks.get(c.id))!.state).toBe('pending');
    expect((await b.tasks.get(d.id))!.state).toBe('running');
    // a: acked; c: released with a delay; d: still leased under its real lease.
    expect(await b.queue.depth()).toEqual({ ready: 0, leased: 1, delayed: 1 });
    expect(await b.queue.ack([{ taskId: d.id, leaseId: lease(d.id) }])).toEqual([true]);
  });

  it('prunes heartbeat entries of ids that stopped beating, so the zsets do not grow', async () => {
    const { backend: b, prefix } = fresh();
    await b.heartbeats.beat([{ id: 'task:a', ttlMs: 50 }, { id: 'task:b', ttlMs: 50 }]);
    await new Promise((r) => setTimeout(r, 120));
    await b.heartbeats.beat([{ id: 'worker:1', ttlMs: 60_000 }]);
    const r = new Redis(REDIS_URL);
    expect(await r.zrange(`{${prefix}}:hbz`, 0, -1)).toEqual(['worker:1']);
    expect(await r.zrange(`{${prefix}}:hbexp`, 0, -1)).toEqual(['worker:1']);
    r.disconnect();
    expect(await b.heartbeats.lastSeen('task:a')).toBeNull();
  });

  it('falls back to EVAL when Redis does not know a script (NOSCRIPT: flushed cache, failover)', async () => {
    // SCRIPT FLUSH would disturb other users of the shared server; a client whose EVALSHA always
    // answers NOSCRIPT exercises the same path.
    const real = new Redis(REDIS_URL);
    let evalshas = 0;
    let evals = 0;
    const client: RedisClient = {
      get status() {
        return real.status;
      },
      call: (cmd, args) => {
        if (cmd === 'EVALSHA') {
          evalshas++;
          return Promise.reject(Object.assign(new Error('NOSCRIPT No matching script. Please use EVAL.'), { name: 'ReplyError' }));
        }
        if (cmd === 'EVAL') evals++;
        return real.call(cmd, args);
      },
      hmgetBuffer: (key, ...fields) => real.hmgetBuffer(key, ...fields),
      duplicate: () => real.duplicate(),
      on: (event, listener) => real.on(event, listener),
      removeListener: (event, listener) => real.removeListener(event, listener),
      quit: () => real.quit(),
      disconnect: () => real.disconnect(),
    };
    const prefix = randomPrefix();
    const b = redisBackend(client, { prefix, checkPersistence: false });
    cleanups.push(async () => {
      await b.close();
      real.disconnect();
      await deletePrefix(prefix);
    });
    expect(await b.queue.depth()).toEqual({ ready: 0, leased: 0, delayed: 0 });
    expect(evalshas).toBeGreaterThan(0);
    expect(evals).toBe(evalshas);
  });
});
