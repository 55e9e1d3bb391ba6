// Leases and fencing: a write refused because the lease moved on is reported once and counts for
// nothing; a lease left on a record by a holder that died after its delivery was reclaimed is
// taken over by the next claimer.
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, type NewEvent } from '@baton/core';
import { closeAll, harness, latch, linesFor, types } from './helpers.js';

afterEach(closeAll);

const POISON = { name: 'PoisonPill', message: 'test', code: 'POISON_PILL', stack: null };

describe('a refused completion (issue 10)', () => {
  it('is reported once, with the task id, and counts nothing toward the circuit breaker', async () => {
    const h = harness({ worker: { stallTimeoutMs: 60_000 } });
    const release = latch<string>();
    const running = latch();
    let runs = 0;
    h.baton.register('slow', async () => {
      runs++;
      running.resolve();
      return release.promise;
    });
    const lost: NewEvent[] = [];
    h.baton.on('task.lease_lost', (e) => lost.push(e));
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('slow', {});
    await h.until(() => running.done, 'handler running');
    const { leaseId } = await h.task(taskId);
    // Behind the runner's back: a supervisor (of another process) recovers the task.
    expect(await h.memory.tasks.recover([{ taskId, leaseId: leaseId!, poisonPill: POISON }], 10)).toEqual(['recovered']);
    release.resolve('late result');
    await h.until(() => lost.length > 0, 'lease loss reported');
    await h.clock.advance(1_000); // past the breaker's flush interval

    expect(runs).toBe(1);
    const t = await h.task(taskId);
    expect(t).toMatchObject({ state: 'pending', result: null, recoveries: 1 });
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ taskId, data: { leaseId } });
    await h.baton.queryEvents({ taskId }); // flushes what the publisher holds
    expect(types(await h.stored(taskId)).filter((t) => t === 'task.lease_lost')).toHaveLength(1);
    expect(types(await h.stored(taskId))).not.toContain('task.completed');
    const lines = linesFor(h.logs, taskId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', fields: { taskId, leaseId } });
    expect(lines[0]!.msg).toMatch(/lease lost/);
    // No outcome of this run reached the breaker: no document was ever written for the type.
    expect(await h.memory.coordination.read(['breaker:slow'])).toEqual([null]);
    expect((await h.baton.stats()).breakers).toEqual({});
  });

  it('a refused failure write is reported the same way, and its retry timer then finds nothing to do', async () => {
    const h = harness({ worker: { stallTimeoutMs: 60_000 } });
    const fail = latch();
    const running = latch();
    h.baton.register('flaky', async () => {
      running.resolve();
      await fail.promise;
      throw new Error('upstream 503');
    });
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('flaky', {});
    await h.until(() => running.done, 'handler running');
    const { leaseId } = await h.task(taskId);
    await h.memory.tasks.recover([{ taskId, leaseId: leaseId!, poisonPill: POISON }], 10);
    fail.resolve();
    await h.until(async () => (await h.stored(taskId)).some((e) => e.type === 'task.lease_lost'), 'lease loss recorded');
    await h.clock.advance(1_000);
    expect(await h.task(taskId)).toMatchObject({ state: 'pending', attempt: 0, error: null });
    expect(linesFor(h.logs, taskId, ['warn'])).toHaveLength(1);
    expect(await h.memory.coordination.read(['breaker:flaky'])).toEqual([null]);
    // The retry timer is written before the (refused) outcome; when it fires it finds the task not
    // scheduled and does nothing.
    expect((await h.stored(taskId)).filter((e) => e.type === 'task.failed')).toEqual([]);
  });

  it('a heartbeat refused after a cancel in another process aborts the handler and reports once', async () => {
    const h = harness({ worker: { stallTimeoutMs: 3_000, heartbeatIntervalMs: 1_000 } });
    let reason: unknown;
    h.baton.register('wait', (_i, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject((reason = ctx.signal.reason)))));
    await h.baton.start();
    const { taskId } = await h.baton.enqueue('wait', {});
    await h.until(async () => (await h.task(taskId)).state === 'running', 'running');
    // Another process cancels: the store moves the task, this process is not told.
    await h.memory.tasks.transition([taskId], ['running'], 'cancelled');
    await h.clock.advance(1_000);
    await h.until(() => reason !== undefined, 'abort');
    expect((reason as Error).name).toBe('LeaseLostError');
    await h.clock.advance(3_000);
    expect(linesFor(h.logs, taskId, ['warn'])).toHaveLength(1);
    expect((await h.baton.queryEvents({ taskId, type: 'task.lease_lost' })).length).toBe(1);
    expect((await h.task(taskId)).state).toBe('cancelled');
  });
});

describe('recovery by the supervisor', () => {
  it('reclaims an expired lease as a recovery, not an attempt; past maxRecoveries the task is dead as a poison pill', async () => {
    const h = harness({ maxRecoveries: 1, worker: { stallTimeoutMs: 1_000, heartbeatIntervalMs: 200 } });
    const { taskId } = await h.baton.enqueue('job', {});
    // Two holders in turn claim the task and die.
    for (let i = 0; i < 2; i++) {
      const [d] = await h.memory.queue.claim({ queues: ['default'], limit: 1, leaseMs: 1_000, waitMs: 0 });
      expect(d?.taskId).toBe(taskId);
      await h.memory.tasks.start([{ taskId, leaseId: d!.leaseId, workerId: `dead-${i}` }]);
      if (i === 0) {
        await h.baton.start({ worker: false });
        await h.until(async () => (await h.task(taskId)).state === 'pending', 'first recovery');
        expect(await h.task(taskId)).toMatchObject({ recoveries: 1, attempt: 0, leaseId: null });
      }
    }
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'poison pill');
    expect(await h.task(taskId)).toMatchObject({ recoveries: 2, attempt: 0, error: { code: 'POISON_PILL' } });
    expect(types(await h.stored(taskId))).toEqual(['task.enqueued', 'task.recovered', 'task.dead']);
    expect(linesFor(h.logs, taskId)).toHaveLength(1);
    expect(await h.memory.queue.depth()).toMatchObject({ ready: 0, leased: 0 });
  });
});

describe('stale-lease takeover', () => {
  it('recovers a task left running under a lease whose delivery was already reclaimed, then runs it', async () => {
    const h = harness({ worker: { stallTimeoutMs: 5_000 } });
    const { taskId } = await h.baton.enqueue('job', { n: 7 });
    // A worker claims and starts the task, then dies.
    const [dead] = await h.memory.queue.claim({ queues: ['default'], limit: 1, leaseMs: 1_000, waitMs: 0 });
    await h.memory.tasks.start([{ taskId, leaseId: dead!.leaseId, workerId: 'dead-worker' }]);
    await h.clock.advance(2_000);
    // A supervisor reclaims the expired delivery, then dies before recovering the task.
    expect(await h.memory.queue.reclaimExpired(10)).toEqual([{ taskId, leaseId: dead!.leaseId }]);
    expect(await h.task(taskId)).toMatchObject({ state: 'running', leaseId: dead!.leaseId, recoveries: 0 });

    const runs: number[] = [];
    h.baton.register('job', (input: { n: number }, ctx) => {
      runs.push(ctx.recoveries);
      return input.n * 2;
    });
    // No supervisor here: only the claimer can notice the stale lease.
    await h.baton.start({ supervisor: false });
    await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion');
    const t = await h.task(taskId);
    expect(t).toMatchObject({ result: 14, recoveries: 1, attempt: 0 });
    expect(runs).toEqual([1]);
    const events = await h.stored(taskId);
    expect(types(events)).toEqual(['task.enqueued', 'task.recovered', 'task.started', 'task.completed']);
    expect(events[1]!.data).toEqual({ expiredLeaseId: dead!.leaseId, by: 'claim' });
    expect((await h.memory.queue.depth()).leased).toBe(0);
  });

  it('buries the task as a poison pill when the takeover is one recovery too many', async () => {
    const h = harness({ maxRecoveries: 0, logger: silentLogger });
    let runs = 0;
    h.baton.register('job', () => ++runs);
    const { taskId } = await h.baton.enqueue('job', {});
    const [dead] = await h.memory.queue.claim({ queues: ['default'], limit: 1, leaseMs: 1_000, waitMs: 0 });
    await h.memory.tasks.start([{ taskId, leaseId: dead!.leaseId, workerId: 'dead-worker' }]);
    await h.clock.advance(2_000);
    await h.memory.queue.reclaimExpired(10);
    await h.baton.start({ supervisor: false });
    await h.until(async () => (await h.task(taskId)).state === 'dead', 'dead');
    expect(runs).toBe(0);
    expect((await h.task(taskId)).error?.code).toBe('POISON_PILL');
    await h.clock.advance(5_000);
    expect(await h.memory.queue.depth()).toMatchObject({ ready: 0, leased: 0, delayed: 0 });
  });
});
