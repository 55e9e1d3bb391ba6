// Fencing across ports: once a task was reclaimed and restarted under a new lease, every write
// of the stale holder is refused and the new holder's writes stand (pg-boss #925).
import { describe, expect, it } from 'vitest';
import { bytesEqual, claimIds, jsonBlob, runningTask, sleep, type Harness } from './harness.js';
import { poisonPill } from './task-fixtures.js';

export function fencingSuite(h: Harness): void {
  describe('Fencing', () => {
    it('refuses every write of a stale holder after the task was recovered and restarted under a new lease', async () => {
      const b = h.backend();
      const stale = await runningTask(b, {}, 200);
      const staleRef = { taskId: stale.id, leaseId: stale.leaseId };
      expect(await b.checkpoints.save(stale.id, stale.leaseId, jsonBlob('old-1', { step: 1 }))).toBe(true);
      await sleep(700);

      const expired = await b.queue.reclaimExpired(100);
      expect(expired).toEqual([{ taskId: stale.id, leaseId: stale.leaseId }]);
      expect(await b.tasks.recover(expired.map((ref) => ({ ...ref, poisonPill })), 10)).toEqual(['recovered']);
      const fresh = (await claimIds(b, [stale.id], 60_000)).get(stale.id)!;
      expect(fresh).not.toBe(stale.leaseId);
      const [restarted] = await b.tasks.start([{ taskId: stale.id, leaseId: fresh, workerId: 'new-holder' }]);
      expect(restarted?.task).toMatchObject({ state: 'running', leaseId: fresh, recoveries: 1, hasCheckpoint: true });

      expect(await b.checkpoints.save(stale.id, stale.leaseId, jsonBlob('old-2', { step: 2 }))).toBe(false);
      expect(await b.queue.extend([staleRef], 60_000)).toEqual([false]);
      expect(await b.tasks.recordUsage(stale.id, stale.leaseId, { costUsd: 1, tokens: 1 })).toBeNull();
      expect(await b.tasks.finish([{ taskId: stale.id, leaseId: stale.leaseId, state: 'completed', result: 'stale' }])).toEqual([false]);
      expect(await b.queue.ack([staleRef])).toEqual([false]);
      expect(await b.queue.release([staleRef])).toEqual([false]);
      expect(await b.tasks.recover([{ ...staleRef, poisonPill }], 10)).toEqual(['skipped']);
      expect(await b.tasks.heartbeat([staleRef])).toEqual([false]);
      expect(await b.tasks.setProgress(stale.id, stale.leaseId, { stale: true })).toBe(false);
      expect(await b.tasks.transition([stale.id], ['pending'], 'cancelled'), 'the task is running again, not pending').toEqual([]);

      const cp = await b.checkpoints.load(stale.id);
      expect(cp?.token).toBe('old-1');
      const holder = { taskId: stale.id, leaseId: fresh };
      const blob = jsonBlob('new-1', { step: 'new' });
      expect(await b.checkpoints.save(stale.id, fresh, blob)).toBe(true);
      expect(bytesEqual((await b.checkpoints.load(stale.id))!.body, blob.body)).toBe(true);
      expect(await b.queue.extend([holder], 60_000)).toEqual([true]);
      expect(await b.tasks.recordUsage(stale.id, fresh, { costUsd: 0.5, tokens: 5 })).toEqual({ costUsd: 0.5, tokens: 5 });
      expect(await b.tasks.finish([{ taskId: stale.id, leaseId: fresh, state: 'completed', result: 'fresh' }])).toEqual([true]);
      expect(await b.queue.ack([holder])).toEqual([true]);
      expect(await b.tasks.get(stale.id)).toMatchObject({ state: 'completed', result: 'fresh', usage: { costUsd: 0.5, tokens: 5 }, progress: null, workerId: null });
    });

    it('an outcome repeated in one finish batch is applied once: the repeat finds the lease gone', async () => {
      const b = h.backend();
      const t = await runningTask(b);
      const outcome = { taskId: t.id, leaseId: t.leaseId, state: 'completed' as const, result: 'once' };
      expect(await b.tasks.finish([outcome, outcome])).toEqual([true, false]);
      expect(await b.tasks.get(t.id)).toMatchObject({ state: 'completed', result: 'once', leaseId: null });
    });
  });
}
