// Events handed to writes. A backend with `capabilities.atomicEvents` appends them in the same
// atomic write as the change they record, iff it applies, stored under the task's runId and
// phaseId whatever the event says; a refused write appends nothing. A backend without it
// applies the same writes and appends nothing (core appends after each write instead).
import { describe, expect } from 'vitest';
import { newId, transitions, type Backend, type EventType, type NewEvent, type TaskRecord } from '@baton/core/adapter';
import { jsonBlob, mustGet, newEvent, newTask, startTask, itWhen, type Harness } from './harness.js';
import { finishedTask, leaseLostTask, pendingTask, poisonPill, richTask, seasonedTask, startedTask, type Subject } from './task-fixtures.js';

/** The log without seq, oldest first. */
async function logged(b: Backend): Promise<NewEvent[]> {
  return (await b.events.query({ limit: 1000 })).map(({ seq: _seq, ...e }) => e);
}

/** Events about a task that claim to belong to another run and phase: the store must not believe them. */
function about(s: { id: string }, type: EventType, n: number): NewEvent {
  return newEvent({ type, taskId: s.id, runId: 'run-claimed-by-event', phaseId: null, workerId: 'w-events', data: { n, text: 'ü "quoted" \\ 🚀' } });
}

/** How the events must be stored: with the task's runId and phaseId. */
function storedAs(task: TaskRecord, events: NewEvent[]): NewEvent[] {
  return events.map((e) => ({ ...e, runId: task.runId, phaseId: task.phaseId }));
}

const byEventId = (a: NewEvent, b: NewEvent): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Exactly these events were appended; each write's own events in their given order (writes of one call may interleave). */
function expectAppended(got: NewEvent[], perWrite: NewEvent[][]): void {
  expect([...got].sort(byEventId)).toEqual(perWrite.flat().sort(byEventId));
  for (const own of perWrite) {
    const ids = new Set(own.map((e) => e.id));
    expect(got.filter((e) => ids.has(e.id))).toEqual(own);
  }
}

export function atomicEventsSuite(h: Harness): void {
  describe('Events handed to writes (capabilities.atomicEvents)', () => {
    itWhen(h, { atomicEvents: true }, 'create appends events[i] iff task i was created, under the task’s runId and phaseId', async () => {
      const b = h.backend();
      const existing = richTask();
      await b.tasks.create([existing]);
      const a = richTask({ runId: 'run-A', phaseId: 'phase-A' });
      const dup = richTask({ idempotencyKey: existing.idempotencyKey });
      const c = newTask();
      const quiet = newTask();
      const events = [[about(a, 'task.enqueued', 1), about(a, 'task.enqueued', 2)], [about(dup, 'task.enqueued', 3)], [about(c, 'task.enqueued', 4)], undefined];
      const created = await b.tasks.create([a, dup, c, quiet], { events });
      expect(created.map((r) => r.duplicate)).toEqual([false, true, false, false]);
      expectAppended(await logged(b), [storedAs(await mustGet(b, a.id), events[0]!), storedAs(await mustGet(b, c.id), events[2]!)]);
    });

    itWhen(h, { atomicEvents: true }, 'start with startedEvents appends exactly transitions.startedEvent for each task it started, nothing for the others', async () => {
      const b = h.backend();
      const quiet = await pendingTask(b);
      await startTask(b, quiet.id);
      expect(await logged(b), 'start without startedEvents appends nothing').toEqual([]);
      const one = await pendingTask(b);
      const two = await pendingTask(b, { runId: null, phaseId: null });
      const running = await seasonedTask(b);
      const unknown = newId();
      const results = await b.tasks.start(
        [one, running, { id: unknown }, two].map((s, i) => ({ taskId: s.id, leaseId: `lease-started-${i}`, workerId: `worker-${i}` })),
        { startedEvents: true },
      );
      expect(results.map((r) => r.task?.state ?? null)).toEqual(['running', null, null, 'running']);
      const got = await logged(b);
      expect(got.map((e) => e.taskId).sort()).toEqual([one.id, two.id].sort());
      expect(new Set(got.map((e) => e.id)).size).toBe(2);
      for (const e of got) {
        const started = results.find((r) => r.taskId === e.taskId)!.task!;
        expect(typeof e.id === 'string' && e.id.length > 0).toBe(true);
        expect(e).toEqual(transitions.startedEvent(started, e.id));
      }
    });

    itWhen(h, { atomicEvents: true }, 'finish appends the events of each applied outcome, whatever its state, and none of a refused one', async () => {
      const b = h.backend();
      const [done, retry, dead, released] = [await startedTask(b), await seasonedTask(b), await seasonedTask(b), await startedTask(b)];
      const stale = await leaseLostTask(b);
      const ev = {
        done: [about(done, 'task.completed', 1)],
        retry: [about(retry, 'task.failed', 2), about(retry, 'task.retry_scheduled', 3)],
        stale: [about(stale, 'task.completed', 4)],
        dead: [about(dead, 'task.failed', 5), about(dead, 'task.dead', 6)],
        released: [about(released, 'task.released', 7)],
      };
      const applied = await b.tasks.finish([
        { taskId: done.id, leaseId: done.leaseId, state: 'completed', result: 1, events: ev.done },
        { taskId: retry.id, leaseId: retry.leaseId, state: 'scheduled', error: poisonPill, events: ev.retry },
        { taskId: stale.id, leaseId: stale.leaseId, state: 'completed', result: 2, events: ev.stale },
        { taskId: dead.id, leaseId: dead.leaseId, state: 'dead', error: poisonPill, events: ev.dead },
        { taskId: released.id, leaseId: released.leaseId, state: 'pending', events: ev.released },
      ]);
      expect(applied).toEqual([true, true, false, true, true]);
      const task = (s: Subject) => mustGet(b, s.id);
      expectAppended(await logged(b), [
        storedAs(await task(done), ev.done),
        storedAs(await task(retry), ev.retry),
        storedAs(await task(dead), ev.dead),
        storedAs(await task(released), ev.released),
      ]);
    });

    itWhen(h, { atomicEvents: true }, 'recover appends recoveredEvents when the task went back to pending, deadEvents when it died, nothing when skipped', async () => {
      const b = h.backend();
      const back = await startedTask(b);
      const buried = await seasonedTask(b);
      const stale = await leaseLostTask(b);
      const item = (s: Subject, n: number) => ({ taskId: s.id, leaseId: s.leaseId, poisonPill, recoveredEvents: [about(s, 'task.recovered', n)], deadEvents: [about(s, 'task.dead', n + 1)] });
      const items = [item(back, 1), item(buried, 3), item(stale, 5)];
      expect(await b.tasks.recover(items, 1)).toEqual(['recovered', 'dead', 'skipped']);
      expectAppended(await logged(b), [storedAs(await mustGet(b, back.id), items[0]!.recoveredEvents), storedAs(await mustGet(b, buried.id), items[1]!.deadEvents)]);
    });

    itWhen(h, { atomicEvents: true }, 'transition and retry append events[i] for each task that moved and none for the others', async () => {
      const b = h.backend();
      const pending = await pendingTask(b);
      const running = await seasonedTask(b);
      const completed = await finishedTask(b, 'completed');
      const moving = [[about(pending, 'task.cancelled', 1)], [about(running, 'task.cancelled', 2)], [about(completed, 'task.cancelled', 3)]];
      const moved = await b.tasks.transition([pending.id, running.id, completed.id], ['pending', 'running'], 'cancelled', { error: poisonPill, events: moving });
      expect([...moved].sort()).toEqual([pending.id, running.id].sort());
      expectAppended(await logged(b), [storedAs(await mustGet(b, pending.id), moving[0]!), storedAs(await mustGet(b, running.id), moving[1]!)]);

      const before = (await logged(b)).length;
      const live = await pendingTask(b);
      const retried = [[about(pending, 'task.retried', 4)], undefined, [about(live, 'task.retried', 5)], [about(completed, 'task.retried', 6)]];
      const back = await b.tasks.retry([pending.id, running.id, live.id, completed.id], { resetAttempts: false, events: retried });
      expect([...back].sort()).toEqual([pending.id, running.id, completed.id].sort());
      expectAppended((await logged(b)).slice(before), [storedAs(await mustGet(b, pending.id), retried[0]!), storedAs(await mustGet(b, completed.id), retried[3]!)]);
    });

    itWhen(h, { atomicEvents: true }, 'setProgress and checkpoint save append their events iff the lease is held', async () => {
      const b = h.backend();
      const held = await seasonedTask(b);
      const stale = await leaseLostTask(b);
      const progress = [about(held, 'task.progress', 1)];
      const checkpointed = [about(held, 'task.checkpointed', 2), about(held, 'task.checkpointed', 3)];
      expect(await b.tasks.setProgress(stale.id, stale.leaseId, { p: 0 }, { events: [about(stale, 'task.progress', 4)] })).toBe(false);
      expect(await b.tasks.setProgress(held.id, held.leaseId, { p: 1 }, { events: progress })).toBe(true);
      expect(await b.checkpoints.save(stale.id, stale.leaseId, jsonBlob('x', 0), { events: [about(stale, 'task.checkpointed', 5)] })).toBe(false);
      expect(await b.checkpoints.save(held.id, held.leaseId, jsonBlob('y', 1), { events: checkpointed })).toBe(true);
      const task = await mustGet(b, held.id);
      expect(await logged(b)).toEqual(storedAs(task, [...progress, ...checkpointed]));
    });

    itWhen(h, { atomicEvents: false }, 'without atomicEvents, every write handed events applies as usual and appends nothing', async () => {
      const b = h.backend();
      const t = richTask();
      expect(await b.tasks.create([t], { events: [[about(t, 'task.enqueued', 1)]] })).toEqual([{ id: t.id, duplicate: false }]);
      const [started] = await b.tasks.start([{ taskId: t.id, leaseId: 'lease-1', workerId: 'w' }], { startedEvents: true });
      expect(started?.task?.state).toBe('running');
      const s = { id: t.id, leaseId: 'lease-1' };
      expect(await b.tasks.setProgress(s.id, s.leaseId, 1, { events: [about(s, 'task.progress', 2)] })).toBe(true);
      expect(await b.checkpoints.save(s.id, s.leaseId, jsonBlob('c', 1), { events: [about(s, 'task.checkpointed', 3)] })).toBe(true);
      expect(await b.tasks.finish([{ taskId: s.id, leaseId: s.leaseId, state: 'dead', error: poisonPill, events: [about(s, 'task.dead', 4)] }])).toEqual([true]);
      expect(await b.tasks.retry([s.id], { resetAttempts: true, events: [[about(s, 'task.retried', 5)]] })).toEqual([s.id]);
      expect(await b.tasks.transition([s.id], ['pending'], 'cancelled', { events: [[about(s, 'task.cancelled', 6)]] })).toEqual([s.id]);
      const other = await startedTask(b);
      expect(await b.tasks.recover([{ taskId: other.id, leaseId: other.leaseId, poisonPill, recoveredEvents: [about(other, 'task.recovered', 7)] }], 5)).toEqual(['recovered']);
      expect(await logged(b)).toEqual([]);
    });
  });
}
