// Durable timers: retries survive a restart, a custom timer fires once across processes, a phase
// timebox cancels what is unfinished, and the scheduler enqueues phases idempotently.
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError, type TimerRecord } from '@baton/core';
import { FakeClock, memoryBackend } from '@baton/memory';
import { closeAll, harness } from './helpers.js';

afterEach(closeAll);

describe('timers', () => {
  it('survive a restart: a new engine over the same store fires the overdue retry', async () => {
    const clock = new FakeClock();
    const memory = memoryBackend({ clock });
    const a = harness({ retry: { baseMs: 5_000 } }, { clock, memory });
    let runs = 0;
    a.baton.register('once-flaky', async () => {
      runs++;
      if (runs === 1) throw new Error('first run fails');
      return 'ok';
    });
    await a.baton.start();
    const { taskId } = await a.baton.enqueue('once-flaky', {});
    await a.until(async () => (await a.task(taskId)).state === 'scheduled', 'retry scheduled');
    await a.baton.stop({ deadlineMs: 0 });
    await clock.advance(60_000); // nobody is running: the timer is overdue
    expect((await a.task(taskId)).state).toBe('scheduled');
    const b = harness({}, { clock, memory });
    b.baton.register('once-flaky', async () => {
      runs++;
      return 'ok';
    });
    await b.baton.start();
    await b.until(async () => (await b.task(taskId)).state === 'completed', 'completion after restart');
    expect(runs).toBe(2);
  });

  it('fires a custom timer once across three timer services sharing a store', async () => {
    const clock = new FakeClock();
    const memory = memoryBackend({ clock });
    const fired: TimerRecord[] = [];
    const services = [0, 1, 2].map(() => harness({}, { clock, memory }));
    for (const s of services) s.baton.timers.on('report', async (t) => void fired.push(t));
    await Promise.all(services.map((s) => s.baton.start({ worker: false, supervisor: false })));
    await services[0]!.baton.timers.schedule('report', 1_000, { x: 1 });
    await clock.advance(6_000);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ kind: 'custom', name: 'report', payload: { x: 1 } });
  });

  it('a keyed custom timer is scheduled once, and can be cancelled', async () => {
    const h = harness();
    const fired: string[] = [];
    h.baton.timers.on('ping', async (t) => void fired.push(t.key ?? ''));
    await h.baton.start({ worker: false });
    await h.baton.timers.schedule('ping', 1_000, null, { key: 'k1' });
    await h.baton.timers.schedule('ping', 1_000, null, { key: 'k1' });
    await h.baton.timers.schedule('ping', 1_000, null, { key: 'k2' });
    expect(await h.baton.timers.cancel({ keys: ['k2'] })).toBe(1);
    await h.clock.advance(6_000);
    expect(fired).toEqual(['k1']);
  });

  it('refuses a delay beyond 365 days or a bad name, storing nothing', async () => {
    const h = harness();
    for (const delay of [366 * 24 * 3_600_000, -1, NaN, Infinity]) await expect(h.baton.timers.schedule('t', delay)).rejects.toBeInstanceOf(ValidationError);
    await expect(Promise.resolve().then(() => h.baton.timers.schedule('a\u0000b', 10))).rejects.toBeInstanceOf(ValidationError);
    expect(await h.memory.timers.list({ limit: 10 })).toEqual([]);
  });

  it('refuses a payload that is not plain JSON, storing nothing', async () => {
    const h = harness();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const payload of [{ n: 10n }, { f: () => 1 }, { n: NaN }, cyclic]) {
      await expect(h.baton.timers.schedule('t', 1_000, payload as never)).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await h.memory.timers.list({ limit: 10 })).toEqual([]);
  });

  it('a phase timebox cancels unfinished tasks and aborts running ones', async () => {
    const h = harness({ worker: { concurrency: 1 } });
    const reasons: unknown[] = [];
    h.baton.register('long', (_i, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject((reasons.push(ctx.signal.reason), ctx.signal.reason)))));
    await h.baton.start();
    const result = await h.baton.scheduler.schedule(
      { phaseId: 'p1', tasks: [{ type: 'long', input: 1 }, { type: 'long', input: 2 }], timeboxMs: 10_000 },
      { runId: 'r1' },
    );
    await h.until(async () => (await h.memory.tasks.list({ states: ['running'], limit: 10 })).tasks.length === 1, 'one running');
    await h.clock.advance(11_000);
    await h.until(async () => (await h.memory.tasks.list({ phaseId: 'p1', states: ['cancelled'], limit: 10 })).tasks.length === 2, 'phase cancelled');
    expect(reasons).toHaveLength(1);
    expect(String(reasons[0])).toContain('timebox');
    expect(result.taskIds).toHaveLength(2);
    for (const id of result.taskIds) expect((await h.task(id)).error?.code).toBe('TIMEOUT');
    const timedOut = await h.baton.queryEvents({ type: 'phase.timed_out' });
    expect(timedOut.map((e) => e.data)).toEqual([{ cancelled: 2 }]);
  });
});

describe('scheduler', () => {
  it('splits a phase budget evenly with integer remainders and schedules idempotently', async () => {
    const h = harness();
    const plan = {
      phaseId: 'research',
      tasks: [0, 1, 2].map((i) => ({ type: 'agent', input: { i } })),
      budget: { costUsd: 1, tokens: 10, timeMs: 1_000 },
    };
    const first = await h.baton.scheduler.schedule(plan, { runId: 'run-1' });
    expect(first).toMatchObject({ totalTasks: 3, enqueuedTasks: 3, duplicates: 0 });
    expect((await Promise.all(first.taskIds.map((id) => h.task(id)))).map((t) => t.budget)).toEqual([
      { costUsd: 0.333334, tokens: 4, timeMs: 334 },
      { costUsd: 0.333333, tokens: 3, timeMs: 333 },
      { costUsd: 0.333333, tokens: 3, timeMs: 333 },
    ]);
    const again = await h.baton.scheduler.schedule(plan, { runId: 'run-1' });
    expect(again).toMatchObject({ totalTasks: 3, enqueuedTasks: 0, duplicates: 3, taskIds: first.taskIds });
    const stats = await h.baton.stats();
    expect(stats.tasks.byPhase.research?.pending).toBe(3);
    expect(await h.baton.scheduler.cancelPhase('research')).toHaveLength(3);
  });
});
