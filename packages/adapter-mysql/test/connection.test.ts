// Unreachable servers and cut connections: a bad URL fails fast with a typed error, and workers
// whose connections are killed mid-run (KILL CONNECTION, repeatedly) reconnect through the pool
// and finish every task.
import { afterAll, describe, expect, it } from 'vitest';
import { BackendUnavailableError, ConfigError, createBaton, silentLogger } from '@baton/core';
import { mysqlBackend } from '@baton/mysql';
import { MYSQL_URL, adminPool, dropPrefix, newPool, randomPrefix, reachable, skipReason, sleep } from './helpers.js';

const ctx = { logger: silentLogger };

describe('unreachable server', () => {
  it('a closed port fails ready() and every call with BackendUnavailableError within 5 s', async () => {
    const b = mysqlBackend('mysql://root@127.0.0.1:1/test', { prefix: randomPrefix('down') });
    const started = Date.now();
    await expect(b.ready(ctx)).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(b.tasks.get('x')).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(b.queue.claim({ queues: ['default'], limit: 1, leaseMs: 1_000, waitMs: 0 })).rejects.toThrow(/queue\.claim|backend\.ready/);
    expect(Date.now() - started).toBeLessThan(5_000);
    await b.close();
  });

  it('an unknown host fails with BackendUnavailableError within 5 s', async () => {
    const b = mysqlBackend('mysql://root@no-such-host.invalid:3306/test', { prefix: randomPrefix('down') });
    const started = Date.now();
    await expect(b.ready(ctx)).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(Date.now() - started).toBeLessThan(5_000);
    await b.close();
  });
});

describe.skipIf(!reachable)(`server-side refusals and connection loss ${skipReason}`, () => {
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await dropPrefix(p);
    await adminPool().end();
  });

  it('an unknown database is a ConfigError naming the operation, not a retryable outage', async () => {
    const url = new URL(MYSQL_URL);
    url.pathname = '/no_such_database_for_baton';
    const b = mysqlBackend(url.toString(), { prefix: randomPrefix('nodb') });
    await expect(b.ready(ctx)).rejects.toBeInstanceOf(ConfigError);
    await expect(b.ready(ctx)).rejects.toThrow(/backend\.ready/);
    await b.close();
  });

  it('after close every call fails with BackendUnavailableError', async () => {
    const prefix = randomPrefix('closed');
    prefixes.push(prefix);
    const b = mysqlBackend(MYSQL_URL, { prefix, poolSize: 2 });
    await b.ready(ctx);
    await b.close();
    await expect(b.queue.depth()).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('workers reconnect after their connections are killed mid-run; no task is lost', async () => {
    const prefix = randomPrefix('cut');
    prefixes.push(prefix);
    const pool = newPool(6);
    const threads = new Set<number>();
    pool.on('connection', (conn: unknown) => threads.add((conn as { threadId: number }).threadId));
    const backend = mysqlBackend(pool, { prefix });
    const baton = createBaton({
      backend,
      logger: silentLogger,
      worker: { concurrency: 6, stallTimeoutMs: 2_000, heartbeatIntervalMs: 400, pollIntervalMs: 100, shutdownDeadlineMs: 2_000 },
      retry: { baseMs: 50, maxMs: 200, maxRetries: 8 },
      checkpoints: { intervalMs: 0 },
      reconcileAfterMs: 1_000,
    });
    const TASKS = 120;
    baton.register('step', async (input, ctx) => {
      await ctx.saveCheckpoint('half', { n: (input as { n: number }).n }, { flush: true });
      await sleep(20);
      return { double: (input as { n: number }).n * 2 };
    });
    try {
      const enqueued = await baton.enqueueMany(Array.from({ length: TASKS }, (_, n) => ({ type: 'step', input: { n } })));
      await baton.start();
      const completed = async () => {
        const [rows] = await adminPool().query(`SELECT COUNT(*) AS n FROM \`${prefix}tasks\` WHERE state = 'completed'`);
        return Number((rows as { n: number }[])[0]!.n);
      };
      let killed = 0;
      for (let round = 0; round < 4 && (await completed()) < TASKS; round++) {
        await sleep(150);
        for (const id of [...threads]) {
          threads.delete(id);
          await adminPool().query('KILL CONNECTION ?', [id]).then(() => killed++, () => undefined);
        }
      }
      expect(killed).toBeGreaterThan(0);
      for (let i = 0; i < 600 && (await completed()) < TASKS; i++) await sleep(100);
      expect(await completed()).toBe(TASKS);
      for (const { taskId } of enqueued) {
        const t = await backend.tasks.get(taskId);
        expect(t).toMatchObject({ state: 'completed', result: { double: (t?.input as { n: number }).n * 2 } });
      }
    } finally {
      await baton.close();
      await pool.end();
    }
  }, 90_000);
});
