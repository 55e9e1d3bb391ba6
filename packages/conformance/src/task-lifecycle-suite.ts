// TaskStore state machine as callers see it: what each call answers, per item and in order,
// fencing of every lease-holder write, and retention purges. The exact fields each change
// writes are checked in transitions-suite.ts.
import { describe, expect, it } from 'vitest';
import { newId } from '@baton/core/adapter';
import { boom, byId, createTasks, isEpochMs, newTask, sleep, startAnswer, startTask, type Harness } from './harness.js';
import { poisonPill, startedTask as runningTask } from './task-fixtures.js';

export function taskLifecycleSuite(h: Harness): void {
  describe('TaskStore: state machine', () => {
    it('start moves only pending tasks to running under the lease and reports where the others are (and under which lease a running one is)', async () => {
      const b = h.backend();
      const t = newTask();
      await b.tasks.create([t]);
      const unknown = newId();
      const [started, missing] = await b.tasks.start([
        { taskId: t.id, leaseId: 'lease-1', workerId: 'worker-1' },
        { taskId: unknown, leaseId: 'lease-x', workerId: 'worker-1' },
      ]);
      expect(started?.taskId).toBe(t.id);
      expect(started?.task).toMatchObject({ id: t.id, state: 'running', leaseId: 'lease-1', workerId: 'worker-1', input: { n: 1 } });
      expect(isEpochMs(started?.task?.startedAt)).toBe(true);
      expect(started?.task?.heartbeatAt).toBe(started?.task?.startedAt);
      expect(startAnswer(missing)).toEqual({ taskId: unknown, task: null, state: null });

      const [again] = await b.tasks.start([{ taskId: t.id, leaseId: 'lease-2', workerId: 'worker-2' }]);
      expect(again, 'a refused start of a running task names the lease it runs under').toEqual({ taskId: t.id, task: null, state: 'running', leaseId: 'lease-1' });
      expect((await b.tasks.get(t.id))?.leaseId).toBe('lease-1');
    });

    it('finish is fenced: a wrong leaseId is refused and changes nothing; the holder’s completion is stored', async () => {
      const b = h.backend();
      const { id, leaseId } = await runningTask(b);
      expect(await b.tasks.finish([{ taskId: id, leaseId: 'not-the-lease', state: 'completed', result: { bad: true } }])).toEqual([false]);
      expect(await b.tasks.get(id)).toMatchObject({ state: 'running', leaseId, result: null, finishedAt: null });

      expect(await b.tasks.finish([{ taskId: id, leaseId, state: 'completed', result: { ok: 1 }, durationMs: 42 }])).toEqual([true]);
      const done = (await b.tasks.get(id))!;
      expect(done).toMatchObject({ state: 'completed', result: { ok: 1 }, durationMs: 42, leaseId: null, workerId: null, heartbeatAt: null, attempt: 0, error: null });
      expect(isEpochMs(done.finishedAt)).toBe(true);
      expect(await b.tasks.finish([{ taskId: id, leaseId, state: 'dead', error: boom }])).toEqual([false]);
      expect((await b.tasks.get(id))?.state).toBe('completed');
    });

    it('finish answers per outcome in order within one batch', async () => {
      const b = h.backend();
      const one = await runningTask(b);
      const two = await runningTask(b);
      expect(
        await b.tasks.finish([
          { taskId: one.id, leaseId: one.leaseId, state: 'completed', result: 1 },
          { taskId: two.id, leaseId: 'stale', state: 'completed', result: 2 },
          { taskId: newId(), leaseId: 'x', state: 'completed', result: 3 },
        ]),
      ).toEqual([true, false, false]);
      expect((await b.tasks.get(two.id))?.state).toBe('running');
    });

    it('finish as scheduled increments attempt and stores the error; the retried run counts again', async () => {
      const b = h.backend();
      const { id, leaseId } = await runningTask(b);
      expect(await b.tasks.finish([{ taskId: id, leaseId, state: 'scheduled', error: boom, durationMs: 3 }])).toEqual([true]);
      expect(await b.tasks.get(id)).toMatchObject({ state: 'scheduled', attempt: 1, error: boom, leaseId: null, recoveries: 0 });
      expect(await b.tasks.transition([id], ['scheduled'], 'pending')).toEqual([id]);
      const lease2 = await startTask(b, id);
      await b.tasks.finish([{ taskId: id, leaseId: lease2, state: 'scheduled', error: boom }]);
      expect((await b.tasks.get(id))?.attempt).toBe(2);
    });

    it('finish as pending hands the task back counting nothing, and it can start again', async () => {
      const b = h.backend();
      const { id, leaseId } = await runningTask(b);
      expect(await b.tasks.finish([{ taskId: id, leaseId, state: 'pending' }])).toEqual([true]);
      expect(await b.tasks.get(id)).toMatchObject({ state: 'pending', attempt: 0, recoveries: 0, leaseId: null, finishedAt: null });
      const [again] = await b.tasks.start([{ taskId: id, leaseId: 'lease-2', workerId: 'w2' }]);
      expect(again?.task?.state).toBe('running');
    });

    it('finish as dead stores the error and the finish time', async () => {
      const b = h.backend();
      const { id, leaseId } = await runningTask(b);
      expect(await b.tasks.finish([{ taskId: id, leaseId, state: 'dead', error: { ...boom, code: 'PERMANENT' } }])).toEqual([true]);
      const dead = (await b.tasks.get(id))!;
      expect(dead).toMatchObject({ state: 'dead', error: { ...boom, code: 'PERMANENT' }, leaseId: null });
      expect(isEpochMs(dead.finishedAt)).toBe(true);
    });

    it('recover returns a running task to pending with recoveries + 1, skipping leases that moved on', async () => {
      const b = h.backend();
      const { id, leaseId } = await runningTask(b);
      expect(await b.tasks.recover([{ taskId: id, leaseId: 'someone-else', poisonPill }], 10)).toEqual(['skipped']);
      expect((await b.tasks.get(id))?.state).toBe('running');
      expect(await b.tasks.recover([{ taskId: id, leaseId, poisonPill }], 10)).toEqual(['recovered']);
      expect(await b.tasks.get(id)).toMatchObject({ state: 'pending', recoveries: 1, attempt: 0, leaseId: null });
      expect(await b.tasks.recover([{ taskId: id, leaseId, poisonPill }], 10)).toEqual(['skipped']);
      expect(await b.tasks.recover([{ taskId: newId(), leaseId: 'x', poisonPill }], 10)).toEqual(['skipped']);
    });

    it('recover buries a task as dead with the given poison pill once recoveries would exceed maxRecoveries', async () => {
      const b = h.backend();
      const t = newTask();
      await b.tasks.create([t]);
      const results: string[] = [];
      for (let i = 1; i <= 3; i++) {
        const lease = `lease-${i}`;
        const [s] = await b.tasks.start([{ taskId: t.id, leaseId: lease, workerId: 'w' }]);
        expect(s?.task?.state).toBe('running');
        results.push(...(await b.tasks.recover([{ taskId: t.id, leaseId: lease, poisonPill }], 2)));
      }
      expect(results).toEqual(['recovered', 'recovered', 'dead']);
      const dead = (await b.tasks.get(t.id))!;
      expect(dead).toMatchObject({ state: 'dead', leaseId: null, attempt: 0, recoveries: 3, error: poisonPill });
      expect(isEpochMs(dead.finishedAt)).toBe(true);
    });

    it('transition is unfenced, moves only tasks in a listed state, clears leases and returns the moved ids', async () => {
      const b = h.backend();
      const [pending] = await createTasks(b, [{}]);
      const running = await runningTask(b);
      const done = await runningTask(b);
      await b.tasks.finish([{ taskId: done.id, leaseId: done.leaseId, state: 'completed', result: 1 }]);
      const moved = await b.tasks.transition([pending!, running.id, done.id, newId()], ['pending', 'running'], 'cancelled', { error: boom });
      expect([...moved].sort(byId)).toEqual([pending!, running.id].sort(byId));
      const r = (await b.tasks.get(running.id))!;
      expect(r).toMatchObject({ state: 'cancelled', leaseId: null, error: boom });
      expect(isEpochMs(r.finishedAt)).toBe(true);
      expect((await b.tasks.get(done.id))?.state).toBe('completed');
      expect(await b.tasks.transition([running.id], ['pending'], 'dead')).toEqual([]);
    });

    it('heartbeat answers per ref in order: true while the lease is held, false for a stale lease, an unknown task or a finished run', async () => {
      const b = h.backend();
      const live = await runningTask(b);
      const done = await runningTask(b);
      await b.tasks.finish([{ taskId: done.id, leaseId: done.leaseId, state: 'completed', result: null }]);
      const before = (await b.tasks.get(live.id))!.heartbeatAt!;
      await sleep(20);
      expect(
        await b.tasks.heartbeat([
          { taskId: live.id, leaseId: 'stale' },
          { taskId: live.id, leaseId: live.leaseId },
          { taskId: newId(), leaseId: 'x' },
          { taskId: done.id, leaseId: done.leaseId },
        ]),
      ).toEqual([false, true, false, false]);
      expect((await b.tasks.get(live.id))!.heartbeatAt).toBeGreaterThan(before);
      expect((await b.tasks.get(done.id))!.heartbeatAt).toBeNull();
      expect(await b.tasks.heartbeat([])).toEqual([]);
    });

    it('recordUsage adds to the totals while the lease is held and refuses once it is not', async () => {
      const b = h.backend();
      const { id, leaseId } = await runningTask(b);
      expect(await b.tasks.recordUsage(id, leaseId, { costUsd: 0.5, tokens: 100 })).toEqual({ costUsd: 0.5, tokens: 100 });
      const second = await b.tasks.recordUsage(id, leaseId, { costUsd: 0.25, tokens: 50 });
      expect(second?.costUsd).toBeCloseTo(0.75, 9);
      expect(second?.tokens).toBe(150);
      expect(await b.tasks.recordUsage(id, 'stale', { costUsd: 9, tokens: 9 })).toBeNull();
      await b.tasks.finish([{ taskId: id, leaseId, state: 'completed', result: null }]);
      expect(await b.tasks.recordUsage(id, leaseId, { costUsd: 1, tokens: 1 })).toBeNull();
      const usage = (await b.tasks.get(id))!.usage;
      expect(usage.costUsd).toBeCloseTo(0.75, 9);
      expect(usage.tokens).toBe(150);
    });
  });

  describe('TaskStore: purge', () => {
    it('purge removes tasks of the state that finished more than olderThanMs ago', async () => {
      const b = h.backend();
      const old = await runningTask(b);
      await b.tasks.finish([{ taskId: old.id, leaseId: old.leaseId, state: 'completed', result: 1 }]);
      const oldDead = await runningTask(b);
      await b.tasks.finish([{ taskId: oldDead.id, leaseId: oldDead.leaseId, state: 'dead', error: boom }]);
      const [pending] = await createTasks(b, [{}]);
      await sleep(600);
      const fresh = await runningTask(b);
      await b.tasks.finish([{ taskId: fresh.id, leaseId: fresh.leaseId, state: 'completed', result: 2 }]);

      expect(await b.tasks.purge({ state: 'completed', olderThanMs: 300, keepLatest: 1000, limit: 100 })).toBe(1);
      expect(await b.tasks.get(old.id)).toBeNull();
      expect(await b.tasks.get(fresh.id)).not.toBeNull();
      expect(await b.tasks.get(oldDead.id)).not.toBeNull();
      expect(await b.tasks.get(pending!)).not.toBeNull();
    });

    it('purge keeps only the newest keepLatest of the state, at most limit rows per call', async () => {
      const b = h.backend();
      const finished: string[] = [];
      for (let i = 0; i < 5; i++) {
        const t = await runningTask(b);
        await b.tasks.finish([{ taskId: t.id, leaseId: t.leaseId, state: 'completed', result: i }]);
        finished.push(t.id);
        await sleep(15);
      }
      expect(await b.tasks.purge({ state: 'completed', olderThanMs: 3_600_000, keepLatest: 4, limit: 100 })).toBe(1);
      expect(await b.tasks.get(finished[0]!)).toBeNull();
      expect(await b.tasks.purge({ state: 'completed', olderThanMs: 3_600_000, keepLatest: 2, limit: 1 })).toBe(1);
      expect(await b.tasks.purge({ state: 'completed', olderThanMs: 3_600_000, keepLatest: 2, limit: 100 })).toBe(1);
      const left = (await b.tasks.list({ states: ['completed'], limit: 1000 })).tasks.map((t) => t.id);
      expect(left.sort(byId)).toEqual(finished.slice(3).sort(byId));
      expect(await b.tasks.purge({ state: 'completed', olderThanMs: 3_600_000, keepLatest: 2, limit: 100 })).toBe(0);
    });
  });
}
