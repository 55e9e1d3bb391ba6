// TaskFlow: the fused multi-port operations. Tested on the backend's own flow when it has one,
// else on core's composition of its ports — either way they must mean what the ports mean.
import { describe, expect, it } from 'vitest';
import { composeFlow, silentLogger, type Backend, type TaskFlow } from '@baton/core';
import { jsonBlob, newTask, sleep, type Harness } from './harness.js';

const LEASE = 60_000;

function flowOf(b: Backend): TaskFlow {
  return b.flow ?? composeFlow(b, silentLogger);
}

async function claimAll(flow: TaskFlow, workerId: string, expected: number) {
  const got = [];
  for (let i = 0; i < 20 && got.length < expected; i++) got.push(...(await flow.claimAndStart({ limit: expected - got.length, leaseMs: LEASE, waitMs: 500 }, workerId)));
  return got;
}

export function taskFlowSuite(h: Harness): void {
  describe('TaskFlow (fused operations)', () => {
    it('createAndEnqueue creates and delivers new tasks; a duplicate key delivers nothing more', async () => {
      const b = h.backend();
      const flow = flowOf(b);
      const t = newTask();
      const [first] = await flow.createAndEnqueue([t], [undefined]);
      expect(first).toEqual({ id: t.id, duplicate: false });
      const [again] = await flow.createAndEnqueue([newTask({ idempotencyKey: t.idempotencyKey })], [undefined]);
      expect(again).toEqual({ id: t.id, duplicate: true });
      const claimed = await claimAll(flow, 'w1', 1);
      expect(claimed.map((c) => c.delivery.taskId)).toEqual([t.id]);
      expect(await flow.claimAndStart({ limit: 5, leaseMs: LEASE, waitMs: 300 }, 'w1')).toEqual([]);
      expect((await b.queue.depth()).ready).toBe(0);
    });

    it('createAndEnqueue honours per-task delays', async () => {
      const b = h.backend();
      const flow = flowOf(b);
      const now = newTask();
      const later = newTask();
      await flow.createAndEnqueue([now, later], [undefined, 1_500]);
      const first = await claimAll(flow, 'w1', 1);
      expect(first.map((c) => c.delivery.taskId)).toEqual([now.id]);
      expect(await flow.claimAndStart({ limit: 5, leaseMs: LEASE, waitMs: 0 }, 'w1')).toEqual([]);
      await sleep(2_000);
      const second = await claimAll(flow, 'w1', 1);
      expect(second.map((c) => c.delivery.taskId)).toEqual([later.id]);
    });

    it('claimAndStart starts what it claims under the delivery lease, and reports tasks it could not start', async () => {
      const b = h.backend();
      const flow = flowOf(b);
      const run = newTask();
      const gone = newTask();
      await flow.createAndEnqueue([run, gone], [undefined, undefined]);
      await b.tasks.transition([gone.id], ['pending'], 'cancelled');
      const claimed = await claimAll(flow, 'worker-7', 2);
      const byId = new Map(claimed.map((c) => [c.delivery.taskId, c]));
      const started = byId.get(run.id)!;
      expect(started.start.task?.state).toBe('running');
      expect(started.start.task?.leaseId).toBe(started.delivery.leaseId);
      expect(started.start.task?.workerId).toBe('worker-7');
      const refused = byId.get(gone.id)!;
      expect(refused.start).toEqual({ taskId: gone.id, task: null, state: 'cancelled' });
    });

    it('finishAndSettle applies fenced outcomes with their queue action and checkpoint delete', async () => {
      const b = h.backend();
      const flow = flowOf(b);
      const done = newTask();
      const back = newTask();
      await flow.createAndEnqueue([done, back], [undefined, undefined]);
      const claimed = await claimAll(flow, 'w1', 2);
      const lease = new Map(claimed.map((c) => [c.delivery.taskId, c.delivery.leaseId]));
      expect(await b.checkpoints.save(done.id, lease.get(done.id)!, jsonBlob('s1', { x: 1 }))).toBe(true);
      const applied = await flow.finishAndSettle([
        { outcome: { taskId: done.id, leaseId: lease.get(done.id)!, state: 'completed', result: { ok: true }, durationMs: 5 }, queue: 'ack', deleteCheckpoint: true },
        { outcome: { taskId: back.id, leaseId: 'not-the-lease', state: 'completed', result: null }, queue: 'ack' },
      ]);
      expect(applied).toEqual([true, false]);
      expect((await b.tasks.get(done.id))?.state).toBe('completed');
      expect((await b.tasks.get(done.id))?.result).toEqual({ ok: true });
      expect(await b.checkpoints.load(done.id)).toBeNull();
      expect((await b.tasks.get(back.id))?.state).toBe('running');
      // Release hands the task back for another claim.
      const [released] = await flow.finishAndSettle([{ outcome: { taskId: back.id, leaseId: lease.get(back.id)!, state: 'pending' }, queue: 'release', releaseDelayMs: 0 }]);
      expect(released).toBe(true);
      const again = await claimAll(flow, 'w2', 1);
      expect(again.map((c) => c.delivery.taskId)).toEqual([back.id]);
      expect(again[0]!.delivery.leaseId).not.toBe(lease.get(back.id));
      expect((await b.queue.depth()).leased).toBe(1);
    });

    it('finishAndSettle appends the events of applied outcomes exactly when the flow declares appendsEvents', async () => {
      const b = h.backend();
      const flow = flowOf(b);
      const [t, u, v] = [newTask(), newTask(), newTask()];
      await flow.createAndEnqueue([t, u, v], [undefined, undefined, undefined]);
      const leases = new Map((await claimAll(flow, 'w1', 3)).map((c) => [c.delivery.taskId, c.delivery.leaseId]));
      const event = (id: string, taskId: string, type: 'task.completed' | 'task.failed' | 'task.retry_scheduled' = 'task.completed') => ({
        id,
        type,
        at: Date.now(),
        runId: null,
        phaseId: null,
        taskId,
        workerId: 'w1',
        data: { n: 1, s: 'ü"\\' },
      });
      // One batch: a refused outcome (stale lease) between two applied ones, one of them with two events.
      const applied = await flow.finishAndSettle([
        { outcome: { taskId: t.id, leaseId: leases.get(t.id)!, state: 'completed', result: null }, queue: 'ack', events: [event(`ok-${t.id}`, t.id)] },
        { outcome: { taskId: u.id, leaseId: 'stale', state: 'completed', result: null }, queue: 'ack', events: [event(`refused-${u.id}`, u.id)] },
        {
          outcome: { taskId: v.id, leaseId: leases.get(v.id)!, state: 'pending' },
          queue: 'release',
          releaseDelayMs: 60_000,
          events: [event(`failed-${v.id}`, v.id, 'task.failed'), event(`retry-${v.id}`, v.id, 'task.retry_scheduled')],
        },
        { outcome: { taskId: u.id, leaseId: leases.get(u.id)!, state: 'completed', result: null }, queue: 'ack' },
      ]);
      expect(applied).toEqual([true, false, true, true]);
      const logged = await b.events.query({});
      expect(logged.map((e) => e.id)).toEqual(flow.appendsEvents ? [`ok-${t.id}`, `failed-${v.id}`, `retry-${v.id}`] : []);
      if (flow.appendsEvents) {
        expect(logged[1]).toMatchObject({ type: 'task.failed', taskId: v.id, workerId: 'w1', data: { n: 1, s: 'ü"\\' } });
        expect(logged.map((e) => e.seq - logged[0]!.seq)).toEqual([0, 1, 2]);
      }
    });

    it('createAndEnqueue appends the events of created tasks (never of duplicates) exactly when the flow declares appendsEvents', async () => {
      const b = h.backend();
      const flow = flowOf(b);
      const first = newTask();
      await flow.createAndEnqueue([first], [undefined]);
      const fresh = newTask();
      const dup = newTask({ idempotencyKey: first.idempotencyKey });
      const event = (taskId: string) => ({ id: `enq-${taskId}`, type: 'task.enqueued' as const, at: Date.now(), runId: null, phaseId: null, taskId, workerId: null, data: {} });
      const created = await flow.createAndEnqueue([fresh, dup], [undefined, undefined], undefined, [event(fresh.id), event(dup.id)]);
      expect(created.map((c) => c.duplicate)).toEqual([false, true]);
      const logged = (await b.events.query({ type: 'task.enqueued' })).map((e) => e.id);
      expect(logged).toEqual(flow.appendsEvents ? [`enq-${fresh.id}`] : []);
    });
  });
}
