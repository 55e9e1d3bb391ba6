// Operator actions through baton.admin (what the CLI and dashboard use): list, inspect, retry,
// cancel, purge, and statistics by queue, type and phase.
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStateError, NotFoundError, PermanentError, ValidationError, type TaskRecord } from '@baton/core';
import { closeAll, harness, types, type Harness } from './helpers.js';

afterEach(closeAll);

/** Runs `n` tasks of `type` to the given end state. */
async function finished(h: Harness, type: string, n: number, end: 'completed' | 'dead', extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids = (await h.baton.enqueueMany(Array.from({ length: n }, (_, i) => ({ type, input: { end, i, ...extra } })))).map((r) => r.taskId);
  await h.until(async () => (await Promise.all(ids.map((id) => h.task(id)))).every((t) => t.state === end), `${n} ${type} ${end}`);
  return ids;
}

function register(h: Harness, ...typeNames: string[]): void {
  for (const t of typeNames) {
    h.baton.register(t, (input: { end: string }) => {
      if (input.end === 'dead') throw new PermanentError('bad input');
      return 'ok';
    });
  }
}

describe('listTasks and getTask', () => {
  it('lists tasks oldest first, a page at a time, with a cursor', async () => {
    const h = harness();
    const ids = (await h.baton.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ type: i % 2 ? 'odd' : 'even', input: { i } })))).map((r) => r.taskId);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { tasks: TaskRecord[]; cursor: string | null } = await h.baton.admin.listTasks({}, { limit: 2, cursor });
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.cursor;
      pages++;
    } while (cursor !== null);
    expect(seen).toEqual(ids);
    expect(pages).toBe(3);
    expect((await h.baton.admin.listTasks({ type: 'odd' })).tasks.map((t) => t.id)).toEqual([ids[1], ids[3]]);
    expect((await h.baton.admin.listTasks({ state: ['running', 'dead'] })).tasks).toEqual([]);
    await expect(Promise.resolve().then(() => h.baton.admin.listTasks({ state: 'gone' as never }))).rejects.toBeInstanceOf(ValidationError);
  });

  it('getTask returns the task with its checkpoint and its events; NotFoundError for an unknown id', async () => {
    const h = harness();
    h.baton.register('stepper', async (_i, ctx) => {
      await ctx.saveCheckpoint('half', { done: 5 }, { flush: true });
      return new Promise(() => undefined);
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('stepper', { n: 10 });
    await h.until(async () => (await h.task(taskId)).hasCheckpoint, 'checkpoint');
    const plain = await h.baton.admin.getTask(taskId);
    expect(plain.task).toMatchObject({ id: taskId, state: 'running', input: { n: 10 } });
    expect(plain).not.toHaveProperty('checkpoint');
    expect(plain).not.toHaveProperty('events');
    const full = await h.baton.admin.getTask(taskId, { checkpoint: true, events: true });
    expect(full.checkpoint).toMatchObject({ token: 'half', encoding: 'json', data: { done: 5 } });
    expect(types(full.events!)).toEqual(['task.enqueued', 'task.started', 'task.checkpointed']);
    const { taskId: other } = await h.baton.enqueue('stepper', { n: 1 }, { queue: 'elsewhere' });
    expect((await h.baton.admin.getTask(other, { checkpoint: true })).checkpoint).toBeNull();
    await expect(h.baton.admin.getTask('no-such-task')).rejects.toBeInstanceOf(NotFoundError);
    await expect(h.baton.admin.getTask('')).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('retry', () => {
  it('runs a dead task again under the same id; InvalidStateError for an unfinished task, NotFoundError for an unknown id', async () => {
    const h = harness({ retry: { maxRetries: 0 } });
    let fail = true;
    h.baton.register('fragile', () => {
      if (fail) throw new Error('down');
      return 'up';
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('fragile', {});
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'dead');
    const { taskId: waiting } = await h.baton.enqueue('fragile', { other: true }, { queue: 'nobody' });
    await expect(h.baton.admin.retry(waiting)).rejects.toBeInstanceOf(InvalidStateError);
    await expect(h.baton.admin.retry('no-such-task')).rejects.toBeInstanceOf(NotFoundError);
    fail = false;
    const retried = await h.baton.admin.retry(taskId);
    // Read back after it was re-queued: this baton's worker may already have claimed it.
    expect(retried).toMatchObject({ id: taskId, attempt: 0, result: null, finishedAt: null });
    expect(['pending', 'running']).toContain(retried.state);
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion after the operator retry');
    expect(await h.task(taskId)).toMatchObject({ result: 'up', error: null });
    expect(types(await h.stored(taskId)).filter((t) => t === 'task.retried')).toHaveLength(1);
  });

  it('resetAttempts gives the task its whole retry budget again', async () => {
    const h = harness({ retry: { baseMs: 10, maxRetries: 1 } });
    h.baton.register('always-fails', () => {
      throw new Error('nope');
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('always-fails', {});
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'dead');
    expect((await h.task(taskId)).attempt).toBe(1);
    await h.baton.stop();
    expect((await h.baton.admin.retry(taskId)).attempt).toBe(1);
    await h.memory.tasks.transition([taskId], ['pending'], 'cancelled');
    expect((await h.baton.admin.retry(taskId, { resetAttempts: true })).attempt).toBe(0);
  });
});

describe('bulk actions', () => {
  it('cancelMany and retryMany work in batches and stop at the limit', async () => {
    const h = harness();
    const ids = (await h.baton.enqueueMany(Array.from({ length: 1_100 }, (_, i) => ({ type: 'bulk', input: { i } })))).map((r) => r.taskId);
    await h.baton.enqueue('other', {});
    expect(await h.baton.admin.cancelMany({ type: 'bulk' }, { limit: 700 })).toBe(700);
    expect((await h.task(ids[699]!)).state).toBe('cancelled');
    expect((await h.task(ids[700]!)).state).toBe('pending');
    expect(await h.baton.admin.cancelMany({ type: 'bulk' })).toBe(400);
    expect(await h.baton.admin.cancelMany({ type: 'bulk' })).toBe(0);
    expect((await h.memory.queue.depth()).ready).toBe(1); // only "other" is still deliverable
    expect(await h.baton.admin.retryMany({ type: 'bulk', state: 'cancelled' }, { limit: 600 })).toBe(600);
    const counts = (await h.baton.admin.stats({ by: 'type' })).find((g) => g.key === 'bulk')!.counts;
    expect(counts).toMatchObject({ pending: 600, cancelled: 500 });
    expect((await h.memory.queue.depth()).ready).toBe(601);
    await h.baton.queryEvents({}); // flush
    expect((await h.memory.events.query({ type: ['task.retried'], limit: 1_000 })).length).toBe(600);
    await expect(h.baton.admin.cancelMany({ state: 'dead' })).rejects.toBeInstanceOf(ValidationError);
    await expect(h.baton.admin.retryMany({ state: 'pending' })).rejects.toBeInstanceOf(ValidationError);
    await expect(h.baton.admin.cancelMany({}, { limit: -1 })).rejects.toBeInstanceOf(ValidationError);
  });

  it('cancellation reaches ctx.signal of a running handler', async () => {
    const h = harness();
    let reason: unknown;
    h.baton.register('wait', (_i, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject((reason = ctx.signal.reason)))));
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('wait', {});
    await h.until(async () => (await h.task(taskId)).state === 'running', 'running');
    expect(await h.baton.cancel(taskId)).toBe(true);
    await h.until(() => reason !== undefined, 'abort');
    expect((reason as Error).name).toBe('CancelledError');
    expect(await h.task(taskId)).toMatchObject({ state: 'cancelled', error: { code: 'CANCELLED' } });
    expect(await h.baton.cancel(taskId)).toBe(false);
    expect(await h.baton.admin.cancel(taskId)).toBe(false);
  });

  it('purge counts with dryRun, then deletes only finished tasks matching the filter', async () => {
    const h = harness();
    register(h, 'a', 'b');
    await h.baton.start();
    const done = await finished(h, 'a', 3, 'completed');
    const dead = await finished(h, 'b', 2, 'dead');
    const { taskId: pending } = await h.baton.enqueue('a', { end: 'completed' }, { queue: 'nobody' });
    await h.baton.stop();
    expect(await h.baton.admin.purge({}, { dryRun: true })).toBe(5);
    expect(await h.baton.admin.purge({ type: 'b' }, { dryRun: true })).toBe(2);
    expect(await h.baton.admin.purge({}, { dryRun: true, limit: 4 })).toBe(4);
    expect((await h.baton.admin.listTasks({}, { limit: 100 })).tasks).toHaveLength(6);
    expect(await h.baton.admin.purge({ state: 'dead' })).toBe(2);
    for (const id of dead) expect(await h.baton.getTask(id)).toBeNull();
    expect(await h.baton.admin.purge({}, { limit: 1 })).toBe(1);
    expect(await h.baton.admin.purge({})).toBe(2);
    for (const id of done) expect(await h.baton.getTask(id)).toBeNull();
    expect((await h.task(pending)).state).toBe('pending');
    await expect(h.baton.admin.purge({ state: 'pending' })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('stats', () => {
  it('counts by queue, type and phase, with the oldest wait and the running tasks past their lease', async () => {
    const h = harness({ worker: { stallTimeoutMs: 10_000 } });
    register(h, 'a', 'b');
    await h.baton.start();
    await finished(h, 'a', 2, 'completed');
    await finished(h, 'b', 1, 'dead');
    await h.baton.stop();
    await h.baton.enqueue('a', { wait: 1 }, { queue: 'slow', phaseId: 'p1' });
    await h.baton.enqueue('b', { wait: 2 }, { queue: 'slow', phaseId: 'p1' });
    await h.clock.advance(5_000);
    const { taskId: stuck } = await h.baton.enqueue('b', { stuck: true }, { queue: 'slow', phaseId: 'p1' });
    // A holder that claimed and then stopped heartbeating.
    const [d] = await h.memory.queue.claim({ queues: ['slow'], limit: 1, leaseMs: 10_000, waitMs: 0 });
    expect(d!.taskId).not.toBe(stuck);
    await h.memory.tasks.start([{ taskId: d!.taskId, leaseId: d!.leaseId, workerId: 'gone' }]);
    await h.clock.advance(11_000);

    const byQueue = await h.baton.admin.stats();
    expect(byQueue.map((g) => g.key)).toEqual(['default', 'slow']);
    expect(byQueue[0]).toMatchObject({ counts: { completed: 2, dead: 1, pending: 0 }, oldestWaitingMs: null, runningPastLease: 0 });
    expect(byQueue[1]).toMatchObject({ counts: { pending: 2, running: 1 }, oldestWaitingMs: 16_000, runningPastLease: 1, paused: false });

    const byType = await h.baton.admin.stats({ by: 'type' });
    // The claim took the oldest task of the queue: the "a" one.
    expect(byType.map((g) => [g.key, g.counts.completed, g.counts.dead, g.counts.pending, g.counts.running, g.runningPastLease])).toEqual([
      ['a', 2, 0, 0, 1, 1],
      ['b', 0, 1, 2, 0, 0],
    ]);

    const byPhase = await h.baton.admin.stats({ by: 'phase' });
    const p1 = byPhase.find((g) => g.key === 'p1')!;
    expect(p1).toMatchObject({ counts: { pending: 2, running: 1 }, runningPastLease: 1, oldestWaitingMs: 16_000 });
    expect(byPhase.find((g) => g.key === null)!.counts).toMatchObject({ completed: 2, dead: 1 });
    await expect(h.baton.admin.stats({ by: 'worker' as never })).rejects.toBeInstanceOf(ValidationError);
  });

  it('a paused queue shows as paused', async () => {
    const h = harness();
    await h.baton.queues.pause('pdf');
    await h.baton.enqueue('render', {}, { queue: 'pdf' });
    expect((await h.baton.admin.stats()).find((g) => g.key === 'pdf')).toMatchObject({ paused: true, counts: { pending: 1 } });
  });
});

describe('promise-returning calls', () => {
  it('reject on bad input rather than throw', async () => {
    const h = harness();
    const calls: [string, () => Promise<unknown>][] = [
      ['getTask', () => h.baton.getTask('')],
      ['admin.listTasks', () => h.baton.admin.listTasks({ queue: 'a b' })],
      ['timers.schedule', () => h.baton.timers.schedule('', 10)],
    ];
    for (const [name, call] of calls) {
      let p: Promise<unknown> | undefined;
      expect(() => (p = call()), name).not.toThrow();
      await expect(p, name).rejects.toBeInstanceOf(ValidationError);
    }
  });
});
