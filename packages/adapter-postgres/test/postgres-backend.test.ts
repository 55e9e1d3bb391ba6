// Behaviour of the PostgreSQL backend beyond the shared contract: options, transactional
// enqueue, the LISTEN/NOTIFY wake-ups per queue (and their reconnect), pool ownership and
// errors, what the database keeps exactly, and the schema's views and cleanup functions.
import type { EventEmitter } from 'node:events';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError, ConfigError, ValidationError, createBaton, mixBackend, silentLogger } from '@baton/core';
import { newId, type NewTask, type QueueItem } from '@baton/core/adapter';
import { captureLogger, newTask } from '@baton/conformance';
import { memoryBackend } from '@baton/memory';
import { postgresBackend, type PostgresBackend } from '@baton/postgres';
import { Notifier } from '../src/notifier.js';
import { resolvePool } from '../src/postgres-pool.js';
import { DATABASE_URL, dropSchema, newPool, randomSchema, reachable, skipReason, sleep } from './helpers.js';

const task = (over: Partial<NewTask> = {}): NewTask => newTask({ type: 'job', ...over });
const item = (taskId: string, over: Partial<QueueItem> = {}): QueueItem => ({ taskId, queue: 'default', priority: 0, group: null, ...over });
const claim = (over: { queues?: string[]; limit?: number; waitMs?: number; signal?: AbortSignal } = {}) => ({ queues: ['default'], limit: 1, leaseMs: 60_000, waitMs: 2_000, ...over });
const ready = { logger: silentLogger };

describe('postgresBackend options', () => {
  it('refuses bad options with a ConfigError that names the option and what to pass', () => {
    expect(() => postgresBackend(DATABASE_URL, { firedTimerRetentionMs: 1.5 })).toThrow(/firedTimerRetentionMs must be an integer/);
    expect(() => postgresBackend(DATABASE_URL, { poolSize: 1 })).toThrow(/poolSize must be an integer from 2/);
    expect(() => postgresBackend(DATABASE_URL, { migrate: 'yes' as never })).toThrow(/migrate must be true or false/);
    expect(() => postgresBackend(DATABASE_URL, { preparedStatements: 1 as never })).toThrow(ConfigError);
    expect(() => postgresBackend(DATABASE_URL, { vacuum: 'on' as never })).toThrow(/vacuum must be true or false/);
    expect(() => postgresBackend(DATABASE_URL, { schema: 'Bad-Name' })).toThrow(/schema must match/);
    expect(() => postgresBackend(DATABASE_URL, { name: '' })).toThrow(ConfigError);
    expect(() => postgresBackend(DATABASE_URL, { logger: silentLogger } as never)).toThrow(/no option "logger"/);
    expect(() => postgresBackend('')).toThrow(/connection string/);
    expect(() => postgresBackend({} as never)).toThrow(/pg.Pool/);
  });

  it('declares every capability, atomic events included, and takes a name', async () => {
    const b = postgresBackend(DATABASE_URL, { schema: 'never_created', name: 'billing-db' });
    expect(b.name).toBe('billing-db');
    expect(b.capabilities).toEqual({ durable: true, multiProcess: true, transactionalEnqueue: true, pushWake: true, atomicEvents: true });
    expect(b.flow).toBeDefined();
    await b.close();
  });
});

describe.skipIf(!reachable)(`Notifier keepalive ${skipReason}`, () => {
  it('the LISTEN connection still shows as the listener in pg_stat_activity after its keepalives', async () => {
    const app = `baton_keepalive_${newId().slice(-8)}`;
    const url = new URL(DATABASE_URL);
    url.searchParams.set('application_name', app);
    const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
    const admin = newPool(1);
    const n = new Notifier(pool, `keepalive_${app}`, () => silentLogger, 50);
    const listener = async () =>
      (await admin.query(`SELECT query, query_start FROM pg_stat_activity WHERE application_name = $1`, [app])).rows as { query: string; query_start: Date }[];
    try {
      await n.ensure();
      const [first] = await listener();
      // Until a keepalive has run on the connection (its query_start moves on).
      let last = first!;
      for (let i = 0; i < 100 && last.query_start.getTime() === first!.query_start.getTime(); i++) {
        await sleep(50);
        last = (await listener())[0]!;
      }
      expect(last.query_start.getTime()).toBeGreaterThan(first!.query_start.getTime());
      expect((await listener()).map((r) => r.query)).toEqual([`LISTEN "keepalive_${app}"`]);
    } finally {
      await n.close();
      await pool.end();
      await admin.end();
    }
  });
});

describe.skipIf(!reachable)(`the backend's own pool ${skipReason}`, () => {
  it('a client handed to a waiting connect() survives an error before the caller has attached its listeners', async () => {
    const { pool, release } = resolvePool(DATABASE_URL, 2, () => silentLogger);
    try {
      const a = await pool.connect();
      const b = await pool.connect();
      // The pool is full: this waits, and a's release hands a to it at once, before the awaiting
      // code can run — as the LISTEN connection's reconnect waits on a busy pool.
      const waiter = pool.connect();
      a.release();
      expect(() => (a as unknown as EventEmitter).emit('error', new Error('terminating connection due to administrator command'))).not.toThrow();
      (await waiter).release(true);
      b.release();
    } finally {
      await release();
    }
  });
});

describe('Notifier wake-ups per queue', () => {
  it('a claimer waiting on queue a wakes for a and for everyone, never for b', async () => {
    const n = new Notifier({} as never, 'unused', () => silentLogger);
    const woke = (queues: string[], wake: () => void) => {
      const token = n.token(queues);
      const started = Date.now();
      const waiting = n.wait(queues, 400, token).then(() => Date.now() - started);
      wake();
      return waiting;
    };
    expect(await woke(['a'], () => n.wake('a'))).toBeLessThan(300);
    expect(await woke(['a', 'c'], () => n.wake('c'))).toBeLessThan(300);
    expect(await woke(['a'], () => n.wake())).toBeLessThan(300);
    expect(await woke(['a'], () => n.wake('b'))).toBeGreaterThanOrEqual(350);
    // A wake between the claimer's look and its wait is not lost: the token moved.
    const token = n.token(['a']);
    n.wake('a');
    const started = Date.now();
    await n.wait(['a'], 5_000, token);
    expect(Date.now() - started).toBeLessThan(300);
  });
});

describe.skipIf(!reachable)(`postgresBackend ${skipReason}`, () => {
  const schemas: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  const pool = newPool(4);
  const backend = (over: { schema?: string; app?: string } = {}): PostgresBackend => {
    const schema = over.schema ?? randomSchema('pgb');
    if (!schemas.includes(schema)) schemas.push(schema);
    const url = new URL(DATABASE_URL);
    if (over.app) url.searchParams.set('application_name', over.app);
    const b = postgresBackend(url.toString(), { schema, poolSize: 4 });
    closers.push(() => b.close());
    return b;
  };
  afterEach(async () => {
    // Last opened, first closed: a baton stops before the backend under it.
    for (const close of closers.splice(0).reverse()) await close();
  });
  afterAll(async () => {
    for (const s of schemas) await dropSchema(s);
    await pool.end();
  });

  describe('transactional enqueue', () => {
    it('a task enqueued in a transaction that commits exists, runs, and its enqueued event with it', async () => {
      const schema = randomSchema('tx');
      schemas.push(schema);
      const b = postgresBackend(pool, { schema });
      const baton = createBaton({ backend: b, logger: silentLogger, worker: { concurrency: 2, pollIntervalMs: 100 } });
      closers.push(() => baton.close());
      let runs = 0;
      baton.register('signup-email', (input) => {
        runs++;
        return { sent: (input as { user: string }).user };
      });
      await b.ready(ready);
      await pool.query(`CREATE TABLE "${schema}".users (name text)`);
      const client = await pool.connect();
      let taskId: string;
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO "${schema}".users VALUES ('ada')`);
        ({ taskId } = await baton.enqueue('signup-email', { user: 'ada' }, { transaction: client }));
        // Not visible outside the transaction until it commits: neither the task nor its event.
        expect(await b.tasks.get(taskId)).toBeNull();
        expect(await b.events.query({ taskId, limit: 10 })).toEqual([]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      expect((await b.tasks.get(taskId))?.state).toBe('pending');
      await baton.start();
      expect(await baton.waitFor(taskId, { timeoutMs: 20_000 })).toMatchObject({ state: 'completed', result: { sent: 'ada' } });
      expect(runs).toBe(1);
      expect((await b.events.query({ taskId, type: ['task.enqueued'], limit: 10 })).length).toBe(1);
    });

    it('a task enqueued in a transaction that rolls back never exists: no record, no delivery, no event, no run', async () => {
      const schema = randomSchema('tx');
      schemas.push(schema);
      const b = postgresBackend(pool, { schema });
      const baton = createBaton({ backend: b, logger: silentLogger, worker: { concurrency: 2, pollIntervalMs: 100 } });
      closers.push(() => baton.close());
      let runs = 0;
      baton.register('signup-email', () => ++runs);
      await baton.start();
      const client = await pool.connect();
      let taskId: string;
      try {
        await client.query('BEGIN');
        ({ taskId } = await baton.enqueue('signup-email', { user: 'bob' }, { transaction: client }));
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      await sleep(500);
      expect(await b.tasks.get(taskId)).toBeNull();
      expect(await b.queue.depth()).toEqual({ ready: 0, leased: 0, expired: 0, delayed: 0 });
      expect(await b.events.query({ taskId, limit: 10 })).toEqual([]);
      expect(runs).toBe(0);
      // The key was never taken: enqueueing again after the rollback creates the task.
      const again = await baton.enqueue('signup-email', { user: 'bob' });
      expect(again.duplicate).toBe(false);
      expect((await baton.waitFor(again.taskId, { timeoutMs: 20_000 })).state).toBe('completed');
    });

    it('refuses a transaction that is not a pg client with a ValidationError naming the operation, writing nothing', async () => {
      const b = backend();
      for (const bad of [{}, 'BEGIN', 42, { query: 'not a function' }]) {
        await expect(b.tasks.create([task()], { transaction: bad })).rejects.toThrow(ValidationError);
        await expect(b.queue.enqueue([item(newId())], { transaction: bad })).rejects.toThrow(/options.transaction must be a pg client/);
      }
      expect((await b.tasks.list({ limit: 10 })).tasks).toEqual([]);
    });
  });

  describe('wake-ups', () => {
    it('an idle claimer in another process is woken by NOTIFY of its queue, not by its wait running out', async () => {
      const schema = randomSchema('wake');
      const worker = backend({ schema });
      const producer = backend({ schema });
      await Promise.all([worker.ready(ready), producer.ready(ready)]);
      const id = newId();
      // waitMs far beyond this test's timeout: only the notification can end the wait in time.
      const waiting = worker.queue.claim(claim({ queues: ['mail'], waitMs: 600_000 }));
      await sleep(300);
      await producer.queue.enqueue([item(newId(), { queue: 'other' })]);
      await producer.queue.enqueue([item(id, { queue: 'mail' })]);
      expect((await waiting).map((d) => d.taskId)).toEqual([id]);
    }, 15_000);

    it('a claimer waiting on a queue at its concurrency cap is woken when another process frees the slot', async () => {
      const schema = randomSchema('slot');
      const holder = backend({ schema });
      const waiter = backend({ schema });
      await Promise.all([holder.ready(ready), waiter.ready(ready)]);
      await holder.queue.configure('capped', { concurrency: 1 });
      const [first, second] = [newId(), newId()];
      await holder.queue.enqueue([item(first, { queue: 'capped' })]);
      await sleep(5);
      await holder.queue.enqueue([item(second, { queue: 'capped' })]);
      const [held] = await holder.queue.claim(claim({ queues: ['capped'] }));
      expect(held?.taskId).toBe(first);
      const waiting = waiter.queue.claim(claim({ queues: ['capped'], waitMs: 600_000 }));
      await sleep(300);
      expect(await holder.queue.ack([held!])).toEqual([true]);
      expect((await waiting).map((d) => d.taskId)).toEqual([second]);
    }, 15_000);

    it('a waiting claim wakes for a delayed delivery when it is due, without a notification', async () => {
      const b = backend();
      await b.ready(ready);
      const id = newId();
      await b.queue.enqueue([item(id, { delayMs: 400 })]);
      const started = Date.now();
      expect((await b.queue.claim(claim({ waitMs: 600_000 }))).map((d) => d.taskId)).toEqual([id]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    }, 15_000);

    it('the LISTEN connection comes back after pg_terminate_backend and wakes claimers again', async () => {
      const schema = randomSchema('relisten');
      const app = `baton_relisten_${newId().slice(-8)}`;
      const worker = backend({ schema, app });
      const producer = backend({ schema });
      await Promise.all([worker.ready(ready), producer.ready(ready)]);
      const first = worker.queue.claim(claim({ waitMs: 600_000 }));
      await sleep(300);
      const killed = await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`, [app]);
      expect(killed.rowCount).toBe(1);
      // The listener reconnects with backoff; wait until the server shows it listening again.
      for (let i = 0; i < 100; i++) {
        const { rows } = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`, [app]);
        if (rows[0].n === 1) break;
        await sleep(50);
      }
      const id = newId();
      await producer.queue.enqueue([item(id)]);
      expect((await first).map((d) => d.taskId)).toEqual([id]);
    }, 20_000);
  });

  describe('connections', () => {
    it('closes the pool it opened, leaves a pool it was given open', async () => {
      const own = postgresBackend(DATABASE_URL, { schema: randomSchema('own') });
      schemas.push(own.schema);
      await own.ready(ready);
      await own.close();
      await expect(own.tasks.get('x')).rejects.toThrow(BackendUnavailableError);

      const given = postgresBackend(pool, { schema: own.schema });
      await given.ready(ready);
      await given.close();
      expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    });

    it('survives its idle connections being terminated: no crash, the pool reconnects', async () => {
      const app = `baton_idle_${newId().slice(-8)}`;
      const b = backend({ app });
      await b.tasks.create([task()]);
      await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [app]);
      await sleep(200);
      // The first query after the cut may fail as unavailable; the next ones go through.
      let ok = false;
      for (let i = 0; i < 5 && !ok; i++) {
        try {
          await b.tasks.list({ limit: 10 });
          ok = true;
        } catch (err) {
          expect(err).toBeInstanceOf(BackendUnavailableError);
          expect((err as Error).message).toMatch(/^tasks\.list: /);
        }
      }
      expect(ok).toBe(true);
    });

    it('reports an unreachable server as BackendUnavailableError without the password', async () => {
      const b = postgresBackend('postgres://baton:hunter2@127.0.0.1:1/nowhere', { schema: 'nowhere' });
      closers.push(() => b.close());
      const err = await b.ready(ready).then(
        () => new Error('expected ready() to fail'),
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect(err.message).not.toContain('hunter2');
      expect(err.message).toMatch(/unreachable/);
    });
  });

  describe('data the database holds', () => {
    it('keeps a JSON checkpoint byte for byte, even one JSONB would refuse (\\u0000)', async () => {
      const b = backend();
      const t = task();
      await b.flow!.createAndEnqueue([t], [undefined]);
      const [claimed] = await b.flow!.claimAndStart(claim(), 'w', false);
      const body = new Uint8Array(Buffer.from('{"z":1, "a":"nul \\u0000 here"}', 'utf8'));
      expect(await b.checkpoints.save(t.id, claimed!.delivery.leaseId, { token: 't', encoding: 'json', body, sizeBytes: body.byteLength })).toBe(true);
      expect(Buffer.from((await b.checkpoints.load(t.id))!.body).toString('utf8')).toBe('{"z":1, "a":"nul \\u0000 here"}');
      const gz = new Uint8Array(gzipSync(Buffer.from('{"big":true}')));
      expect(await b.checkpoints.save(t.id, claimed!.delivery.leaseId, { token: 'g', encoding: 'gzip', body: gz, sizeBytes: 12 })).toBe(true);
      expect(Buffer.compare(Buffer.from((await b.checkpoints.load(t.id))!.body), Buffer.from(gz))).toBe(0);
    });

    it('stores input, results, errors and event data with \\u0000 and key order exactly as sent', async () => {
      const b = backend();
      const input = { z: 'a\u0000b', a: 1 };
      const t = task({ input });
      await b.tasks.create([t], { events: [[{ id: newId(), type: 'task.enqueued', at: Date.now(), runId: null, phaseId: null, taskId: t.id, workerId: null, data: { note: 'nul \u0000' } }]] });
      expect(JSON.stringify((await b.tasks.get(t.id))?.input)).toBe(JSON.stringify(input));
      const [started] = await b.tasks.start([{ taskId: t.id, leaseId: 'l', workerId: 'w' }]);
      expect(started?.task?.input).toEqual(input);
      const error = { name: 'Error', message: 'bad \u0000 byte', code: null, stack: null };
      expect(await b.tasks.finish([{ taskId: t.id, leaseId: 'l', state: 'dead', error }])).toEqual([true]);
      expect((await b.tasks.get(t.id))?.error).toEqual(error);
      expect((await b.events.query({ taskId: t.id, limit: 10 }))[0]?.data).toEqual({ note: 'nul \u0000' });
    });

    it('Queue.claim only leases; claimAndStart also starts the task under the delivery lease', async () => {
      const b = backend();
      const t = task();
      await b.tasks.create([t]);
      await b.queue.enqueue([item(t.id)]);
      const [d] = await b.queue.claim(claim());
      expect(d?.taskId).toBe(t.id);
      expect((await b.tasks.get(t.id))?.state).toBe('pending');
      await b.queue.release([d!]);
      const [c] = await b.flow!.claimAndStart(claim(), 'worker-1', true);
      expect(c?.start.task).toMatchObject({ id: t.id, state: 'running', leaseId: c!.delivery.leaseId, workerId: 'worker-1' });
      expect(await b.tasks.get(t.id)).toMatchObject({ state: 'running', leaseId: c!.delivery.leaseId });
    });

    it('serves deliveries of ids with no task row (a TaskStore kept elsewhere) alongside task-backed ones', async () => {
      const b = backend();
      const t = task();
      const foreign = newId();
      await b.queue.enqueue([item(foreign)]);
      await sleep(5);
      await b.flow!.createAndEnqueue([t], [undefined]);
      const claimed = await b.flow!.claimAndStart(claim({ limit: 5 }), 'w', false);
      expect(claimed.map((c) => c.delivery.taskId)).toEqual([foreign, t.id]);
      expect(claimed[0]!.start).toEqual({ taskId: foreign, task: null, state: null });
      expect(await b.queue.depth()).toEqual({ ready: 0, leased: 2, expired: 0, delayed: 0 });
      expect(await b.queue.ack(claimed.map((c) => c.delivery))).toEqual([true, true]);
    });

    it('views show running tasks, per-phase and per-queue stats and pending timers; cleanup functions remove old rows', async () => {
      const b = backend();
      const q = (sql: string) => pool.query(sql.replaceAll(':S', `"${b.schema}"`));
      const [one, two] = [task({ phaseId: 'p1', queue: 'reports' }), task({ phaseId: 'p1', queue: 'reports' })];
      await b.flow!.createAndEnqueue([one, two], [undefined, undefined]);
      const claimed = await b.flow!.claimAndStart(claim({ queues: ['reports'], limit: 2 }), 'w-9', true);
      const lease = new Map(claimed.map((c) => [c.delivery.taskId, c.delivery.leaseId]));
      await b.checkpoints.save(one.id, lease.get(one.id)!, { token: 's', encoding: 'json', body: new Uint8Array(Buffer.from('{}')), sizeBytes: 2 });
      await b.flow!.finishAndSettle([{ outcome: { taskId: two.id, leaseId: lease.get(two.id)!, state: 'completed', result: 1, durationMs: 4 }, queue: 'ack' }]);
      await b.timers.schedule([{ id: newId(), kind: 'timeout', delayMs: 60_000, key: null, taskId: null, phaseId: 'p1', name: null, payload: null }]);
      const fired = newId();
      await b.timers.schedule([{ id: fired, kind: 'custom', delayMs: 0, key: null, taskId: null, phaseId: null, name: 'x', payload: null }]);
      await b.timers.claimDue(10, 60_000);
      await b.timers.complete([fired]);

      const active = (await q(`SELECT id, queue, worker_id, heartbeat_status FROM :S.active_tasks`)).rows;
      expect(active).toEqual([{ id: one.id, queue: 'reports', worker_id: 'w-9', heartbeat_status: 'healthy' }]);
      const stats = (await q(`SELECT phase_id, total::int, running::int, completed::int FROM :S.task_stats_by_phase`)).rows;
      expect(stats).toEqual([{ phase_id: 'p1', total: 2, running: 1, completed: 1 }]);
      const byQueue = (await q(`SELECT queue, total::int, running::int, completed::int FROM :S.task_stats_by_queue`)).rows;
      expect(byQueue).toEqual([{ queue: 'reports', total: 2, running: 1, completed: 1 }]);
      const timers = (await q(`SELECT kind, phase_id FROM :S.pending_timers`)).rows;
      expect(timers).toEqual([{ kind: 'timeout', phase_id: 'p1' }]);

      // Nothing is older than a day yet; backdate, then the cleanups remove exactly those rows.
      const events = Number((await q(`SELECT count(*) AS n FROM :S.events`)).rows[0].n);
      expect(events).toBeGreaterThan(0);
      expect((await q(`SELECT :S.cleanup_old_checkpoints(1) AS n`)).rows[0].n).toBe('0');
      await q(`UPDATE :S.checkpoints SET updated_at = now() - interval '3 days'`);
      await q(`UPDATE :S.events SET at = now() - interval '3 days'`);
      await q(`UPDATE :S.timers SET fired_at = now() - interval '3 days' WHERE fired_at IS NOT NULL`);
      expect((await q(`SELECT :S.cleanup_old_checkpoints(1) AS n`)).rows[0].n).toBe('1');
      expect(Number((await q(`SELECT :S.cleanup_old_events(1) AS n`)).rows[0].n)).toBe(events);
      expect((await q(`SELECT :S.cleanup_fired_timers(1) AS n`)).rows[0].n).toBe('1');
      expect((await b.tasks.get(one.id))?.hasCheckpoint).toBe(false);
      expect((await b.timers.list({ limit: 10 })).length).toBe(1);
    });
  });

  describe('writes of a running task', () => {
    it('heartbeats, lease extensions, progress and usage are HOT updates: no index entry written', async () => {
      const b = backend();
      const t = task();
      await b.flow!.createAndEnqueue([t], [0]);
      const [c] = await b.flow!.claimAndStart(claim(), 'w-1', false);
      const ref = { taskId: t.id, leaseId: c!.delivery.leaseId };
      const writes = 12;
      for (let i = 0; i < writes / 4; i++) {
        expect(await b.flow!.heartbeat([ref], 60_000)).toEqual([true]);
        expect(await b.queue.extend([ref], 60_000)).toEqual([true]);
        expect(await b.tasks.setProgress(t.id, ref.leaseId, { step: i })).toBe(true);
        expect(await b.tasks.recordUsage(t.id, ref.leaseId, { costUsd: 0.01, tokens: 10 })).not.toBeNull();
      }
      // A server process reports its table statistics when it exits.
      await b.close();
      const stats = async () =>
        (await pool.query(`SELECT n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'tasks'`, [b.schema])).rows[0] as { upd: number; hot: number };
      // The claim's update is not HOT (it moves the task between the ready and leased indexes); every later write is.
      await expect.poll(stats, { timeout: 10_000 }).toEqual({ upd: writes + 1, hot: writes });
    });
  });

  describe('asynchronous commits', () => {
    it('a claim and a start turn synchronous_commit off for their own transaction only: the pooled connection is back to on for the next statement', async () => {
      const own = new pg.Pool({ connectionString: DATABASE_URL, max: 3 });
      const schema = randomSchema('async');
      schemas.push(schema);
      const b = postgresBackend(own, { schema });
      try {
        await b.ready(ready);
        const [a, c] = [task(), task()];
        await b.flow!.createAndEnqueue([a], [0]);
        await b.tasks.create([c]);
        // Every idle connection of the pool, so whichever ran the statement is among them.
        const setting = async () => {
          const clients = await Promise.all(Array.from({ length: own.idleCount }, () => own.connect()));
          try {
            const seen = await Promise.all(clients.map(async (cl) => (await cl.query(`SHOW synchronous_commit`)).rows[0].synchronous_commit as string));
            return [...new Set(seen)].join();
          } finally {
            for (const cl of clients) cl.release();
          }
        };
        expect(await setting()).toBe('on');
        expect(await b.flow!.claimAndStart(claim(), 'w-1', true)).toHaveLength(1);
        expect(await setting()).toBe('on');
        expect((await b.tasks.start([{ taskId: c.id, leaseId: 'foreign-lease', workerId: 'w-1' }]))[0]).toMatchObject({ task: { state: 'running' } });
        expect(await setting()).toBe('on');
      } finally {
        await b.close();
        await own.end();
      }
    });
  });

  describe('VACUUM after retention', () => {
    const finishedRows = (schema: string, n: number) =>
      pool.query(`INSERT INTO "${schema}".tasks (id, type, input, idempotency_key, state, result, finished_at)
                  SELECT 'done-' || g, 'job', '{}', 'key-' || g, 'completed', 'null', now() - interval '1 hour' FROM generate_series(1, $1::int) g`, [n]);
    const vacuums = async (schema: string) =>
      Number((await pool.query(`SELECT vacuum_count FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'tasks'`, [schema])).rows[0].vacuum_count);
    const deadRows = async (schema: string) =>
      Number((await pool.query(`SELECT n_dead_tup FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'tasks'`, [schema])).rows[0].n_dead_tup);
    const purgeAll = { state: 'completed', olderThanMs: 0, keepLatest: 0, limit: 5_000 } as const;

    it('a retention pass that leaves enough dead rows vacuums the table it deleted from', async () => {
      const b = backend();
      await b.ready(ready);
      await finishedRows(b.schema, 3_000);
      expect(await b.tasks.purge(purgeAll)).toBe(3_000);
      // The deletes reach pg_stat_user_tables once the deleting session reports them; each later
      // pass checks again, as the engine's retention loop does.
      await expect.poll(async () => (await b.tasks.purge(purgeAll), vacuums(b.schema)), { timeout: 20_000, interval: 300 }).toBeGreaterThan(0);
    });

    it('a pass that finds the table locked skips it without a warning in the log', async () => {
      const logger = captureLogger();
      const b = backend();
      await b.ready({ logger });
      await finishedRows(b.schema, 3_000);
      const holder = await pool.connect();
      try {
        // The lock VACUUM takes; deletes still go through.
        await holder.query(`BEGIN; LOCK TABLE "${b.schema}".tasks IN SHARE UPDATE EXCLUSIVE MODE`);
        expect(await b.tasks.purge(purgeAll)).toBe(3_000);
        const skipped = () => logger.lines.some((l) => l.msg.includes('skipping vacuum'));
        await expect.poll(async () => (await b.tasks.purge(purgeAll), skipped()), { timeout: 20_000, interval: 300 }).toBe(true);
        expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
      } finally {
        await holder.query('ROLLBACK');
        holder.release();
      }
    });

    it('with vacuum: false it leaves the table to autovacuum', async () => {
      const schema = randomSchema('novac');
      schemas.push(schema);
      const b = postgresBackend(DATABASE_URL, { schema, poolSize: 4, vacuum: false });
      closers.push(() => b.close());
      await b.ready(ready);
      await finishedRows(schema, 3_000);
      expect(await b.tasks.purge(purgeAll)).toBe(3_000);
      await expect.poll(async () => (await b.tasks.purge(purgeAll), deadRows(schema)), { timeout: 20_000, interval: 300 }).toBeGreaterThanOrEqual(3_000);
      await b.tasks.purge(purgeAll);
      await b.close();
      expect(await vacuums(schema)).toBe(0);
    });
  });

  describe('active_tasks with the queue in another store (the production preset shape)', () => {
    it('tasks.heartbeat alone keeps a running task healthy in the view; without beats it turns stalled', async () => {
      const b = backend();
      const q = (sql: string, values: unknown[] = []) => pool.query(sql.replaceAll(':S', `"${b.schema}"`), values);
      const t = task();
      await b.tasks.create([t]);
      // Started under a lease some other store handed out: no delivery in this schema at all.
      await b.tasks.start([{ taskId: t.id, leaseId: 'foreign-lease', workerId: 'w-1' }]);
      await sleep(50);
      expect(await b.tasks.heartbeat([{ taskId: t.id, leaseId: 'foreign-lease' }])).toEqual([true]);
      const row = (await q(`SELECT heartbeat_status, lease_expires_at, last_heartbeat FROM :S.active_tasks WHERE id = $1`, [t.id])).rows[0];
      expect(row.heartbeat_status).toBe('healthy');
      expect(row.lease_expires_at).toBeNull();
      expect(new Date(row.last_heartbeat).getTime()).toBe((await b.tasks.get(t.id))!.heartbeatAt);
      // A stall timeout shorter than the time since the last beat: stalled.
      const client = await pool.connect();
      try {
        await sleep(300);
        await client.query(`SET baton.stall_after = '200 milliseconds'`);
        const stalled = await client.query(`SELECT heartbeat_status FROM "${b.schema}".active_tasks WHERE id = $1`, [t.id]);
        expect(stalled.rows[0].heartbeat_status).toBe('stalled');
      } finally {
        client.release(true);
      }
    });

    it('a task running under mixBackend (memory queue and heartbeats, Postgres tasks) shows healthy with a moving last heartbeat', async () => {
      const pg = backend();
      const mem = memoryBackend();
      const mixed = mixBackend({
        queue: mem.queue,
        heartbeats: mem.heartbeats,
        tasks: pg.tasks,
        checkpoints: pg.checkpoints,
        timers: pg.timers,
        events: pg.events,
        coordination: pg.coordination,
        sources: [mem, pg],
      });
      expect(mixed.capabilities.atomicEvents).toBe(true);
      const baton = createBaton({ backend: mixed, logger: silentLogger, worker: { concurrency: 1, stallTimeoutMs: 600, heartbeatIntervalMs: 100 } });
      closers.push(() => baton.close());
      let release!: () => void;
      const hold = new Promise<void>((r) => (release = r));
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      baton.register('long', async () => {
        started();
        await hold;
        return 'done';
      });
      const { taskId } = await baton.enqueue('long', {});
      await baton.start();
      await running;
      const view = async () => (await pool.query(`SELECT heartbeat_status, last_heartbeat FROM "${pg.schema}".active_tasks WHERE id = $1`, [taskId])).rows[0];
      await sleep(250);
      const first = await view();
      await sleep(400);
      const second = await view();
      expect(first.heartbeat_status).toBe('healthy');
      expect(second.heartbeat_status).toBe('healthy');
      expect(new Date(second.last_heartbeat).getTime()).toBeGreaterThan(new Date(first.last_heartbeat).getTime());
      release();
      expect((await baton.waitFor(taskId, { timeoutMs: 10_000 })).state).toBe('completed');
      expect((await pool.query(`SELECT count(*)::int AS n FROM "${pg.schema}".active_tasks`)).rows[0].n).toBe(0);
    });
  });
});
