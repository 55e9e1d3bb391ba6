// Reclaim safety (issue 12.1): supervisors of several workers run reclaimExpired at once. Every
// expired lease must be reported by at least one pass (a lease no pass reports leaves its task
// running forever), a lease still live is never reported, and once the reported tasks are
// recovered every one of them is pending and claimable again: nothing is lost or stuck.
import { describe, expect, it } from 'vitest';
import { transitions, type Backend, type LeaseRef, type RecoverItem } from '@baton/core/adapter';
import { newTask, queueItem, sleep, type Harness } from './harness.js';
import { EXPIRE_WAIT, LEASE, SHORT_LEASE, drainAll, taskIds } from './queue-helpers.js';

/**
 * Creates, enqueues, claims and starts `n` tasks, then shortens every lease to `leaseMs` in one
 * extend (so none expires while the others are still being claimed); returns leases by task id.
 */
async function runningTasks(b: Backend, n: number, leaseMs: number, queue = 'default'): Promise<Map<string, string>> {
  const tasks = Array.from({ length: n }, () => newTask({ queue }));
  await b.tasks.create(tasks);
  await b.queue.enqueue(tasks.map((t) => queueItem(t)));
  const claimed = await drainAll(b, [queue], { limit: 25 });
  expect(claimed).toHaveLength(n);
  const started = await b.tasks.start(claimed.map((d) => ({ taskId: d.taskId, leaseId: d.leaseId, workerId: 'crashed-worker' })));
  expect(started.filter((s) => s.task !== null)).toHaveLength(n);
  expect(await b.queue.extend(claimed, leaseMs)).toEqual(claimed.map(() => true));
  return new Map(claimed.map((d) => [d.taskId, d.leaseId]));
}

const key = (r: LeaseRef): string => `${r.taskId} ${r.leaseId}`;

function recoverItems(refs: LeaseRef[]): RecoverItem[] {
  return refs.map((r) => ({ ...r, poisonPill: transitions.poisonPillError(r.taskId, 1, 10) }));
}

export function reclaimSuite(h: Harness): void {
  describe('Queue: reclaim safety', () => {
    it('3 concurrent reclaimExpired passes over 60 expired leases report each at least once; after recovery every task is pending and claimable again', async () => {
      const b = h.backend();
      const leases = await runningTasks(b, 60, SHORT_LEASE);
      await sleep(EXPIRE_WAIT);

      const pass = async (): Promise<LeaseRef[]> => {
        const seen: LeaseRef[] = [];
        for (let i = 0; i < 100; i++) {
          const got = await b.queue.reclaimExpired(7);
          expect(got.length).toBeLessThanOrEqual(7);
          if (got.length === 0) break;
          seen.push(...got);
        }
        return seen;
      };
      const reported = (await Promise.all([pass(), pass(), pass()])).flat();
      // Only leases that were handed out and expired, each at least once.
      for (const r of reported) expect(leases.get(r.taskId), `reported ${key(r)}`).toBe(r.leaseId);
      expect(new Set(reported.map(key))).toEqual(new Set([...leases].map(([taskId, leaseId]) => key({ taskId, leaseId }))));
      expect(await b.queue.reclaimExpired(1_000)).toEqual([]);

      // Recovering everything reported (duplicates too): each lease recovers its task exactly once.
      const results = await b.tasks.recover(recoverItems(reported), 10);
      expect(results.filter((r) => r === 'recovered')).toHaveLength(60);
      expect(results.filter((r) => r === 'dead')).toHaveLength(0);
      expect((await b.tasks.list({ states: ['running'], limit: 1_000 })).tasks).toEqual([]);
      expect((await b.tasks.list({ states: ['pending'], limit: 1_000 })).tasks).toHaveLength(60);

      const again = await drainAll(b, ['default'], { limit: 25 });
      expect(again).toHaveLength(60);
      expect(new Set(taskIds(again))).toEqual(new Set(leases.keys()));
      for (const d of again) expect(d.leaseId).not.toBe(leases.get(d.taskId));
      const restarted = await b.tasks.start(again.map((d) => ({ taskId: d.taskId, leaseId: d.leaseId, workerId: 'new-worker' })));
      expect(restarted.filter((s) => s.task?.state === 'running')).toHaveLength(60);
    });

    it('claims running alongside concurrent reclaim passes never get one delivery twice, and get every reclaimed one', async () => {
      const b = h.backend();
      const leases = await runningTasks(b, 40, SHORT_LEASE);
      await sleep(EXPIRE_WAIT);
      let reclaiming = true;
      const pass = async (): Promise<LeaseRef[]> => {
        const seen: LeaseRef[] = [];
        for (let i = 0; i < 100; i++) {
          const got = await b.queue.reclaimExpired(5);
          if (got.length === 0) break;
          seen.push(...got);
        }
        return seen;
      };
      const claimer = async (): Promise<LeaseRef[]> => {
        const mine: LeaseRef[] = [];
        // Ends after a few empty claims made once every pass finished.
        let emptyAfter = 0;
        for (let i = 0; i < 1_000 && emptyAfter < 3; i++) {
          const got = await b.queue.claim({ queues: ['default'], limit: 3, leaseMs: LEASE, waitMs: 20 });
          mine.push(...got);
          if (!reclaiming) emptyAfter = got.length === 0 ? emptyAfter + 1 : 0;
        }
        return mine;
      };
      const claimers = Promise.all([claimer(), claimer()]);
      const reported = (await Promise.all([pass(), pass()])).flat();
      reclaiming = false;
      const claimed = (await claimers).flat();
      expect(new Set(reported.map((r) => r.taskId))).toEqual(new Set(leases.keys()));
      expect(claimed).toHaveLength(40);
      expect(new Set(taskIds(claimed))).toEqual(new Set(leases.keys()));
    });

    it('one reclaimExpired pass reports every expired lease and never a live one; the next pass reports nothing new', async () => {
      const b = h.backend();
      const expiring = await runningTasks(b, 20, SHORT_LEASE, 'short');
      const live = await runningTasks(b, 5, LEASE, 'long');
      await sleep(EXPIRE_WAIT);
      const first = await b.queue.reclaimExpired(1_000);
      expect(new Set(first.map(key))).toEqual(new Set([...expiring].map(([taskId, leaseId]) => key({ taskId, leaseId }))));
      expect(first).toHaveLength(20);
      expect(await b.queue.reclaimExpired(1_000)).toEqual([]);
      expect(await b.queue.depth()).toEqual({ ready: 20, leased: 5, expired: 0, delayed: 0 });
      const liveRefs = [...live].map(([taskId, leaseId]) => ({ taskId, leaseId }));
      expect(await b.queue.extend(liveRefs, LEASE)).toEqual(liveRefs.map(() => true));
      expect(await b.queue.ack(first)).toEqual(first.map(() => false));
    });
  });
}
