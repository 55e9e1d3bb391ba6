// Behaviour of the Redis adapter beyond the shared contract: configuration checks, the key layout
// and its guard, persistence warnings through the baton's logger, binary checkpoints, waking
// waiting claims, group lanes, literal coordination scans, the event stream's batching, and the
// two corruption failures of issue 12 this layout must not repeat.
import { afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError, ConfigError, SchemaError } from '@baton/core';
import { newId, silentLogger, type NewEvent, type NewTask, type QueueItem } from '@baton/core/adapter';
import { captureLogger, newTask } from '@baton/conformance';
import { Redis, type Cluster } from 'ioredis';
import { Redis as Redis6, type Cluster as Cluster6 } from 'ioredis6';
import { redisBackend, type RedisClient } from '../src/index.js';
import type { RedisArg } from '../src/redis-client.js';
import { scripts } from '../src/scripts.js';
import { corruptionHooks, GARBAGE, keysOf } from './corruption-hooks.js';
import { deletePrefix, isolatedBackend, randomPrefix, REDIS_URL, redisUp, skipReason, sleepMs } from './helpers.js';

const item = (taskId: string, over: Partial<QueueItem> = {}): QueueItem => ({ taskId, queue: 'default', priority: 0, group: null, ...over });
const claimOf = (queues: string[], limit: number, waitMs = 0) => ({ queues, limit, leaseMs: 30_000, waitMs });
const event = (i: number, at = Date.now()): NewEvent => ({ id: `e${i}`, type: 'task.started', at, runId: i % 2 ? 'odd' : 'even', phaseId: null, taskId: `t${i}`, workerId: null, data: { i } });

describe('configuration', () => {
  it('takes an ioredis 5 or 6 Redis or Cluster instance as its client (structural type)', () => {
    const accepts = [(c: Cluster): RedisClient => c, (r: Redis): RedisClient => r, (c: Cluster6): RedisClient => c, (r: Redis6): RedisClient => r];
    expect(accepts).toHaveLength(4);
  });

  it('refuses bad options before touching Redis, each with a ConfigError naming the option', () => {
    expect(() => redisBackend(REDIS_URL, { prefix: 'Bad-Prefix' })).toThrow(/prefix/);
    expect(() => redisBackend(REDIS_URL, { prefix: 'x}{y' })).toThrow(ConfigError);
    expect(() => redisBackend(REDIS_URL, { eventsMaxLen: 0 })).toThrow(/eventsMaxLen must be an integer from 1/);
    expect(() => redisBackend(REDIS_URL, { checkPersistence: 'yes' as unknown as boolean })).toThrow(/checkPersistence must be true or false/);
    expect(() => redisBackend(REDIS_URL, { name: '' })).toThrow(/name must be a non-empty string/);
    expect(() => redisBackend(42 as unknown as string)).toThrow(/ioredis Redis \/ Cluster instance/);
  });

  it('refuses a URL that is not redis:// and never shows its password', () => {
    expect(() => redisBackend('http://user:s3cret@example.com:6379')).toThrow(ConfigError);
    expect(() => redisBackend('http://user:s3cret@example.com:6379')).not.toThrow(/s3cret/);
  });

  it('refuses an ioredis client with keyPrefix (the scripts build keys themselves)', () => {
    const client = new Redis(REDIS_URL, { keyPrefix: 'app:', lazyConnect: true });
    expect(() => redisBackend(client)).toThrow(/keyPrefix/);
    client.disconnect();
  });

  it('exposes its prefix with braces, the Cluster hash tag', () => {
    expect(redisBackend(REDIS_URL, { prefix: 'myapp' }).prefix).toBe('{myapp}:');
  });

  it('ready() tolerates CONFIG being disabled: it logs through the baton logger and carries on', async () => {
    const logger = captureLogger();
    const fake: RedisClient = {
      status: 'ready',
      call: async (cmd: string) => {
        if (cmd === 'CONFIG') throw Object.assign(new Error("ERR unknown command 'CONFIG'"), { name: 'ReplyError' });
        if (cmd === 'EVALSHA') return ['2', 'hash'];
        return null;
      },
      hmgetBuffer: async () => [],
      duplicate: () => fake,
      on: () => fake,
      removeListener: () => fake,
      quit: async () => 'OK',
      disconnect: () => undefined,
    };
    const backend = redisBackend(fake);
    await backend.ready({ logger });
    expect(backend.persistence).toMatchObject({ maxmemoryPolicy: null, warnings: [] });
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
  const raw = () => {
    const r = new Redis(REDIS_URL);
    cleanups.push(async () => r.disconnect());
    return r;
  };

  it('puts every key under the {prefix} hash tag, so one Cluster slot holds them all', async () => {
    const { backend: b, prefix } = fresh();
    const t = newTask({ runId: 'r1', phaseId: 'p1', group: 'acme', queue: 'mail' });
    await b.flow.createAndEnqueue([t, newTask({ queue: 'mail' })], [undefined, 60_000]);
    await b.queue.configure('mail', { groupConcurrency: 1, rateLimit: { max: 5, perMs: 1000 } });
    const [c] = await b.flow.claimAndStart(claimOf(['mail'], 1), 'w', true);
    await b.checkpoints.save(t.id, c!.delivery.leaseId, { token: 't', encoding: 'json', body: Buffer.from('{}'), sizeBytes: 2 });
    await b.timers.schedule([{ id: newId(), kind: 'custom', delayMs: 1000, key: 'k', taskId: t.id, phaseId: 'p1', name: 'n', payload: null }]);
    await b.heartbeats.beat([{ id: 'worker:1', ttlMs: 10_000 }]);
    await b.coordination.write('breaker:x', { open: true }, null);
    await b.queue.claim(claimOf(['empty'], 1, 10));
    const keys = await raw().keys(`*${prefix}*`);
    expect(keys.length).toBeGreaterThan(15);
    for (const k of keys) expect(k.startsWith(`{${prefix}}:`)).toBe(true);
  });

  it('refuses a prefix that holds foreign data, an older layout or a newer one (SchemaError)', async () => {
    const r = raw();
    const { backend: foreign, prefix } = fresh();
    await r.set(`{${prefix}}:meta`, 'not a hash');
    await expect(foreign.tasks.get('x')).rejects.toBeInstanceOf(SchemaError);
    const { backend: old, prefix: p1 } = fresh();
    await r.hset(`{${p1}}:meta`, 'version', '1');
    await expect(old.ready({ logger: silentLogger })).rejects.toThrow(/layout version 1 .*uses layout 2/);
    const { backend: newer, prefix: p2 } = fresh();
    await r.hset(`{${p2}}:meta`, 'version', '99');
    await expect(newer.queue.depth()).rejects.toThrow(/newer than this @baton\/redis/);
  });

  it('warns through the logger ready() receives when Redis persists nothing or may evict keys', async () => {
    const logger = captureLogger();
    const r = raw();
    const [, policy] = (await r.config('GET', 'maxmemory-policy')) as string[];
    const [, aof] = (await r.config('GET', 'appendonly')) as string[];
    const { backend: b } = fresh({ checkPersistence: true });
    expect(b.persistence).toBeNull();
    await b.ready({ logger });
    expect(b.persistence).toMatchObject({ maxmemoryPolicy: policy, appendonly: aof });
    const warned = logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    expect(warned.some((m) => m.includes('maxmemory-policy'))).toBe(policy !== 'noeviction');
    expect(warned.some((m) => m.includes('appendonly'))).toBe(aof === 'no');
  });

  it('names the operation in its errors: a closed backend refuses at once, nothing sent', async () => {
    const { backend: b } = fresh();
    await b.close();
    await expect(b.queue.claim(claimOf(['default'], 1))).rejects.toThrow(BackendUnavailableError);
    await expect(b.queue.claim(claimOf(['default'], 1))).rejects.toThrow(/^queue\.claim: /);
    await expect(b.tasks.finish([{ taskId: 'x', leaseId: 'y', state: 'completed' }])).rejects.toThrow(/^tasks\.finish: /);
  });

  it('stores checkpoint bodies byte for byte (gzip and all 256 byte values)', async () => {
    const { backend: b } = fresh();
    const t = newTask();
    await b.flow.createAndEnqueue([t], [undefined]);
    const [c] = await b.flow.claimAndStart(claimOf(['default'], 1), 'w', false);
    const body = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
    expect(await b.checkpoints.save(t.id, c!.delivery.leaseId, { token: 'bin', encoding: 'gzip', body, sizeBytes: 9_999 })).toBe(true);
    const loaded = await b.checkpoints.load(t.id);
    expect(loaded).toMatchObject({ token: 'bin', encoding: 'gzip', sizeBytes: 9_999 });
    expect(Buffer.from(loaded!.body).equals(Buffer.from(body))).toBe(true);
  });

  it('wakes each of several waiting claims within milliseconds of an enqueue (pushWake), each on its own blocking read', async () => {
    const { backend: b } = fresh();
    const waiting = [b.queue.claim(claimOf(['a'], 1, 5_000)), b.queue.claim(claimOf(['b', 'a'], 1, 5_000))];
    await sleepMs(150);
    const started = Date.now();
    await b.queue.enqueue([item('x', { queue: 'a' }), item('y', { queue: 'a' })]);
    const got = (await Promise.all(waiting)).flat().map((d) => d.taskId).sort();
    expect(got).toEqual(['x', 'y']);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('writes no wake entry while nobody waits on a queue', async () => {
    const { backend: b } = fresh();
    await b.queue.enqueue([item('x', { queue: 'quiet' })]);
    expect(await raw().exists(keysOf(b).wake('quiet'))).toBe(0);
  });

  it('a flood of one group under groupConcurrency 1 does not hold back another group behind it', async () => {
    const { backend: b } = fresh();
    await b.queue.configure('g', { groupConcurrency: 1 });
    const flood = Array.from({ length: 500 }, (_, i) => item(`a${i}`, { queue: 'g', group: 'acme' }));
    await b.queue.enqueue(flood);
    await b.queue.enqueue([item('b0', { queue: 'g', group: 'globex' })]);
    const first = await b.queue.claim(claimOf(['g'], 10));
    expect(first.map((d) => d.taskId)).toEqual(['a0', 'b0']);
    expect(await b.queue.claim(claimOf(['g'], 10))).toEqual([]);
    expect(await b.queue.ack([first[0]!])).toEqual([true]);
    expect((await b.queue.claim(claimOf(['g'], 10))).map((d) => d.taskId)).toEqual(['a1']);
    expect((await b.queue.queues()).find((q) => q.name === 'g')?.depth).toMatchObject({ ready: 498, leased: 2 });
  });

  it('scans coordination keys by their literal prefix: glob and pattern characters match only themselves', async () => {
    const { backend: b } = fresh();
    for (const k of ['a*b', 'a*c', 'ab', 'a?x', 'a[1]', 'a\\z']) await b.coordination.write(k, k, null);
    expect((await b.coordination.scan('a*')).map((e) => e.key)).toEqual(['a*b', 'a*c']);
    expect((await b.coordination.scan('a?')).map((e) => e.key)).toEqual(['a?x']);
    expect((await b.coordination.scan('a[')).map((e) => e.key)).toEqual(['a[1]']);
    expect((await b.coordination.scan('a\\')).map((e) => e.key)).toEqual(['a\\z']);
  });

  it('stores each append as one stream entry yet numbers, pages and purges events one by one', async () => {
    const { backend: b } = fresh();
    const old = Date.now() - 3_600_000;
    await b.events.append([0, 1, 2, 3].map((i) => event(i, old)));
    await b.events.append([4, 5, 6].map((i) => event(i)));
    await b.events.append([event(7)]);
    expect(await raw().xlen(keysOf(b).events)).toBe(3);
    const all = await b.events.query({ limit: 100 });
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await b.events.query({ after: 2, limit: 3 })).map((e) => e.seq)).toEqual([3, 4, 5]);
    expect((await b.events.query({ runId: 'odd', after: 4, limit: 100 })).map((e) => e.seq)).toEqual([6, 8]);
    expect(await b.events.purge({ olderThanMs: 60_000, keepLatest: 100, limit: 3 })).toBe(3);
    expect(await b.events.purge({ olderThanMs: 60_000, keepLatest: 100, limit: 100 })).toBe(1);
    expect(await b.events.purge({ olderThanMs: 60_000, keepLatest: 2, limit: 100 })).toBe(2);
    expect((await b.events.query({ limit: 100 })).map((e) => e.seq)).toEqual([7, 8]);
  });

  it('caps the event log at eventsMaxLen events, dropping the oldest', async () => {
    const { backend: b } = fresh({ eventsMaxLen: 5 });
    for (let i = 0; i < 4; i++) await b.events.append([0, 1, 2].map((j) => event(10 * i + j)));
    expect((await b.events.query({ limit: 100 })).map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
  });

  /** A client of the shared server whose every `call` goes through `call` (`real` sends it as is). */
  const intercepted = (call: (cmd: string, args: RedisArg[], real: RedisClient['call']) => Promise<unknown>): RedisClient => {
    const real = raw();
    return {
      get status() {
        return real.status;
      },
      call: (cmd, args) => call(cmd, args, (c, a) => real.call(c, a)),
      hmgetBuffer: (key, ...fields) => real.hmgetBuffer(key, ...fields),
      duplicate: () => real.duplicate(),
      on: (e, l) => real.on(e, l),
      removeListener: (e, l) => real.removeListener(e, l),
      quit: () => real.quit(),
      disconnect: () => real.disconnect(),
    };
  };

  /** A backend on `client` under a fresh prefix, closed and its keys deleted after the test. */
  const backendOn = (client: RedisClient) => {
    const prefix = randomPrefix();
    const b = redisBackend(client, { prefix, checkPersistence: false });
    cleanups.push(async () => {
      await b.close();
      await deletePrefix(prefix);
    });
    return b;
  };

  it('falls back to EVAL when Redis does not know a script (NOSCRIPT: flushed cache, failover)', async () => {
    // SCRIPT FLUSH would disturb other users of the shared server; a client whose EVALSHA always
    // answers NOSCRIPT exercises the same path.
    let evalshas = 0;
    let evals = 0;
    const client = intercepted((cmd, args, real) => {
      if (cmd === 'EVALSHA') {
        evalshas++;
        return Promise.reject(Object.assign(new Error('NOSCRIPT No matching script. Please use EVAL.'), { name: 'ReplyError' }));
      }
      if (cmd === 'EVAL') evals++;
      return real(cmd, args);
    });
    const b = backendOn(client);
    expect(await b.queue.depth()).toEqual({ ready: 0, leased: 0, expired: 0, delayed: 0 });
    expect(evalshas).toBeGreaterThan(0);
    expect(evals).toBe(evalshas);
  });

  it("enqueue's one task (create-one) writes what a batch (create) writes, and dedups, takes over a purged key and refuses a taken id alike", async () => {
    // Which script each call ran, by its SHA.
    const ran: string[] = [];
    const byName = new Map(Object.values(scripts).map((s) => [s.sha, s.name]));
    const client = intercepted((cmd, args, real) => {
      if (cmd === 'EVALSHA') ran.push(byName.get(String(args[0])) ?? '?');
      return real(cmd, args);
    });
    const b = backendOn(client);
    await b.ready({ logger: silentLogger });
    const enqueued = (t: NewTask): NewEvent[] => [{ id: newId(), type: 'task.enqueued', at: Date.now(), runId: null, phaseId: null, taskId: t.id, workerId: null, data: { type: t.type, queue: t.queue } }];
    const one = newTask({ input: { n: 'é"\\' } });
    const batch = [newTask({ input: { n: 'é"\\' } }), newTask()];
    const before = ran.length;
    expect(await b.flow.createAndEnqueue([one], [undefined], undefined, [enqueued(one)])).toEqual([{ id: one.id, duplicate: false }]);
    expect(ran.slice(before)).toEqual(['create-one']);
    await b.flow.createAndEnqueue(batch, [0, 0], undefined, batch.map(enqueued));
    expect(ran.at(-1)).toBe('create');
    const [a, c] = [await b.tasks.get(one.id), await b.tasks.get(batch[0]!.id)];
    const strip = (r: object | null) => ({ ...r, id: null, idempotencyKey: null, createdAt: null, updatedAt: null });
    expect(strip(a)).toEqual(strip(c));
    const [ea] = await b.events.query({ taskId: one.id, limit: 10 });
    const [ec] = await b.events.query({ taskId: batch[0]!.id, limit: 10 });
    expect({ ...ea, id: null, at: null, seq: null, taskId: null }).toEqual({ ...ec, id: null, at: null, seq: null, taskId: null });
    expect(await b.queue.depth()).toMatchObject({ ready: 3 });
    // The same key again: the live task's id, no second event.
    const again = newTask({ idempotencyKey: one.idempotencyKey });
    expect(await b.flow.createAndEnqueue([again], [undefined], undefined, [enqueued(again)])).toEqual([{ id: one.id, duplicate: true }]);
    expect(await b.events.query({ taskId: again.id, limit: 10 })).toEqual([]);
    // A taken id with a fresh key creates nothing either.
    expect(await b.flow.createAndEnqueue([newTask({ id: one.id })], [undefined])).toEqual([{ id: one.id, duplicate: true }]);
    // A key whose task was purged is taken over.
    await raw().del(keysOf(b).task(one.id));
    const after = newTask({ idempotencyKey: one.idempotencyKey });
    expect(await b.flow.createAndEnqueue([after], [undefined])).toEqual([{ id: after.id, duplicate: false }]);
    expect(ran.filter((name) => name === 'create')).toHaveLength(1);
  });

  it('issue 12.5: one task hash with a garbage field neither fails a claim after its batch was leased nor takes its neighbours down', async () => {
    const { backend: b } = fresh();
    const tasks = Array.from({ length: 5 }, () => newTask());
    await b.flow.createAndEnqueue(tasks, tasks.map(() => undefined));
    const bad = tasks[2]!.id;
    // The old adapter decoded the batch after leasing it and threw a SyntaxError for the lot.
    await corruptionHooks.corruptTaskField(b, bad, 'input');
    const claimed = await b.flow.claimAndStart(claimOf(['default'], 5), 'w', true);
    expect(claimed).toHaveLength(5);
    for (const c of claimed) {
      if (c.delivery.taskId === bad) expect(c.start).toMatchObject({ task: null, state: 'dead', corrupt: { field: 'input' } });
      else expect(c.start.task?.state).toBe('running');
    }
    const rec = await b.tasks.get(bad);
    expect(rec).toMatchObject({ state: 'dead', input: null, error: { code: 'CORRUPT_RECORD' }, corruption: { field: 'input' } });
    expect(rec!.corruption!.raw).toContain('{"');
    const events = await b.events.query({ limit: 100 });
    expect(events.filter((e) => e.type === 'task.corrupt').map((e) => e.taskId)).toEqual([bad]);
    // The script started it before the adapter could read it: the trail says so, then quarantines it.
    expect(events.filter((e) => e.type === 'task.started')).toHaveLength(5);
    expect(events.map((e) => e.type).indexOf('task.corrupt')).toBeGreaterThan(events.map((e) => e.taskId).indexOf(bad));
  });

  it('issue 12.6: an entry at the ready set’s most extreme position does not halt the queue', async () => {
    const { backend: b } = fresh();
    await b.queue.enqueue([item('first')]);
    // The old layout's equivalent — a stream entry with the maximum id — failed every later XADD.
    await corruptionHooks.injectBadDelivery(b, 'default');
    await raw().hset(keysOf(b).deliveries, 'broken', GARBAGE);
    await raw().zadd(keysOf(b).ready('default'), '-inf', `${'0'.repeat(24)}broken`);
    await b.queue.enqueue([item('second'), item('third')]);
    const got = await b.queue.claim(claimOf(['default'], 10));
    expect(got.map((d) => d.taskId)).toEqual(['first', 'second', 'third']);
    expect(await raw().zcard(keysOf(b).ready('default'))).toBe(0);
    expect(await raw().hexists(keysOf(b).deliveriesQuarantined, 'broken')).toBe(1);
    const set = (await b.events.query({ type: ['record.quarantined'], limit: 10 })).map((e) => e.data['kind']);
    expect(set).toEqual(['delivery', 'delivery']);
  });
});
