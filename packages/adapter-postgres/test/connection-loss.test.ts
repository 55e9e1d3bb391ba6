// Connection loss mid-run: every connection the adapter holds (pooled ones mid-statement, idle
// ones, the LISTEN one) is killed with pg_terminate_backend, repeatedly, while workers run.
// The pool replaces them, LISTEN comes back, writes that failed are retried, the process does
// not crash, and every task ends completed.
import { afterAll, describe, expect, it } from 'vitest';
import { createBaton, silentLogger } from '@baton/core';
import { newId } from '@baton/core/adapter';
import { postgresBackend } from '@baton/postgres';
import { DATABASE_URL, dropSchema, newPool, randomSchema, reachable, skipReason, sleep } from './helpers.js';

const TASKS = 300;

describe.skipIf(!reachable)(`connection loss ${skipReason}`, () => {
  const schema = randomSchema('cut');
  const admin = newPool(2);
  afterAll(async () => {
    await dropSchema(schema);
    await admin.end();
  });

  it('workers reconnect and go on after their connections are terminated; no task is lost', async () => {
    const app = `baton_cut_${newId().slice(-8)}`;
    const url = new URL(DATABASE_URL);
    url.searchParams.set('application_name', app);
    const backend = postgresBackend(url.toString(), { schema, poolSize: 6 });
    const baton = createBaton({
      backend,
      logger: silentLogger,
      worker: { concurrency: 8, stallTimeoutMs: 2_000, heartbeatIntervalMs: 400, pollIntervalMs: 200, shutdownDeadlineMs: 2_000 },
      // A handler's checkpoint write that meets a cut connection fails its attempt; under a loaded
      // machine the cuts can span several attempts, so the budget is larger than the cuts.
      retry: { baseMs: 50, maxMs: 500, maxRetries: 20 },
      checkpoints: { intervalMs: 0 },
      reconcileAfterMs: 1_000,
    });
    const runs = new Map<number, number>();
    baton.register('step', async (input, ctx) => {
      const n = (input as { n: number }).n;
      runs.set(n, (runs.get(n) ?? 0) + 1);
      await ctx.saveCheckpoint('half', { n }, { flush: true });
      await sleep(40);
      return { double: n * 2 };
    });
    try {
      const enqueued = await baton.enqueueMany(Array.from({ length: TASKS }, (_, n) => ({ type: 'step', input: { n } })));
      await baton.start();

      const count = async (state: string) =>
        Number((await admin.query(`SELECT count(*)::int AS n FROM "${schema}".tasks WHERE state = $1`, [state])).rows[0].n);
      const kill = async () =>
        (await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, [app])).rowCount ?? 0;

      // Cut every connection of the adapter five times while work is in flight.
      let cuts = 0;
      let killed = 0;
      for (let i = 0; i < 100 && cuts < 5; i++) {
        await sleep(150);
        if ((await count('completed')) >= TASKS) break;
        killed += await kill();
        cuts++;
      }
      // The cuts landed mid-run: several rounds, each killing connections, before the work was done.
      expect(cuts).toBeGreaterThanOrEqual(3);
      expect(killed).toBeGreaterThanOrEqual(cuts);

      for (let i = 0; i < 600 && (await count('completed')) < TASKS; i++) await sleep(100);
      // Which tasks did not finish, and how far they got, if any (a failure must say which).
      const unfinished = (await admin.query(`SELECT id, state, attempt, recoveries, error FROM "${schema}".tasks WHERE state <> 'completed' LIMIT 5`)).rows;
      expect(await count('completed'), JSON.stringify(unfinished)).toBe(TASKS);
      for (const { taskId } of enqueued) {
        const t = await backend.tasks.get(taskId);
        expect(t?.state).toBe('completed');
        expect(t?.result).toEqual({ double: ((t?.input as { n: number }).n) * 2 });
      }
      expect(runs.size).toBe(TASKS);

      // The LISTEN connection is back (its reconnects back off up to 5 s when cuts land mid-attempt):
      // an idle claim is woken by a NOTIFY from elsewhere.
      for (let i = 0; i < 300; i++) {
        const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`, [app]);
        if (rows[0].n > 0) break;
        await sleep(50);
      }
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`, [app]);
      expect(rows[0].n).toBe(1);

      await baton.stop();
      const completedEvents = await backend.events.query({ type: ['task.completed'], limit: 1000 });
      expect(new Set(completedEvents.map((e) => e.taskId)).size).toBe(TASKS);
    } finally {
      await baton.close();
    }
  }, 90_000);
});
