// Behaviour of the PostgreSQL backend beyond the shared contract: transactional enqueue, the
// LISTEN/NOTIFY wake-up (and its reconnect), pool ownership and errors, the schema's views and
// cleanup functions, and what the database refuses.
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError, ValidationError, createBaton, newId, type NewTask } from '@baton/core';
import { newTask } from '@baton/conformance';
import { POSTGRES_CAPABILITIES, postgresBackend, type PostgresBackend } from '@baton/postgres';
import { DATABASE_URL, dropSchema, newPool, randomSchema, reachable, skipReason, sleep } from './helpers.js';

const task = (over: Partial<NewTask> = {}): NewTask => newTask({ type: 'job', ...over });

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
    for (const close of closers.splice(0)) await close();
  });
  afterAll(async () => {
    for (const s of schemas) await dropSchema(s);
    await pool.end();
  });

  it('declares durable, multi-process, transactional enqueue and push wake-ups, and a fused flow', () => {
    const b = backend();
    expect(b.capabilities).toEqual({ durable: true, multiProcess: true, transactionalEnqueue: true, pushWake: true });
    expect(POSTGRES_CAPABILITIES.transactionalEnqueue).toBe(true);
    expect(b.flow).toBeDefined();
  });

  describe('transactional enqueue', () => {
    it('a task enqueued in a transaction that commits exists and runs', async () => {
      const schema = randomSchema('tx');
      schemas.push(schema);
      const b = postgresBackend(pool, { schema });
      const baton = createBaton({ backend: b, worker: { concurrency: 2, pollIntervalMs: 100 } });
      closers.push(() => baton.close());
      let runs = 0;
      baton.register('signup-email', (input) => {
        runs++;
        return { sent: (input as { user: string }).user };
      });
      await b.ready();
      await pool.query(`CREATE TABLE "${schema}".users (name text)`);
      const client = await pool.connect();
      let taskId: string;
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO "${schema}".users VALUES ('ada')`);
        ({ taskId } = await baton.enqueue('signup-email', { user: 'ada' }, { transaction: client }));
        // Not visible outside the transaction until it commits.
        expect(await b.tasks.get(taskId)).toBeNull();
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      expect((await b.tasks.get(taskId))?.state).toBe('pending');
      await baton.start();
      expect(await baton.waitFor(taskId, { timeoutMs: 20_000 })).toMatchObject({ state: 'completed', result: { sent: 'ada' } });
      expect(runs).toBe(1);
      expect((await b.events.query({ taskId, type: 'task.enqueued' })).length).toBe(1);
    });

    it('a task enqueued in a transaction that rolls back never exists: no record, no delivery, no event, no run', async () => {
      const schema = randomSchema('tx');
      schemas.push(schema);
      const b = postgresBackend(pool, { schema });
      const baton = createBaton({ backend: b, worker: { concurrency: 2, pollIntervalMs: 100 } });
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
      expect(await b.queue.depth()).toEqual({ ready: 0, leased: 0, delayed: 0 });
      expect(await b.events.query({ taskId })).toEqual([]);
      expect(runs).toBe(0);
      // The key was never taken: enqueueing again after the rollback creates the task.
      const again = await baton.enqueue('signup-email', { user: 'bob' });
      expect(again.duplicate).toBe(false);
      expect((await baton.waitFor(again.taskId, { timeoutMs: 20_000 })).state).toBe('completed');
    });

    it('refuses a transaction that is not a pg client, writing nothing', async () => {
      const b = backend();
      for (const bad of [{}, 'BEGIN', 42, { query: 'not a function' }]) {
        await expect(b.tasks.create([task()], { transaction: bad })).rejects.toThrow(ValidationError);
        await expect(b.queue.enqueue([{ taskId: newId() }], { transaction: bad })).rejects.toThrow(/options.transaction must be a pg client/);
      }
      expect(await b.tasks.list({})).toEqual([]);
    });
  });

  describe('wake-ups', () => {
    it('an idle claimer in another process is woken by NOTIFY, not by its wait running out', async () => {
      const schema = randomSchema('wake');
      const worker = backend({ schema });
      const producer = backend({ schema });
      await Promise.all([worker.ready(), producer.ready()]);
      const id = newId();
      // waitMs far beyond this test's timeout: only the notification can end the wait in time.
      const waiting = worker.queue.claim({ limit: 1, leaseMs: 60_000, waitMs: 600_000 });
      await sleep(300);
      await producer.queue.enqueue([{ taskId: id }]);
      expect((await waiting).map((d) => d.taskId)).toEqual([id]);
    }, 15_000);

    it('the LISTEN connection comes back after pg_terminate_backend and wakes claimers again', async () => {
      const schema = randomSchema('relisten');
      const app = `baton_relisten_${newId().slice(0, 8)}`;
      const worker = backend({ schema, app });
      const producer = backend({ schema });
      await Promise.all([worker.ready(), producer.ready()]);
      const first = worker.queue.claim({ limit: 1, leaseMs: 60_000, waitMs: 600_000 });
      await sleep(300);
      const killed = await pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`,
        [app],
      );
      expect(killed.rowCount).toBe(1);
      // The listener reconnects with backoff; wait until the server shows it listening again.
      for (let i = 0; i < 100; i++) {
        const { rows } = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`, [app]);
        if (rows[0].n === 1) break;
        await sleep(50);
      }
      const id = newId();
      await producer.queue.enqueue([{ taskId: id }]);
      expect((await first).map((d) => d.taskId)).toEqual([id]);
    }, 20_000);
  });

  describe('connections', () => {
    it('closes the pool it opened, leaves a pool it was given open', async () => {
      const own = postgresBackend(DATABASE_URL, { schema: randomSchema('own') });
      schemas.push(own.schema);
      await own.ready();
      await own.close();
      await expect(own.tasks.get('x')).rejects.toThrow(BackendUnavailableError);

      const given = postgresBackend(pool, { schema: own.schema });
      await given.ready();
      await given.close();
      expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    });

    it('survives its idle connections being terminated: no crash, the pool reconnects', async () => {
      const app = `baton_idle_${newId().slice(0, 8)}`;
      const b = backend({ app });
      await b.tasks.create([task()]);
      await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [app]);
      await sleep(200);
      // The first query after the cut may fail as unavailable; the next ones go through.
      let ok = false;
      for (let i = 0; i < 5 && !ok; i++) {
        try {
          await b.tasks.list({});
          ok = true;
        } catch (err) {
          expect(err).toBeInstanceOf(BackendUnavailableError);
        }
      }
      expect(ok).toBe(true);
    });

    it('reports an unreachable server as BackendUnavailableError without the password', async () => {
      const b = postgresBackend('postgres://baton:hunter2@127.0.0.1:1/nowhere', { schema: 'nowhere' });
      closers.push(() => b.close());
      const err = await b.ready().then(
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
      const [claimed] = await b.flow!.claimAndStart({ limit: 1, leaseMs: 60_000, waitMs: 2_000 }, 'w');
      const body = new Uint8Array(Buffer.from('{"z":1, "a":"nul \\u0000 here"}', 'utf8'));
      expect(await b.checkpoints.save(t.id, claimed!.delivery.leaseId, { token: 't', encoding: 'json', body, sizeBytes: body.byteLength })).toBe(true);
      expect(Buffer.from((await b.checkpoints.load(t.id))!.body).toString('utf8')).toBe('{"z":1, "a":"nul \\u0000 here"}');
      const gz = new Uint8Array(gzipSync(Buffer.from('{"big":true}')));
      expect(await b.checkpoints.save(t.id, claimed!.delivery.leaseId, { token: 'g', encoding: 'gzip', body: gz, sizeBytes: 12 })).toBe(true);
      expect(Buffer.compare(Buffer.from((await b.checkpoints.load(t.id))!.body), Buffer.from(gz))).toBe(0);
    });

    it('refuses task input JSONB cannot store (\\u0000) with a ValidationError, storing nothing', async () => {
      const b = backend();
      const t = task({ input: { text: 'a\u0000b' } });
      await expect(b.tasks.create([t])).rejects.toThrow(ValidationError);
      expect(await b.tasks.get(t.id)).toBeNull();
    });

    it('Queue.claim only leases; claimAndStart also starts the task under the delivery lease', async () => {
      const b = backend();
      const t = task();
      await b.tasks.create([t]);
      await b.queue.enqueue([{ taskId: t.id }]);
      const [d] = await b.queue.claim({ limit: 1, leaseMs: 60_000, waitMs: 2_000 });
      expect(d?.taskId).toBe(t.id);
      expect((await b.tasks.get(t.id))?.state).toBe('pending');
      await b.queue.release([d!]);
      const [c] = await b.flow!.claimAndStart({ limit: 1, leaseMs: 60_000, waitMs: 2_000 }, 'worker-1');
      expect(c?.start.task).toMatchObject({ id: t.id, state: 'running', leaseId: c!.delivery.leaseId, workerId: 'worker-1' });
      expect(await b.tasks.get(t.id)).toMatchObject({ state: 'running', leaseId: c!.delivery.leaseId });
    });

    it('serves deliveries of ids with no task row (a TaskStore kept elsewhere) alongside task-backed ones', async () => {
      const b = backend();
      const t = task();
      const foreign = newId();
      await b.queue.enqueue([{ taskId: foreign }]);
      await sleep(5);
      await b.flow!.createAndEnqueue([t], [undefined]);
      const claimed = await b.flow!.claimAndStart({ limit: 5, leaseMs: 60_000, waitMs: 2_000 }, 'w');
      expect(claimed.map((c) => c.delivery.taskId)).toEqual([foreign, t.id]);
      expect(claimed[0]!.start).toEqual({ taskId: foreign, task: null, state: null });
      expect(await b.queue.depth()).toEqual({ ready: 0, leased: 2, delayed: 0 });
      expect(await b.queue.ack(claimed.map((c) => c.delivery))).toEqual([true, true]);
    });

    it('views show running tasks, per-phase stats and pending timers; cleanup functions remove old rows', async () => {
      const b = backend();
      const q = (sql: string) => pool.query(sql.replaceAll(':S', `"${b.schema}"`));
      const [one, two] = [task({ phaseId: 'p1' }), task({ phaseId: 'p1' })];
      await b.flow!.createAndEnqueue([one, two], [undefined, undefined]);
      const claimed = await b.flow!.claimAndStart({ limit: 2, leaseMs: 60_000, waitMs: 2_000 }, 'w-9');
      const lease = new Map(claimed.map((c) => [c.delivery.taskId, c.delivery.leaseId]));
      await b.checkpoints.save(one.id, lease.get(one.id)!, { token: 's', encoding: 'json', body: new Uint8Array(Buffer.from('{}')), sizeBytes: 2 });
      await b.flow!.finishAndSettle([{ outcome: { taskId: two.id, leaseId: lease.get(two.id)!, state: 'completed', result: 1, durationMs: 4 }, queue: 'ack' }]);
      await b.timers.schedule([{ id: newId(), kind: 'timeout', delayMs: 60_000, key: null, taskId: null, phaseId: 'p1', name: null, payload: null }]);
      const fired = newId();
      await b.timers.schedule([{ id: fired, kind: 'custom', delayMs: 0, key: null, taskId: null, phaseId: null, name: 'x', payload: null }]);
      await b.timers.claimDue(10, 60_000);
      await b.timers.complete([fired]);
      await b.events.append([{ id: newId(), type: 'task.started', at: Date.now(), runId: null, phaseId: 'p1', taskId: one.id, workerId: 'w-9', data: {} }]);

      const active = (await q(`SELECT id, worker_id, heartbeat_status FROM :S.active_tasks`)).rows;
      expect(active).toEqual([{ id: one.id, worker_id: 'w-9', heartbeat_status: 'healthy' }]);
      const stats = (await q(`SELECT phase_id, total::int, running::int, completed::int FROM :S.task_stats_by_phase`)).rows;
      expect(stats).toEqual([{ phase_id: 'p1', total: 2, running: 1, completed: 1 }]);
      const timers = (await q(`SELECT kind, phase_id FROM :S.pending_timers`)).rows;
      expect(timers).toEqual([{ kind: 'timeout', phase_id: 'p1' }]);

      // Nothing is older than a day yet; backdate, then the cleanups remove exactly those rows.
      expect((await q(`SELECT :S.cleanup_old_checkpoints(1) AS n`)).rows[0].n).toBe('0');
      await q(`UPDATE :S.checkpoints SET updated_at = now() - interval '3 days'`);
      await q(`UPDATE :S.events SET at = now() - interval '3 days'`);
      await q(`UPDATE :S.timers SET fired_at = now() - interval '3 days' WHERE fired_at IS NOT NULL`);
      expect((await q(`SELECT :S.cleanup_old_checkpoints(1) AS n`)).rows[0].n).toBe('1');
      expect((await q(`SELECT :S.cleanup_old_events(1) AS n`)).rows[0].n).toBe('1');
      expect((await q(`SELECT :S.cleanup_fired_timers(1) AS n`)).rows[0].n).toBe('1');
      expect((await b.tasks.get(one.id))?.hasCheckpoint).toBe(false);
      expect((await b.timers.list({})).length).toBe(1);
    });
  });
});
