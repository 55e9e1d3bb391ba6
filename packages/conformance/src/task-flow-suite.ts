// TaskFlow: the fused multi-port operations. Tested on the backend's own flow when it has one,
// else on core's composition of its ports — either way they must mean what `composeFlow` means,
// events included (appended with the write iff the backend declares atomicEvents).
import { describe, expect, it } from 'vitest';
import { composeFlow, silentLogger, transitions, type Backend, type ClaimOptions, type NewEvent, type TaskFlow } from '@baton/core/adapter';
import { jsonBlob, mustGet, newEvent, newTask, sleep, startAnswer, itWhen, type Harness } from './harness.js';

const LEASE = 60_000;

function flowOf(b: Backend): TaskFlow {
  return b.flow ?? composeFlow(b, silentLogger);
}

const claim = (over: Partial<ClaimOptions> = {}): ClaimOptions => ({ queues: ['default'], limit: 10, leaseMs: LEASE, waitMs: 0, ...over });

async function claimAll(flow: TaskFlow, workerId: string, expected: number, over: Partial<ClaimOptions> = {}, startedEvents = false) {
  const got = [];
  for (let i = 0; i < 20 && got.length < expected; i++) got.push(...(await flow.claimAndStart(claim({ limit: expected - got.length, waitMs: 500, ...over }), workerId, startedEvents)));
  return got;
}

async function logged(b: Backend): Promise<NewEvent[]> {
  return (await b.events.query({ limit: 1000 })).map(({ seq: _seq, ...e }) => e);
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
      expect(await flow.claimAndStart(claim({ waitMs: 300 }), 'w1', false)).toEqual([]);
      expect((await b.queue.depth()).ready).toBe(0);
    });

    it('createAndEnqueue delivers each task in its own queue, higher priority first', async () => {
      const b = h.backend();
      const flow = flowOf(b);
      const low = newTask({ queue: 'q-flow', priority: 1 });
      const high = newTask({ queue: 'q-flow', priority: 9 });
      const elsewhere = newTask({ queue: 'q-other' });
      await flow.createAndEnqueue([low, high, elsewhere], [undefined, undefined, undefined]);
      const claimed = await claimAll(flow, 'w1', 1, { queues: ['q-flow'] });
      expect(claimed.map((c) => c.delivery.taskId)).toEqual([high.id]);
      const rest = await claimAll(flow, 'w1', 1, { queues: ['q-flow'] });
      expect(rest.map((c) => c.delivery.taskId)).toEqual([low.id]);
      expect((await mustGet(b, elsewhere.id)).state).toBe('pending');
      expect((await claimAll(flow, 'w1', 1, { queues: ['q-other'] })).map((c) => c.delivery.taskId)).toEqual([elsewhere.id]);
    });

    it('createAndEnqueue honours per-task delays', async () => {
      const b = h.backend();
      const flow = flowOf(b);
      const now = newTask();
      const later = newTask();
      await flow.createAndEnqueue([now, later], [undefined, 1_500]);
      const first = await claimAll(flow, 'w1', 1);
      expect(first.map((c) => c.delivery.taskId)).toEqual([now.id]);
      expect(await flow.claimAndStart(claim(), 'w1', false)).toEqual([]);
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
      expect(started.start.task).toEqual(await mustGet(b, run.id));
      const refused = byId.get(gone.id)!;
      expect(startAnswer(refused.start)).toEqual({ taskId: gone.id, task: null, state: 'cancelled' });
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
        { outcome: { taskId: back.id, leaseId: 'not-the-lease', state: 'completed', result: null }, queue: 'ack', deleteCheckpoint: true },
      ]);
      expect(applied).toEqual([true, false]);
      expect(await mustGet(b, done.id)).toMatchObject({ state: 'completed', result: { ok: true }, hasCheckpoint: false });
      expect(await b.checkpoints.load(done.id)).toBeNull();
      expect((await mustGet(b, back.id)).state).toBe('running');
      // Release hands the task back for another claim.
      const [released] = await flow.finishAndSettle([{ outcome: { taskId: back.id, leaseId: lease.get(back.id)!, state: 'pending' }, queue: 'release', releaseDelayMs: 0 }]);
      expect(released).toBe(true);
      const again = await claimAll(flow, 'w2', 1);
      expect(again.map((c) => c.delivery.taskId)).toEqual([back.id]);
      expect(again[0]!.delivery.leaseId).not.toBe(lease.get(back.id));
      expect((await b.queue.depth()).leased).toBe(1);
    });

    it('heartbeat extends held leases and stamps heartbeatAt; false where the lease moved on or the run already ended', async () => {
      const b = h.backend();
      const flow = flowOf(b);
      const [live, ended] = [newTask(), newTask()];
      await flow.createAndEnqueue([live, ended], [undefined, undefined]);
      const lease = new Map((await claimAll(flow, 'w1', 2, { leaseMs: 800 })).map((c) => [c.delivery.taskId, c.delivery.leaseId]));
      const before = await mustGet(b, live.id);
      // The delivery of `ended` stays leased: its outcome was written without settling.
      await b.tasks.finish([{ taskId: ended.id, leaseId: lease.get(ended.id)!, state: 'completed', result: null }]);
      await sleep(300);
      const refs = [
        { taskId: live.id, leaseId: lease.get(live.id)! },
        { taskId: live.id, leaseId: 'stale' },
        { taskId: ended.id, leaseId: lease.get(ended.id)! },
      ];
      expect(await flow.heartbeat(refs, LEASE)).toEqual([true, false, false]);
      const after = await mustGet(b, live.id);
      expect(after.heartbeatAt).toBeGreaterThan(before.heartbeatAt!);
      expect(after.updatedAt).toBe(before.updatedAt);
      await sleep(900);
      expect((await b.queue.reclaimExpired(100)).map((r) => r.taskId), 'the extended lease outlived its first 800 ms').not.toContain(live.id);
    });

    itWhen(h, { atomicEvents: true }, 'claimAndStart with startedEvents appends one transitions.startedEvent per task it started', async () => {
      const b = h.backend();
      const flow = flowOf(b);
      const [one, two, gone] = [newTask({ runId: 'run-f', phaseId: 'phase-f' }), newTask(), newTask()];
      await flow.createAndEnqueue([one, two, gone], [undefined, undefined, undefined]);
      await b.tasks.transition([gone.id], ['pending'], 'cancelled');
      const claimed = await claimAll(flow, 'w-started', 3, {}, true);
      const started = claimed.flatMap((c) => (c.start.task === null ? [] : [c.start.task]));
      expect(started.map((t) => t.id).sort()).toEqual([one.id, two.id].sort());
      const got = await logged(b);
      expect(got.map((e) => e.taskId).sort()).toEqual([one.id, two.id].sort());
      for (const e of got) expect(e).toEqual(transitions.startedEvent(started.find((t) => t.id === e.taskId)!, e.id));
    });

    itWhen(h, { atomicEvents: true }, 'createAndEnqueue and finishAndSettle append the events of created tasks and applied outcomes only, in order', async () => {
      const b = h.backend();
      const flow = flowOf(b);
      const first = newTask();
      await flow.createAndEnqueue([first], [undefined]);
      const [t, u] = [newTask({ runId: 'run-f' }), newTask()];
      const dup = newTask({ idempotencyKey: first.idempotencyKey });
      const enq = (id: string) => [newEvent({ type: 'task.enqueued', taskId: id, runId: null })];
      const created = await flow.createAndEnqueue([t, dup, u], [undefined, undefined, undefined], undefined, [enq(t.id), enq(dup.id), undefined]);
      expect(created.map((c) => c.duplicate)).toEqual([false, true, false]);
      const enqueued = await logged(b);
      expect(enqueued.map((e) => e.taskId)).toEqual([t.id]);
      expect(enqueued[0]!.runId).toBe('run-f');

      const leases = new Map((await claimAll(flow, 'w1', 3)).map((c) => [c.delivery.taskId, c.delivery.leaseId]));
      const ev = (taskId: string, type: NewEvent['type']) => newEvent({ type, taskId, workerId: 'w1', data: { s: 'ü"\\' } });
      const done = [ev(t.id, 'task.completed')];
      const refused = [ev(u.id, 'task.completed')];
      const failed = [ev(u.id, 'task.failed'), ev(u.id, 'task.retry_scheduled')];
      const applied = await flow.finishAndSettle([
        { outcome: { taskId: t.id, leaseId: leases.get(t.id)!, state: 'completed', result: null, events: done }, queue: 'ack' },
        { outcome: { taskId: u.id, leaseId: 'stale', state: 'completed', result: null, events: refused }, queue: 'ack' },
        { outcome: { taskId: u.id, leaseId: leases.get(u.id)!, state: 'scheduled', events: failed }, queue: 'ack' },
      ]);
      expect(applied).toEqual([true, false, true]);
      expect((await logged(b)).slice(1)).toEqual([...done.map((e) => ({ ...e, runId: 'run-f' })), ...failed]);
    });

    itWhen(h, { atomicEvents: false }, 'without atomicEvents the flow applies writes handed events and appends none of them', async () => {
      const b = h.backend();
      const flow = flowOf(b);
      const t = newTask();
      expect(await flow.createAndEnqueue([t], [undefined], undefined, [[newEvent({ type: 'task.enqueued', taskId: t.id })]])).toEqual([{ id: t.id, duplicate: false }]);
      const [c] = await claimAll(flow, 'w1', 1, {}, true);
      expect(c?.start.task?.state).toBe('running');
      const outcome = { taskId: t.id, leaseId: c!.delivery.leaseId, state: 'completed' as const, result: null, events: [newEvent({ type: 'task.completed', taskId: t.id })] };
      expect(await flow.finishAndSettle([{ outcome, queue: 'ack' }])).toEqual([true]);
      expect(await logged(b)).toEqual([]);
    });
  });
}
