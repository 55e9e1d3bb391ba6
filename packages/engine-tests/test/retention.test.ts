// Retention: the supervisor keeps at most maxCount finished tasks per state and maxCount events,
// and removes what is older than maxAgeMs, on its own timer.
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, harness } from './helpers.js';

afterEach(closeAll);

describe('retention', () => {
  it('keeps at most maxCount completed tasks and maxCount events', async () => {
    const h = harness({ retention: { completed: { maxCount: 5 }, events: { maxCount: 12 }, intervalMs: 1_000 }, worker: { concurrency: 8 } });
    h.baton.register('noop', async () => null);
    await h.baton.start();
    const ids = (await h.baton.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ type: 'noop', input: { i } })))).map((r) => r.taskId);
    await h.until(async () => (await h.memory.tasks.list({ states: ['completed'], limit: 1_000 })).tasks.length <= 5 && (await h.memory.tasks.list({ limit: 1_000 })).tasks.length <= 5, 'retention pass', 100);
    const left = (await h.memory.tasks.list({ states: ['completed'], limit: 1_000 })).tasks;
    expect(left).toHaveLength(5);
    // The newest are kept.
    expect(left.map((t) => t.id)).toEqual(ids.slice(-5));
    await h.clock.advance(2_000);
    expect((await h.memory.events.query({ limit: 1_000 })).length).toBeLessThanOrEqual(12);
  });

  it('removes finished tasks older than maxAgeMs, and their checkpoints, but never an unfinished one', async () => {
    const h = harness({ retention: { dead: { maxAgeMs: 60_000 }, intervalMs: 1_000 }, retry: { maxRetries: 0 }, checkpoints: { keepAfterCompletion: true } });
    h.baton.register('fails', async (_i, ctx) => {
      await ctx.saveCheckpoint('kept', { n: 1 }, { flush: true });
      throw new Error('nope');
    });
    await h.baton.start();
    const { taskId: dead } = await h.baton.enqueue('fails', {});
    const { taskId: waiting } = await h.baton.enqueue('fails', { n: 2 }, { queue: 'nobody' });
    await h.until(async () => (await h.task(dead)).state === 'dead', 'dead');
    expect(await h.memory.checkpoints.load(dead)).not.toBeNull();
    await h.clock.advance(30_000);
    expect(await h.baton.getTask(dead)).not.toBeNull();
    await h.clock.advance(32_000);
    expect(await h.baton.getTask(dead)).toBeNull();
    expect(await h.memory.checkpoints.load(dead)).toBeNull();
    expect((await h.task(waiting)).state).toBe('pending');
  });
});
