// Start and stop: a graceful stop lets in-flight work finish up to the deadline, releases the rest
// at once (no stall timeout to wait out), and writes what it still holds; a backend that cannot be
// used fails start().
import { afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError, ConfigError, type NewEvent } from '@baton/core';
import { FakeClock, memoryBackend } from '@baton/memory';
import { closeAll, harness, latch } from './helpers.js';

afterEach(closeAll);

describe('graceful stop', () => {
  it('releases unfinished leases at once so another worker takes over', async () => {
    const clock = new FakeClock();
    const memory = memoryBackend({ clock });
    const a = harness({ worker: { shutdownDeadlineMs: 1_000, stallTimeoutMs: 600_000 } }, { clock, memory });
    let aborted: unknown;
    a.baton.register('long', (_i, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject((aborted = ctx.signal.reason)))));
    await a.baton.start();
    const { taskId } = await a.baton.enqueue('long', {});
    await a.until(async () => (await a.task(taskId)).state === 'running', 'running');
    const stopping = a.baton.stop();
    await clock.advance(1_500);
    await stopping;
    expect((aborted as Error).name).toBe('ShutdownError');
    expect(await a.task(taskId)).toMatchObject({ state: 'pending', recoveries: 0, attempt: 0, leaseId: null, error: null });
    expect((await memory.queue.depth()).ready).toBe(1);
    expect((await a.stored(taskId)).filter((e) => e.type === 'task.released').map((e) => e.data)).toEqual([{ reason: 'shutdown' }]);

    const b = harness({}, { clock, memory });
    b.baton.register('long', () => 'second');
    await b.baton.start();
    await b.until(async () => (await b.task(taskId)).state === 'completed', 'completion on the second worker');
    expect(await b.task(taskId)).toMatchObject({ result: 'second', recoveries: 0, attempt: 0 });
  });

  it('lets a task that finishes within the deadline complete, and claims nothing new meanwhile', async () => {
    const h = harness({ worker: { shutdownDeadlineMs: 10_000, concurrency: 1 } });
    const finish = latch<string>();
    const started: string[] = [];
    h.baton.register('job', async (input: { n: number }) => {
      started.push(String(input.n));
      return input.n === 1 ? finish.promise : 'quick';
    });
    await h.baton.start();
    const first = await h.baton.enqueue('job', { n: 1 });
    await h.until(() => started.length === 1, 'first running');
    const second = await h.baton.enqueue('job', { n: 2 });
    const stopping = h.baton.stop();
    await h.clock.advance(2_000);
    finish.resolve('in time');
    await h.clock.advance(100);
    await stopping;
    expect(await h.task(first.taskId)).toMatchObject({ state: 'completed', result: 'in time' });
    expect(await h.task(second.taskId)).toMatchObject({ state: 'pending' });
    expect(started).toEqual(['1']);
  });

  it('emits worker.started and worker.stopped, and the stop is idempotent', async () => {
    const h = harness();
    const seen: NewEvent[] = [];
    h.baton.on('*', (e) => seen.push(e));
    h.baton.register('noop', () => null);
    await h.baton.start();
    await h.baton.start();
    await h.baton.stop();
    await h.baton.stop();
    expect(seen.map((e) => e.type)).toEqual(['worker.started', 'worker.stopped']);
    expect(seen[1]!.data).toEqual({ released: 0 });
    expect((await h.memory.events.query({ limit: 10 })).map((e) => e.type)).toEqual(['worker.started', 'worker.stopped']);
  });

  it('refuses register() of a new type once the worker runs, and everything once closed', async () => {
    const h = harness();
    h.baton.register('a', () => null);
    await h.baton.start();
    expect(() => h.baton.register('b', () => null)).toThrow(ConfigError);
    await h.baton.close();
    await h.baton.close();
    await expect(Promise.resolve().then(() => h.baton.start())).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('start', () => {
  it('rejects with the backend’s error when the backend cannot be used, and logs it', async () => {
    const clock = new FakeClock();
    const memory = memoryBackend({ clock });
    await memory.close();
    const h = harness({}, { clock, memory });
    h.baton.register('a', () => null);
    await expect(h.baton.start()).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(h.logs.filter((l) => l.level === 'error' && /backend check failed/.test(l.msg ?? ''))).toHaveLength(1);
    expect(h.baton.pool.stats().running).toBe(false);
  });

  it('writes the configured queue limits at start', async () => {
    const h = harness({ queues: { pdf: { concurrency: 2, rateLimit: { max: 5, perMs: 1_000 } } } });
    await h.baton.start({ worker: false });
    const pdf = (await h.baton.queues.list()).find((q) => q.name === 'pdf');
    expect(pdf).toMatchObject({ paused: false, concurrency: 2, rateLimit: { max: 5, perMs: 1_000 }, groupConcurrency: null });
  });
});
