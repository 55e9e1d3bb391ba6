// The worker pool: claiming and running tasks, handlers' ctx, routing by queue and type (unknown
// types are released, not dead), autoscaling, and the blocked-event-loop report.
import { afterEach, describe, expect, it } from 'vitest';
import { createBaton, silentLogger, type Baton, type NewEvent } from '@baton/core';
import { memoryBackend } from '@baton/memory';
import { closeAll, harness, types } from './helpers.js';

afterEach(closeAll);

describe('running tasks', () => {
  it('runs a task to completed with its result, and records duration', async () => {
    const h = harness();
    h.baton.register('add', async (input: { a: number; b: number }) => ({ sum: input.a + input.b }));
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('add', { a: 2, b: 3 });
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion');
    const t = await h.task(taskId);
    expect(t).toMatchObject({ result: { sum: 5 }, attempt: 0, recoveries: 0, error: null, leaseId: null, workerId: null });
    expect(t.durationMs).not.toBeNull();
    expect(types(await h.stored(taskId))).toEqual(['task.enqueued', 'task.started', 'task.completed']);
  });

  it('gives each baton of one process its own default worker id (host:pid:random), however close together they start', async () => {
    const batons = Array.from({ length: 50 }, () => createBaton({ backend: memoryBackend(), logger: silentLogger }));
    try {
      const ids = batons.map((b) => b.workerId);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) expect(id).toMatch(new RegExp(`:${process.pid}:[0-9a-f]{8}$`));
    } finally {
      await Promise.all(batons.map((b) => b.close()));
    }
  });

  it('hands the handler a ctx whose methods survive destructuring', async () => {
    const h = harness();
    h.baton.register('destructure', async (_input, { saveCheckpoint, reportUsage, reportProgress, heartbeat, taskId, signal }) => {
      await saveCheckpoint('one', { ok: true }, { flush: true });
      await reportUsage({ tokens: 5 });
      await reportProgress(0.5);
      await heartbeat();
      return { taskId, aborted: signal.aborted };
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('destructure', {});
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion');
    const t = await h.task(taskId);
    expect(t.result).toEqual({ taskId, aborted: false });
    expect(t.usage.tokens).toBe(5);
    expect(t.progress).toBe(0.5);
  });

  it('releases a task of a type this worker does not know, with a growing delay, then buries it after worker.unknownTypeReleases', async () => {
    // The worker serves queue "default" (through "known"), but has no handler for "deployed-later".
    const h = harness({ worker: { unknownTypeReleases: 3 } });
    h.baton.register('known', () => 'ok');
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('deployed-later', {});
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'dead', 100, 1_000);
    const events = await h.stored(taskId);
    const released = events.filter((e) => e.type === 'task.released');
    expect(released.map((e) => e.data)).toEqual([
      { reason: 'unknown_type', delayMs: 1_000 },
      { reason: 'unknown_type', delayMs: 2_000 },
      { reason: 'unknown_type', delayMs: 4_000 },
    ]);
    const t = await h.task(taskId);
    expect(t.error?.code).toBe('UNKNOWN_TASK_TYPE');
    expect(t.error?.message).toContain('deployed-later');
    expect(t.attempt).toBe(0);
    expect(types(events).slice(-2)).toEqual(['task.failed', 'task.dead']);
    // The type is logged once per process, with the task that revealed it.
    const warned = h.logs.filter((l) => l.level === 'warn' && l.fields.taskType === 'deployed-later');
    expect(warned).toHaveLength(1);
    expect(warned[0]!.fields).toMatchObject({ taskId, queue: 'default' });
  });

  it('a released unknown-type task runs once a worker that knows the type claims it', async () => {
    const first = harness();
    first.baton.register('known', () => 'ok');
    await first.baton.start();
    const { taskId } = await first.baton.enqueue('deployed-later', { n: 1 });
    await first.until(async () => (await first.stored(taskId)).some((e) => e.type === 'task.released'), 'first release');
    await first.baton.stop();
    const second = harness({}, { clock: first.clock, memory: first.memory });
    second.baton.register('deployed-later', (input) => input);
    await second.baton.start();
    await second.until(async () => (await second.task(taskId)).state === 'completed', 'completion on the new deploy', 100, 200);
    expect((await second.task(taskId)).result).toEqual({ n: 1 });
  });

  it('a task whose queue no running worker serves waits there, never dead', async () => {
    const h = harness();
    h.baton.register('pdf', () => 'rendered', { queue: 'pdf' });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('mail', {}, { queue: 'mail' });
    await h.clock.advance(60_000);
    expect(await h.task(taskId)).toMatchObject({ state: 'pending', attempt: 0 });
    expect(h.baton.pool.stats().queues).toEqual(['pdf']);
  });
});

describe('worker pool', () => {
  it('autoscales up when ready > slots×5 and down when ready < slots×2, within min/max', async () => {
    // The tasks wait in a paused queue, so they stay ready until the test removes them.
    const h = harness({ worker: { concurrency: 2, queues: ['work'], autoScale: { min: 1, max: 6, intervalMs: 1_000 } } });
    const sizes: number[] = [];
    h.baton.on('pool.scaled', (e) => sizes.push(e.data.to as number));
    await h.baton.queues.pause('work');
    const ids = (await h.baton.enqueueMany(Array.from({ length: 40 }, (_, i) => ({ type: 'idle', input: { i }, queue: 'work' })))).map((r) => r.taskId);
    await h.baton.start();
    await h.clock.advance(1_000);
    expect(h.baton.pool.stats().slots).toBe(6); // 40 ready > 2×5 → ceil(40/5) = 8, capped at 6
    await h.memory.queue.remove(ids);
    await h.clock.advance(1_000);
    expect(h.baton.pool.stats().slots).toBe(5);
    await h.clock.advance(1_000);
    expect(h.baton.pool.stats().slots).toBe(4);
    expect(sizes).toEqual([6, 5, 4]);
  });

  it('adds and removes slots at run time', async () => {
    const h = harness({ worker: { concurrency: 2 } });
    const scaled: NewEvent[] = [];
    h.baton.on('pool.scaled', (e) => scaled.push(e));
    h.baton.pool.addWorkers(3);
    h.baton.pool.removeWorkers(10);
    expect(h.baton.pool.stats().slots).toBe(1);
    expect(scaled.map((e) => e.data)).toEqual([
      { from: 2, to: 5, reason: 'manual' },
      { from: 5, to: 1, reason: 'manual' },
    ]);
  });

  it('reports a blocked event loop instead of silently losing leases', async () => {
    // Real clock: a CPU-bound handler really blocks the loop.
    const baton: Baton = createBaton({ backend: memoryBackend(), logger: silentLogger, worker: { eventLoopBlockedMs: 100, pollIntervalMs: 20 } });
    try {
      const blocked: NewEvent[] = [];
      baton.on('worker.event_loop_blocked', (e) => blocked.push(e));
      baton.register('cpu', async () => {
        const until = Date.now() + 400;
        while (Date.now() < until) {
          // hog the CPU without yielding
        }
        return 'done';
      });
      await baton.start();
      const { taskId } = await baton.enqueue('cpu', {});
      expect((await baton.waitFor(taskId, { timeoutMs: 20_000 })).state).toBe('completed');
      for (let i = 0; i < 100 && blocked.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(blocked.length).toBeGreaterThan(0);
      // What it reports is the lag that crossed the threshold.
      expect(blocked[0]!.data.delayMs).toBeGreaterThan(100);
    } finally {
      await baton.close({ deadlineMs: 0 });
    }
  });

  it('a worker that serves no queue claims nothing and says so', async () => {
    const h = harness();
    await h.baton.start();
    await h.clock.advance(100);
    expect(h.logs.filter((l) => l.level === 'warn' && /serves no queue/.test(l.msg ?? ''))).toHaveLength(1);
  });
});
