// Failures: retryable ones go through a durable retry timer with exponential backoff until
// maxRetries, permanent ones (PermanentError, classifier, budget, bad result) are dead at once.
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetExceededError, PermanentError, createBaton, silentLogger } from '@baton/core';
import { memoryBackend } from '@baton/memory';
import { closeAll, harness, types } from './helpers.js';

afterEach(closeAll);

describe('retries', () => {
  it('retry after 1 s, 2 s and 4 s, then the task is dead at maxRetries', async () => {
    const h = harness({ retry: { baseMs: 1_000, maxMs: 300_000, maxRetries: 3 } });
    const runs: { at: number; attempt: number }[] = [];
    h.baton.register('flaky', async (_i, ctx) => {
      runs.push({ at: h.clock.now(), attempt: ctx.attempt });
      throw new Error('upstream 503');
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('flaky', {});
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'dead after retries', 50, 4_000);
    expect(runs.map((r) => r.attempt)).toEqual([0, 1, 2, 3]);
    const events = await h.stored(taskId);
    expect(events.filter((e) => e.type === 'task.retry_scheduled').map((e) => e.data)).toEqual([
      { attempt: 1, delayMs: 1_000 },
      { attempt: 2, delayMs: 2_000 },
      { attempt: 3, delayMs: 4_000 },
    ]);
    // No retry runs before its timer is due (on the fake clock).
    const gaps = runs.slice(1).map((r, i) => r.at - runs[i]!.at);
    [1_000, 2_000, 4_000].forEach((delay, i) => expect(gaps[i]).toBeGreaterThanOrEqual(delay));
    const t = await h.task(taskId);
    expect(t).toMatchObject({ attempt: 3, state: 'dead', error: { message: 'upstream 503' } });
    expect(types(events).filter((t) => t === 'task.failed')).toHaveLength(4);
    expect(types(events).at(-1)).toBe('task.dead');
    expect(await h.memory.timers.list({ taskId, limit: 10 })).toEqual([]);
  });

  it('a retry that succeeds clears the error, keeping the failure in the event log', async () => {
    const h = harness({ retry: { baseMs: 100 } });
    let runs = 0;
    h.baton.register('once-flaky', () => {
      if (++runs === 1) throw new Error('first run fails');
      return 'ok';
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('once-flaky', {});
    await h.until(async () => (await h.task(taskId)).state === 'scheduled', 'retry scheduled');
    expect((await h.task(taskId)).error?.message).toBe('first run fails');
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion');
    expect(await h.task(taskId)).toMatchObject({ attempt: 1, error: null, result: 'ok' });
    const taskEvents = types(await h.stored(taskId)).filter((t) => t.startsWith('task.'));
    expect(taskEvents).toEqual(['task.enqueued', 'task.started', 'task.failed', 'task.retry_scheduled', 'task.started', 'task.completed']);
  });

  it('a per-type retry policy and a per-task maxRetries override the baton’s', async () => {
    const h = harness({ retry: { baseMs: 100, maxRetries: 5 } });
    const runs: Record<string, number> = {};
    const fail = (input: { name: string }) => {
      runs[input.name] = (runs[input.name] ?? 0) + 1;
      throw new Error('nope');
    };
    h.baton.register('typed', fail, { retry: { maxRetries: 1 } });
    h.baton.register('plain', fail);
    await h.baton.start();
    const a = await h.baton.enqueue('typed', { name: 'typed' });
    const b = await h.baton.enqueue('plain', { name: 'per-task' }, { maxRetries: 0 });
    await h.until(async () => (await h.task(a.taskId)).state === 'dead' && (await h.task(b.taskId)).state === 'dead', 'both dead', 50);
    expect(runs).toEqual({ typed: 2, 'per-task': 1 });
  });
});

describe('permanent failures', () => {
  it('a PermanentError makes the task dead at once, without a retry timer', async () => {
    const h = harness();
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
    expect(await h.task(taskId)).toMatchObject({ attempt: 0, error: { code: 'PERMANENT', message: 'input is invalid' } });
    expect(await h.memory.timers.list({ taskId, limit: 10 })).toEqual([]);
  });

  it('honours a classifier that calls an error permanent', async () => {
    const h = harness({ retry: { classify: (err) => (String(err).includes('401') ? 'permanent' : undefined) } });
    let runs = 0;
    h.baton.register('auth', async () => {
      runs++;
      throw new Error('HTTP 401');
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('auth', {});
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'dead');
    await h.clock.advance(10_000);
    expect(runs).toBe(1);
  });

  it('a result that is not JSON fails the task permanently', async () => {
    const h = harness();
    h.baton.register('bad-result', () => ({ n: 10n }) as never);
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('bad-result', {});
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'dead');
    expect((await h.task(taskId)).error).toMatchObject({ code: 'VALIDATION', message: expect.stringContaining('BigInt') });
  });
});

describe('budgets', () => {
  it('fails a task permanently with BudgetExceededError when reported usage passes its budget', async () => {
    const h = harness();
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
    expect(t.attempt).toBe(0);
  });

  it('aborts a task that runs past its time budget, and does not retry it', async () => {
    const h = harness();
    let reason: unknown;
    let runs = 0;
    h.baton.register('slow', (_i, ctx) => {
      runs++;
      return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject((reason = ctx.signal.reason))));
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('slow', {}, { budget: { timeMs: 500 } });
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'dead');
    expect(reason).toBeInstanceOf(BudgetExceededError);
    expect((await h.task(taskId)).error?.code).toBe('BUDGET_EXCEEDED');
    await h.clock.advance(10_000);
    expect(runs).toBe(1);
  });
});

describe('retry timers that fire before their run settled', () => {
  it('a retry delay shorter than the settle round trip still runs the retry (no task left scheduled)', async () => {
    // Real clock: the race is between the timer loop and the settler's batched write.
    const baton = createBaton({ backend: memoryBackend(), logger: silentLogger, worker: { concurrency: 8, pollIntervalMs: 5 }, retry: { baseMs: 1, maxMs: 1, maxRetries: 2 }, timerMaxSleepMs: 20 });
    baton.register('once', (_input, ctx) => {
      if (ctx.attempt === 0) throw new Error('first run fails');
      return 'ok';
    });
    const ids = await baton.enqueueMany(Array.from({ length: 40 }, (_, i) => ({ type: 'once', input: { i } })));
    await baton.start();
    try {
      for (const r of ids) expect(await baton.waitFor(r.taskId, { timeoutMs: 20_000, pollMs: 20 })).toMatchObject({ state: 'completed', attempt: 1 });
    } finally {
      await baton.close();
    }
  }, 60_000);
});
