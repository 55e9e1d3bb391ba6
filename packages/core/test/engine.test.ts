import { afterEach, describe, expect, it } from 'vitest';
import {
  BaseAgent,
  BudgetExceededError,
  ConfigError,
  PayloadTooLargeError,
  PermanentError,
  ValidationError,
  createBaton,
  generateKey,
  type Baton,
  type NewEvent,
} from '@baton/core';
import { FakeClock, memoryBackend } from '@baton/memory';
import { harness, type Harness } from './helpers.js';

let open: Baton[] = [];
function track(h: Harness): Harness {
  open.push(h.baton);
  return h;
}
afterEach(async () => {
  for (const b of open) await b.close({ deadlineMs: 0 }).catch(() => undefined);
  open = [];
});

describe('enqueue', () => {
  it('skips a duplicate enqueue: same type and input (any key order) give one task', async () => {
    const h = track(harness());
    const a = await h.baton.enqueue('intake', { idea: 'test', n: 1 });
    const b = await h.baton.enqueue('intake', { n: 1, idea: 'test' });
    expect(a.duplicate).toBe(false);
    expect(b).toEqual({ taskId: a.taskId, duplicate: true, key: a.key });
    expect(a.key).toBe(generateKey('intake', { idea: 'test', n: 1 }, 'v1'));
    expect((await h.backend.queue.depth()).ready).toBe(1);
  });

  it('refuses cyclic, BigInt, function and oversized payloads with typed errors and stores nothing', async () => {
    const h = track(harness({ maxPayloadBytes: 1024 }));
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    await expect(h.baton.enqueue('t', cyclic)).rejects.toBeInstanceOf(ValidationError);
    await expect(h.baton.enqueue('t', { n: 10n } as never)).rejects.toThrow(/BigInt/);
    await expect(h.baton.enqueue('t', { f: () => 1 } as never)).rejects.toThrow(/function/);
    const big = h.baton.enqueue('t', { s: 'x'.repeat(2048) });
    await expect(big).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(big).rejects.toThrow(/maxPayloadBytes/);
    await expect(h.baton.enqueue('', {})).rejects.toBeInstanceOf(ValidationError);
    // One bad spec in a batch: nothing of the batch is written.
    await expect(h.baton.enqueueMany([{ type: 'ok', input: 1 }, { type: 'bad', input: cyclic as never }])).rejects.toBeInstanceOf(ValidationError);
    expect(await h.backend.tasks.list({})).toEqual([]);
    expect((await h.backend.queue.depth()).ready).toBe(0);
  });

  it('refuses a transaction on a backend that cannot enqueue inside one', async () => {
    const h = track(harness());
    await expect(h.baton.enqueue('t', {}, { transaction: {} })).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('running tasks', () => {
  it('runs a task to completed with its result, and records duration', async () => {
    const h = track(harness());
    h.baton.register('add', async (input: { a: number; b: number }) => ({ sum: input.a + input.b }));
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('add', { a: 2, b: 3 });
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion');
    const t = await h.task(taskId);
    expect(t.result).toEqual({ sum: 5 });
    expect(t.durationMs).not.toBeNull();
  });

  it('sends an unknown task type to dead with a reason naming the type', async () => {
    const h = track(harness());
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('nobody-handles-this', {});
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'dead');
    const t = await h.task(taskId);
    expect(t.error?.code).toBe('UNKNOWN_TASK_TYPE');
    expect(t.error?.message).toContain('nobody-handles-this');
  });

  it('retries after 1 s, 2 s and 4 s, then stops at maxRetries', async () => {
    const h = track(harness({ retry: { baseMs: 1_000, maxMs: 300_000, maxRetries: 3 } }));
    const runs: number[] = [];
    h.baton.register('flaky', async () => {
      runs.push(h.clock.now());
      throw new Error('upstream 503');
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('flaky', {});
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'dead after retries', 50, 4_000);
    expect(runs).toHaveLength(4);
    const gaps = runs.slice(1).map((t, i) => t - runs[i]!);
    // Each gap is the backoff plus at most a few 50 ms steps of fake time.
    expect(gaps[0]).toBeGreaterThanOrEqual(1_000);
    expect(gaps[0]).toBeLessThan(1_500);
    expect(gaps[1]).toBeGreaterThanOrEqual(2_000);
    expect(gaps[1]).toBeLessThan(2_500);
    expect(gaps[2]).toBeGreaterThanOrEqual(4_000);
    expect(gaps[2]).toBeLessThan(4_500);
    const t = await h.task(taskId);
    expect(t.attempt).toBe(3);
    expect(t.error?.message).toBe('upstream 503');
  });

  it('sends a permanent error to dead at once, without a retry', async () => {
    const h = track(harness());
    let runs = 0;
    h.baton.register('validate', async () => {
      runs++;
      throw new PermanentError('input is invalid');
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('validate', {});
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'dead');
    await h.clock.advance(10_000);
    expect(runs).toBe(1);
    expect((await h.task(taskId)).error?.code).toBe('PERMANENT');
    expect(await h.backend.timers.list({ taskId })).toEqual([]);
  });

  it('honours a classifier that calls an error permanent', async () => {
    const h = track(harness({ retry: { classify: (err) => (String(err).includes('401') ? 'permanent' : undefined) } }));
    let runs = 0;
    h.baton.register('auth', async () => {
      runs++;
      throw new Error('HTTP 401');
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('auth', {});
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'dead');
    expect(runs).toBe(1);
  });

  it('fails a task permanently with BudgetExceededError when reported usage passes its budget', async () => {
    const h = track(harness());
    let caught: unknown;
    h.baton.register('llm', async (_input, ctx) => {
      await ctx.reportUsage({ costUsd: 0.5, tokens: 100 });
      try {
        await ctx.reportUsage({ costUsd: 0.6 });
      } catch (err) {
        caught = err;
        throw err;
      }
      return 'unreachable';
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('llm', {}, { budget: { costUsd: 1 } });
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'dead');
    expect(caught).toBeInstanceOf(BudgetExceededError);
    const t = await h.task(taskId);
    expect(t.error?.code).toBe('BUDGET_EXCEEDED');
    expect(t.usage.costUsd).toBeCloseTo(1.1);
    expect(t.usage.tokens).toBe(100);
  });

  it('hands the handler a ctx whose methods survive destructuring', async () => {
    const h = track(harness());
    h.baton.register('destructure', async (_input, { saveCheckpoint, reportUsage, heartbeat, taskId, signal }) => {
      await saveCheckpoint('one', { ok: true }, { flush: true });
      await reportUsage({ tokens: 5 });
      await heartbeat();
      return { taskId, aborted: signal.aborted };
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('destructure', {});
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion');
    const t = await h.task(taskId);
    expect(t.result).toEqual({ taskId, aborted: false });
    expect(t.usage.tokens).toBe(5);
  });

  it('aborts a task that runs past its time budget', async () => {
    const h = track(harness());
    let reason: unknown;
    h.baton.register('slow', (_i, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject((reason = ctx.signal.reason)))));
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('slow', {}, { budget: { timeMs: 500 } });
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'dead');
    expect(reason).toBeInstanceOf(BudgetExceededError);
  });
});

describe('crash and resume', () => {
  it('resumes on another worker from checkpoint 2 without redoing steps 1 and 2', async () => {
    const clock = new FakeClock();
    const backend = memoryBackend({ clock });
    const worker = { stallTimeoutMs: 10_000, heartbeatIntervalMs: 2_000 };
    const steps: string[] = [];
    const pipeline = (crash: boolean) => async (_input: unknown, ctx: import('@baton/core').TaskContext) => {
      let state = (ctx.checkpoint?.data as { done: string[] } | undefined) ?? { done: [] };
      for (const step of ['fetch', 'analyse', 'report']) {
        if (state.done.includes(step)) continue;
        if (crash && step === 'report') return new Promise(() => undefined); // the process "dies" here
        steps.push(step);
        state = { done: [...state.done, step] };
        await ctx.saveCheckpoint(`${step}-complete`, state, { flush: true });
      }
      return state;
    };
    const first = track(harness({ worker }, { clock, backend }));
    first.baton.register('pipeline', pipeline(true));
    await first.baton.start();
    const { taskId } = await first.baton.enqueue('pipeline', {});
    await first.until(() => steps.length === 2, 'two steps');
    // Crash: the first worker stops claiming and heartbeating, without releasing its lease.
    (first.baton.pool as unknown as { running: boolean }).running = false;
    await first.baton.timers.stop();
    await first.baton.supervisor.stop();

    const second = track(harness({ worker }, { clock, backend }));
    second.baton.register('pipeline', pipeline(false));
    const recovered: NewEvent[] = [];
    second.baton.on('task.recovered', (e) => recovered.push(e));
    await second.baton.start();
    await second.until(async () => (await second.task(taskId)).state === 'completed', 'completion on the second worker', 100, 1_000);
    expect(steps).toEqual(['fetch', 'analyse', 'report']);
    const t = await second.task(taskId);
    expect(t.recoveries).toBe(1);
    expect(t.attempt).toBe(0);
    expect(t.result).toEqual({ done: ['fetch', 'analyse', 'report'] });
    expect(recovered.map((e) => e.taskId)).toEqual([taskId]);
    expect(await backend.checkpoints.load(taskId)).toBeNull();
  });

  it('supports the seed BaseAgent API: getCheckpointToken / getCheckpointData / saveCheckpoint', async () => {
    const h = track(harness());
    const seen: (string | null)[] = [];
    class Agent extends BaseAgent<{ x: number }, { y: number }, { half: number }> {
      async execute(input: { x: number }) {
        seen.push(this.getCheckpointToken(input));
        if (this.getCheckpointToken(input) === 'half-done') return { y: this.getCheckpointData(input)!.half * 2 };
        await this.saveCheckpoint('half-done', { half: input.x / 2 }, { flush: true });
        throw new Error('transient');
      }
    }
    h.baton.register('agent', Agent);
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('agent', { x: 10 });
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion', 100);
    expect(seen).toEqual([null, 'half-done']);
    expect((await h.task(taskId)).result).toEqual({ y: 10 });
  });

  it('coalesces checkpoint writes to one per interval, newest state winning, and flushes on failure', async () => {
    const h = track(harness({ checkpoints: { intervalMs: 60_000 }, retry: { baseMs: 100 } }));
    let saves = 0;
    const orig = h.backend.checkpoints.save.bind(h.backend.checkpoints);
    h.backend.checkpoints.save = (...args) => {
      saves++;
      return orig(...args);
    };
    let resumedFrom: unknown = null;
    h.baton.register('steps', async (_i, ctx) => {
      if (ctx.checkpoint) {
        resumedFrom = ctx.checkpoint;
        return 'ok';
      }
      for (let i = 1; i <= 5; i++) await ctx.saveCheckpoint(`step-${i}`, { i });
      throw new Error('boom');
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('steps', {});
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion', 50);
    expect(saves).toBe(2); // step-1 at once, step-5 flushed when the run failed
    expect(resumedFrom).toEqual({ token: 'step-5', data: { i: 5 } });
  });

  it('gzips large checkpoints and reports stats', async () => {
    const h = track(harness());
    h.baton.register('big', async (_i, ctx) => {
      await ctx.saveCheckpoint('big', { blob: 'abc'.repeat(10_000) }, { flush: true });
      return new Promise(() => undefined);
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('big', {});
    await h.until(async () => (await h.backend.checkpoints.load(taskId)) !== null, 'checkpoint');
    const stored = (await h.backend.checkpoints.load(taskId))!;
    expect(stored.encoding).toBe('gzip');
    expect(stored.body.byteLength).toBeLessThan(stored.sizeBytes);
    expect(await h.baton.checkpoints.load(taskId)).toEqual({ token: 'big', data: { blob: 'abc'.repeat(10_000) } });
    const stats = (await h.baton.stats()).checkpoints;
    expect(stats.count).toBe(1);
    expect(stats.totalBytes).toBe(stored.body.byteLength);
  });
});

describe('circuit breaker', () => {
  it('opens after 5 consecutive failures, holds the type for the cooldown, then half-opens for one trial', async () => {
    const h = track(harness({ breaker: { failureThreshold: 5, cooldownMs: 30_000 }, retry: { maxRetries: 0 }, worker: { concurrency: 1 } }));
    let fail = true;
    const runs: number[] = [];
    h.baton.register('api', async () => {
      runs.push(h.clock.now());
      if (fail) throw new Error('down');
      return 'up';
    });
    const transitions: string[] = [];
    for (const t of ['breaker.opened', 'breaker.half_open', 'breaker.closed'] as const) h.baton.on(t, (e) => transitions.push(e.type));
    await h.baton.start();
    for (let i = 0; i < 5; i++) await h.baton.enqueue('api', { i });
    await h.until(() => runs.length === 5, 'five failures');
    expect(transitions).toEqual(['breaker.opened']);
    fail = false;
    const { taskId } = await h.baton.enqueue('api', { i: 5 });
    await h.clock.advance(20_000);
    expect(runs).toHaveLength(5); // held while open
    expect((await h.baton.stats()).breakers.api).toBe('open');
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'trial run', 500);
    expect(runs[5]! - runs[4]!).toBeGreaterThanOrEqual(30_000);
    expect(transitions).toEqual(['breaker.opened', 'breaker.half_open', 'breaker.closed']);
  });
});

describe('timers', () => {
  it('survive a restart: a new engine over the same store fires the overdue retry', async () => {
    const clock = new FakeClock();
    const backend = memoryBackend({ clock });
    const a = track(harness({ retry: { baseMs: 5_000 } }, { clock, backend }));
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
    const b = track(harness({}, { clock, backend }));
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
    const backend = memoryBackend({ clock });
    const fired: string[] = [];
    const services = [0, 1, 2].map(() => track(harness({}, { clock, backend })));
    for (const s of services) s.baton.timers.on('report', async (t) => void fired.push(t.id));
    await Promise.all(services.map((s) => s.baton.start({ worker: false, supervisor: false })));
    await services[0]!.baton.timers.schedule('report', 1_000, { x: 1 });
    await clock.advance(6_000);
    expect(fired).toHaveLength(1);
  });

  it('a phase timebox cancels unfinished tasks and aborts running ones', async () => {
    const h = track(harness({ worker: { concurrency: 1 } }));
    const reasons: unknown[] = [];
    h.baton.register('long', (_i, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject((reasons.push(ctx.signal.reason), ctx.signal.reason)))));
    await h.baton.start();
    const result = await h.baton.scheduler.schedule(
      { phaseId: 'p1', tasks: [{ type: 'long', input: 1 }, { type: 'long', input: 2 }], timeboxMs: 10_000 },
      { runId: 'r1' },
    );
    await h.until(async () => (await h.backend.tasks.list({ states: ['running'] })).length === 1, 'one running');
    await h.clock.advance(11_000);
    await h.until(async () => (await h.backend.tasks.list({ phaseId: 'p1', states: ['cancelled'] })).length === 2, 'phase cancelled');
    expect(reasons).toHaveLength(1);
    expect(String(reasons[0])).toContain('timebox');
    expect(result.taskIds).toHaveLength(2);
  });
});

describe('scheduler', () => {
  it('splits a phase budget evenly with integer remainders and schedules idempotently', async () => {
    const h = track(harness());
    const plan = {
      phaseId: 'research',
      tasks: [0, 1, 2].map((i) => ({ type: 'agent', input: { i } })),
      budget: { costUsd: 1, tokens: 10, timeMs: 1_000 },
    };
    const first = await h.baton.scheduler.schedule(plan, { runId: 'run-1' });
    expect(first).toMatchObject({ totalTasks: 3, enqueuedTasks: 3, duplicates: 0 });
    expect(first.specs.map((s) => s.budget)).toEqual([
      { costUsd: 0.333334, tokens: 4, timeMs: 334 },
      { costUsd: 0.333333, tokens: 3, timeMs: 333 },
      { costUsd: 0.333333, tokens: 3, timeMs: 333 },
    ]);
    const again = await h.baton.scheduler.schedule(plan, { runId: 'run-1' });
    expect(again).toMatchObject({ totalTasks: 3, enqueuedTasks: 0, duplicates: 3, taskIds: first.taskIds });
    const stats = await h.baton.stats();
    expect(stats.tasks.byPhase.research?.pending).toBe(3);
  });

  it('shards a task into pieces of at most N items, splitting its budget', () => {
    const h = track(harness());
    const shards = h.baton.scheduler.shardTask({ type: 'embed', input: { model: 'm', items: Array.from({ length: 250 }, (_, i) => i) }, budget: { tokens: 1_000 } }, 100);
    expect(shards.map((s) => (s.input as { items: number[] }).items.length)).toEqual([100, 100, 50]);
    expect(shards.map((s) => (s.input as { shard: unknown }).shard)).toEqual([
      { index: 0, count: 3 },
      { index: 1, count: 3 },
      { index: 2, count: 3 },
    ]);
    expect(shards.map((s) => s.budget?.tokens)).toEqual([334, 333, 333]);
    expect(() => h.baton.scheduler.shardTask({ type: 'x', input: { notItems: 1 } }, 10)).toThrow(ValidationError);
    expect(() => h.baton.scheduler.shardTask({ type: 'x', input: { items: [] } }, 0)).toThrow(ValidationError);
  });
});

describe('worker pool', () => {
  it('autoscales up when depth > slots×5 and down when depth < slots×2, within min/max', async () => {
    const h = track(harness({ worker: { concurrency: 2, autoScale: { min: 1, max: 6, intervalMs: 1_000 } } }));
    const sizes: number[] = [];
    h.baton.on('pool.scaled', (e) => sizes.push(e.data.to as number));
    for (let i = 0; i < 40; i++) await h.baton.enqueue('idle', { i });
    expect(await h.baton.pool.autoScale()).toBe(6); // 40 ready > 2×5 → ceil(40/5)=8, capped at 6
    await h.backend.queue.claim({ limit: 40, leaseMs: 60_000, waitMs: 0 });
    expect(await h.baton.pool.autoScale()).toBe(5);
    expect(await h.baton.pool.autoScale()).toBe(4);
    expect(sizes).toEqual([6, 5, 4]);
  });

  it('graceful stop releases unfinished leases at once so another worker takes over', async () => {
    const clock = new FakeClock();
    const backend = memoryBackend({ clock });
    const a = track(harness({ worker: { shutdownDeadlineMs: 1_000 } }, { clock, backend }));
    let aborted: unknown;
    a.baton.register('long', (_i, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject((aborted = ctx.signal.reason)))));
    await a.baton.start();
    const { taskId } = await a.baton.enqueue('long', {});
    await a.until(async () => (await a.task(taskId)).state === 'running', 'running');
    const stopping = a.baton.stop();
    await clock.advance(1_500);
    await stopping;
    expect(String(aborted)).toContain('shutting down');
    const t = await a.task(taskId);
    expect(t.state).toBe('pending');
    expect(t.recoveries).toBe(0);
    expect(t.attempt).toBe(0);
    expect((await backend.queue.depth()).ready).toBe(1);
  });

  it('reports a blocked event loop instead of silently losing leases', async () => {
    // Real clock: a CPU-bound handler really blocks the loop.
    const baton = createBaton({ backend: memoryBackend(), worker: { eventLoopBlockedMs: 100, pollIntervalMs: 20 } });
    open.push(baton);
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
    expect((await baton.waitFor(taskId, { timeoutMs: 10_000 })).state).toBe('completed');
    for (let i = 0; i < 50 && blocked.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(blocked.length).toBeGreaterThan(0);
    expect(blocked[0]!.data.delayMs).toBeGreaterThan(100);
  });

  it('cancellation reaches ctx.signal of a running handler', async () => {
    const h = track(harness());
    let reason: unknown;
    h.baton.register('wait', (_i, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject((reason = ctx.signal.reason)))));
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('wait', {});
    await h.until(async () => (await h.task(taskId)).state === 'running', 'running');
    expect(await h.baton.cancel(taskId)).toBe(true);
    await h.until(() => reason !== undefined, 'abort');
    expect((reason as Error).name).toBe('CancelledError');
    expect((await h.task(taskId)).state).toBe('cancelled');
    expect(await h.baton.cancel(taskId)).toBe(false);
  });
});

describe('retention', () => {
  it('keeps at most maxCount completed tasks and maxCount events, draining more than one batch per pass', async () => {
    const h = track(harness({ retention: { completed: { maxCount: 5 }, events: { maxCount: 12 } }, worker: { concurrency: 8 } }));
    h.baton.register('noop', async () => null);
    await h.baton.start();
    const ids = (await h.baton.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ type: 'noop', input: { i } })))).map((r) => r.taskId);
    await h.until(async () => (await h.backend.tasks.list({ states: ['completed'], limit: 1000 })).length === 30, 'all completed');
    await h.baton.queryEvents({}); // flushes buffered events
    expect(await h.baton.supervisor.purge()).toBeGreaterThan(0);
    const left = await h.backend.tasks.list({ states: ['completed'], limit: 1000 });
    expect(left).toHaveLength(5);
    expect(new Set(left.map((t) => t.id)).size).toBe(5);
    expect(ids).toEqual(expect.arrayContaining(left.map((t) => t.id)));
    expect(await h.backend.events.query({ limit: 1000 })).toHaveLength(12);
  });
});

describe('options', () => {
  it('rejects bad options with ConfigError naming the field', () => {
    const backend = memoryBackend();
    expect(() => createBaton({ backend, worker: { concurrency: 0 } })).toThrow(/worker.concurrency/);
    expect(() => createBaton({ backend, worker: { stallTimeoutMs: 1_000, heartbeatIntervalMs: 900 } })).toThrow(ConfigError);
    expect(() => createBaton({ backend, retry: { jitter: 2 } })).toThrow(/retry.jitter/);
    expect(() => createBaton({} as never)).toThrow(/backend/);
  });
});
