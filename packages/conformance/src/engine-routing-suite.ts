// Queues and routing through createBaton on this backend: workers claim only from the queues they
// serve, a type nobody here can run is handed back (never killed), priorities order the work,
// pause and fleet-wide limits hold across batons, and the circuit breaker is shared by the fleet.
import { describe, expect, it } from 'vitest';
import { PermanentError } from '@baton/core';
import { eventually, sleep, type Harness } from './harness.js';
import { WAIT, makeBaton } from './engine-suite.js';

export function engineRoutingSuite(h: Harness): void {
  describe('Engine: queues and routing', () => {
    it('a worker claims only from its queues; a queue nobody serves keeps its tasks waiting, not dead', async () => {
      const b = h.backend();
      const mailer = makeBaton(h, b).register('email', () => 'sent', { queue: 'mail' });
      const producer = makeBaton(h, b);
      const emails = await producer.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ type: 'email', input: { i }, queue: 'mail' })));
      const invoices = await producer.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ type: 'invoice', input: { i }, queue: 'billing' })));
      await mailer.start();
      for (const e of emails) expect((await mailer.waitFor(e.taskId, WAIT)).state).toBe('completed');
      await sleep(300);
      for (const inv of invoices) expect(await b.tasks.get(inv.taskId)).toMatchObject({ state: 'pending', queue: 'billing', attempt: 0 });
      expect((await producer.queryEvents({ type: 'task.started', limit: 1000 })).filter((e) => invoices.some((i) => i.taskId === e.taskId))).toEqual([]);
      const billing = (await producer.queues.list()).find((q) => q.name === 'billing');
      expect(billing?.depth.ready).toBe(5);

      const accountant = makeBaton(h, b).register('invoice', () => 'billed', { queue: 'billing' });
      await accountant.start();
      for (const inv of invoices) expect(await accountant.waitFor(inv.taskId, WAIT)).toMatchObject({ state: 'completed', result: 'billed' });
    });

    it('a type the worker cannot run, found in a queue it serves, is released for a worker that can — not killed', async () => {
      const b = h.backend();
      const old = makeBaton(h, b).register('email', () => 'sent');
      const producer = makeBaton(h, b);
      const { taskId } = await producer.enqueue('sms', { to: '+1' });
      await old.start();
      expect(await eventually(async () => (await producer.queryEvents({ taskId, type: 'task.released' })).length > 0, 10_000)).toBe(true);
      const released = await producer.queryEvents({ taskId, type: 'task.released' });
      expect(released[0]?.data.reason).toBe('unknown_type');
      expect((await b.tasks.get(taskId))?.state).toBe('pending');
      // The old worker is replaced, as in a rolling deploy (were it kept, it would keep winning
      // some claims and releasing them with a growing backoff).
      await old.stop();

      const upgraded = makeBaton(h, b).register('sms', () => 'texted');
      await upgraded.start();
      expect(await upgraded.waitFor(taskId, WAIT)).toMatchObject({ state: 'completed', result: 'texted', attempt: 0 });
    });

    it('runs higher priorities first within a queue, FIFO within one priority', async () => {
      const b = h.backend();
      const order: string[] = [];
      const baton = makeBaton(h, b, { worker: { concurrency: 1 } }).register('job', (input) => {
        order.push((input as { name: string }).name);
        return null;
      });
      const specs = [
        { name: 'low-1', priority: -5 },
        { name: 'normal-1', priority: 0 },
        { name: 'high-1', priority: 10 },
        { name: 'normal-2', priority: 0 },
        { name: 'high-2', priority: 10 },
      ];
      const ids = await baton.enqueueMany(specs.map((s) => ({ type: 'job', input: { name: s.name }, priority: s.priority })));
      await baton.start();
      for (const r of ids) await baton.waitFor(r.taskId, WAIT);
      expect(order).toEqual(['high-1', 'high-2', 'normal-1', 'normal-2', 'low-1']);
    });

    it('a paused queue runs nothing until resumed, in every worker; other queues keep flowing', async () => {
      const b = h.backend();
      const ran: string[] = [];
      const worker = makeBaton(h, b)
        .register('pdf', (input) => {
          ran.push(`pdf-${(input as { i: number }).i}`);
          return null;
        }, { queue: 'pdf' })
        .register('mail', () => null, { queue: 'mail' });
      const operator = makeBaton(h, b);
      await operator.queues.pause('pdf');
      const pdfs = await worker.enqueueMany([0, 1, 2].map((i) => ({ type: 'pdf', input: { i } })));
      const mail = await worker.enqueue('mail', {});
      await worker.start();
      expect((await worker.waitFor(mail.taskId, WAIT)).state).toBe('completed');
      await sleep(300);
      expect(ran).toEqual([]);
      expect((await operator.queues.list()).find((q) => q.name === 'pdf')).toMatchObject({ paused: true, depth: { ready: 3 } });
      await operator.queues.resume('pdf');
      for (const p of pdfs) expect((await worker.waitFor(p.taskId, WAIT)).state).toBe('completed');
      expect(ran).toHaveLength(3);
    });

    it('a queue concurrency limit holds across every baton of the fleet', async () => {
      const b = h.backend();
      let running = 0;
      let most = 0;
      const handler = async () => {
        running++;
        most = Math.max(most, running);
        await sleep(40);
        running--;
        return null;
      };
      const limits = { queues: { render: { concurrency: 2 } } };
      const one = makeBaton(h, b, { ...limits, worker: { concurrency: 4 } }).register('render', handler, { queue: 'render' });
      const two = makeBaton(h, b, { ...limits, worker: { concurrency: 4 } }).register('render', handler, { queue: 'render' });
      const ids = await one.enqueueMany(Array.from({ length: 16 }, (_, i) => ({ type: 'render', input: { i } })));
      await Promise.all([one.start(), two.start()]);
      for (const r of ids) expect((await one.waitFor(r.taskId, WAIT)).state).toBe('completed');
      expect(most).toBeLessThanOrEqual(2);
      expect(most).toBeGreaterThan(0);
    });

    it('groupConcurrency caps the running tasks of one group while other groups run', async () => {
      const b = h.backend();
      const running = new Map<string, number>();
      let mostOfA = 0;
      const baton = makeBaton(h, b, { queues: { api: { groupConcurrency: 1 } }, worker: { concurrency: 4 } }).register(
        'call',
        async (input) => {
          const g = (input as { g: string }).g;
          running.set(g, (running.get(g) ?? 0) + 1);
          if (g === 'tenant-a') mostOfA = Math.max(mostOfA, running.get(g)!);
          await sleep(30);
          running.set(g, running.get(g)! - 1);
          return null;
        },
        { queue: 'api' },
      );
      const ids = await baton.enqueueMany([
        ...Array.from({ length: 6 }, (_, i) => ({ type: 'call', input: { g: 'tenant-a', i }, group: 'tenant-a' })),
        ...Array.from({ length: 6 }, (_, i) => ({ type: 'call', input: { g: 'tenant-b', i }, group: 'tenant-b' })),
      ]);
      await baton.start();
      for (const r of ids) expect((await baton.waitFor(r.taskId, WAIT)).state).toBe('completed');
      expect(mostOfA).toBe(1);
    });

    it('reportProgress stores the newest value on the task and emits task.progress', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b).register('long', async (_input, ctx) => {
        await ctx.reportProgress({ done: 1, total: 3 });
        await sleep(1_100);
        await ctx.reportProgress({ done: 3, total: 3 });
        await sleep(1_100);
        return null;
      });
      const { taskId } = await baton.enqueue('long', {});
      await baton.start();
      const rec = await baton.waitFor(taskId, WAIT);
      expect(rec.progress).toEqual({ done: 3, total: 3 });
      const progress = await baton.queryEvents({ taskId, type: 'task.progress' });
      expect(progress.map((e) => e.data.progress)).toEqual([{ done: 1, total: 3 }, { done: 3, total: 3 }]);
      await expect((async () => {
        // Its own queue: the first baton (which has no handler for it) must not claim it.
        const other = makeBaton(h, b).register('bad-progress', (_input, ctx) => ctx.reportProgress(2), { queue: 'progress-checks' });
        const t = await other.enqueue('bad-progress', {});
        await other.start();
        return other.waitFor(t.taskId, WAIT);
      })()).resolves.toMatchObject({ state: 'dead', error: { code: 'VALIDATION' } });
    });
  });

  describe('Engine: fleet-wide circuit breaker', () => {
    it('a burst of tasks that each fail once completes at the pace of its retries', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b, { worker: { concurrency: 4 }, breaker: { minimumVolume: 5, cooldownMs: 1_000 } }).register('once', (_input, ctx) => {
        if (ctx.attempt === 0) throw new Error('first run fails');
        return 'ok';
      });
      const ids = await baton.enqueueMany(Array.from({ length: 20 }, (_, i) => ({ type: 'once', input: { i } })));
      await baton.start();
      for (const r of ids) expect(await baton.waitFor(r.taskId, WAIT)).toMatchObject({ state: 'completed', attempt: 1 });
    });

    it('a dependency that keeps failing opens the breaker for the whole fleet; permanent errors never do', async () => {
      const b = h.backend();
      const opts = { breaker: { minimumVolume: 4, cooldownMs: 30_000 }, retry: { baseMs: 20, maxMs: 50, maxRetries: 1 } };
      const failing = makeBaton(h, b, opts)
        .register('down', () => {
          throw new Error('ECONNREFUSED');
        })
        .register('invalid', () => {
          throw new PermanentError('bad input');
        });
      const other = makeBaton(h, b, opts).register('down', () => 'never');
      const bad = await failing.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ type: 'invalid', input: { i } })));
      await failing.start();
      for (const r of bad) expect((await failing.waitFor(r.taskId, WAIT)).state).toBe('dead');
      expect((await failing.queryEvents({ type: 'breaker.opened' })).length).toBe(0);

      const down = await failing.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ type: 'down', input: { i } })));
      expect(await eventually(async () => (await failing.queryEvents({ type: 'breaker.opened' })).length > 0, 15_000)).toBe(true);
      // The second baton never ran a 'down' task, yet it sees the breaker the fleet opened.
      await other.start();
      expect(await eventually(async () => {
        const s = await other.stats();
        return s.breakers.down === 'open' || s.breakers.down === 'half_open';
      }, 10_000)).toBe(true);
      const opened = await failing.queryEvents({ type: 'breaker.opened' });
      expect(opened[0]?.data.taskType).toBe('down');
      expect(down.length).toBe(6);
    });
  });
}
