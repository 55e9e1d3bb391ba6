// The operator API (`baton.admin`) on this backend: what the CLI and the dashboard do — list and
// page, inspect with checkpoint and events, retry finished tasks, cancel and purge by filter,
// statistics per queue, type and phase, pending timers.
import { describe, expect, it } from 'vitest';
import { InvalidStateError, NotFoundError, PermanentError, ValidationError } from '@baton/core';
import { WAIT, makeBaton } from './engine-suite.js';
import type { Harness } from './harness.js';

export function adminApiSuite(h: Harness): void {
  describe('Admin API (baton.admin)', () => {
    it('lists tasks by filter in creation order and pages through them with cursors, each once', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b);
      const a = await baton.enqueueMany(Array.from({ length: 7 }, (_, i) => ({ type: 'report', input: { i }, queue: 'reports', runId: 'run-1' })));
      await baton.enqueueMany(Array.from({ length: 3 }, (_, i) => ({ type: 'mail', input: { i }, queue: 'mail' })));
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 10; page++) {
        const got: { tasks: { id: string }[]; cursor: string | null } = await baton.admin.listTasks({ queue: 'reports', state: 'pending' }, { limit: 3, cursor });
        seen.push(...got.tasks.map((t) => t.id));
        cursor = got.cursor;
        if (cursor === null) break;
      }
      expect(seen).toEqual(a.map((r) => r.taskId));
      expect((await baton.admin.listTasks({ type: 'mail' })).tasks).toHaveLength(3);
      expect((await baton.admin.listTasks({ runId: 'run-1', type: 'mail' })).tasks).toEqual([]);
      await expect(baton.admin.listTasks({ state: 'frozen' as never })).rejects.toBeInstanceOf(ValidationError);
    });

    it('shows a task with its checkpoint data and its events; an unknown id is a NotFoundError', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b).register('stepwise', async (_input, ctx) => {
        await ctx.saveCheckpoint('half', { done: 5 }, { flush: true });
        throw new PermanentError('stopped at half');
      });
      const { taskId } = await baton.enqueue('stepwise', {});
      await baton.start();
      expect((await baton.waitFor(taskId, WAIT)).state).toBe('dead');
      const d = await baton.admin.getTask(taskId, { checkpoint: true, events: true });
      expect(d.task).toMatchObject({ id: taskId, state: 'dead', error: { code: 'PERMANENT' } });
      expect(d.checkpoint).toMatchObject({ token: 'half', data: { done: 5 }, encoding: 'json' });
      expect(d.events?.map((e) => e.type)).toEqual(['task.enqueued', 'task.started', 'task.checkpointed', 'task.failed', 'task.dead']);
      await expect(baton.admin.getTask('no-such-task')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('retries only finished tasks — an unfinished one is an InvalidStateError — and can reset their attempts', async () => {
      const b = h.backend();
      let fixed = false;
      const baton = makeBaton(h, b, { retry: { maxRetries: 1 } }).register('flaky', () => {
        if (!fixed) throw new Error('still broken');
        return 'ok';
      });
      const { taskId } = await baton.enqueue('flaky', {});
      const waiting = await baton.enqueue('unserved', {}, { queue: 'nobody' });
      await expect(baton.admin.retry(waiting.taskId)).rejects.toBeInstanceOf(InvalidStateError);
      await expect(baton.admin.retry('no-such-task')).rejects.toBeInstanceOf(NotFoundError);
      await baton.start();
      expect(await baton.waitFor(taskId, WAIT)).toMatchObject({ state: 'dead', attempt: 1 });
      fixed = true;
      expect(await baton.admin.retry(taskId, { resetAttempts: true })).toMatchObject({ id: taskId, attempt: 0, recoveries: 0 });
      expect(await baton.waitFor(taskId, WAIT)).toMatchObject({ state: 'completed', result: 'ok', attempt: 0, error: null });
      expect((await baton.queryEvents({ taskId, type: 'task.retried' })).map((e) => e.data.resetAttempts)).toEqual([true]);
    });

    it('retries and cancels by filter, in batches, at most `limit`', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b).register('bad', () => {
        throw new PermanentError('bad');
      });
      const dead = await baton.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ type: 'bad', input: { i } })));
      const queued = await baton.enqueueMany(Array.from({ length: 4 }, (_, i) => ({ type: 'later', input: { i }, queue: 'parked' })));
      await baton.start();
      for (const r of dead) expect((await baton.waitFor(r.taskId, WAIT)).state).toBe('dead');
      await baton.stop();
      expect(await baton.admin.retryMany({ state: 'dead', type: 'bad' }, { limit: 2 })).toBe(2);
      expect((await baton.admin.listTasks({ type: 'bad', state: 'pending' })).tasks).toHaveLength(2);
      expect(await baton.admin.cancelMany({ queue: 'parked' })).toBe(4);
      for (const r of queued) expect((await b.tasks.get(r.taskId))?.state).toBe('cancelled');
      expect(await baton.admin.cancel(queued[0]!.taskId)).toBe(false);
      await expect(baton.admin.retryMany({ state: 'pending' })).rejects.toBeInstanceOf(ValidationError);
    });

    it('purges only finished tasks matching the filter, counting them first with dryRun', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b).register('quick', () => 'done');
      const done = await baton.enqueueMany(Array.from({ length: 4 }, (_, i) => ({ type: 'quick', input: { i } })));
      const pending = await baton.enqueue('never', {}, { queue: 'nobody' });
      await baton.start();
      for (const r of done) await baton.waitFor(r.taskId, WAIT);
      expect(await baton.admin.purge({}, { dryRun: true })).toBe(4);
      expect(await baton.admin.purge({ type: 'quick' })).toBe(4);
      for (const r of done) expect(await b.tasks.get(r.taskId)).toBeNull();
      expect((await b.tasks.get(pending.taskId))?.state).toBe('pending');
      expect(await baton.admin.purge({}, { dryRun: true })).toBe(0);
    });

    it('reports statistics per queue, type and phase: counts by state, the oldest wait, paused queues', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b);
      await baton.enqueueMany([
        { type: 'a', input: 1, queue: 'q1', phaseId: 'p1' },
        { type: 'a', input: 2, queue: 'q1', phaseId: 'p1' },
        { type: 'b', input: 3, queue: 'q2' },
      ]);
      await baton.queues.pause('q2');
      const byQueue = await baton.admin.stats({ by: 'queue' });
      expect(byQueue.find((g) => g.key === 'q1')).toMatchObject({ counts: { pending: 2 }, runningPastLease: 0 });
      expect(byQueue.find((g) => g.key === 'q1')!.oldestWaitingMs).toBeGreaterThanOrEqual(0);
      expect(byQueue.find((g) => g.key === 'q2')).toMatchObject({ counts: { pending: 1 }, paused: true });
      expect((await baton.admin.stats({ by: 'type' })).find((g) => g.key === 'a')?.counts.pending).toBe(2);
      const byPhase = await baton.admin.stats({ by: 'phase' });
      expect(byPhase.find((g) => g.key === 'p1')?.counts.pending).toBe(2);
      expect(byPhase.find((g) => g.key === null)?.counts.pending).toBe(1);
    });

    it('lists pending timers, earliest due first', async () => {
      const b = h.backend();
      const baton = makeBaton(h, b);
      await baton.timers.schedule('later', 60_000, { n: 2 });
      await baton.timers.schedule('sooner', 30_000, { n: 1 });
      const timers = await baton.admin.listTimers();
      expect(timers.map((t) => t.name)).toEqual(['sooner', 'later']);
      expect((await baton.admin.listTimers({ kind: 'retry' })).length).toBe(0);
    });
  });
}
