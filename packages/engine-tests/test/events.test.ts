// The audit trail: on a backend with atomicEvents a task's events ride with the writes they
// record; without it the EventPublisher appends the same events after each write, in order, and
// drops nothing while the EventLog fails for a while.
import { afterEach, describe, expect, it } from 'vitest';
import type { Backend, NewEvent, StoredEvent } from '@baton/core';
import type { CheckpointStore, EventLog, TaskFlow, TaskStore } from '@baton/core/adapter';
import { FakeClock, memoryBackend, type MemoryBackend } from '@baton/memory';
import { closeAll, harness, override, types, type Harness } from './helpers.js';

afterEach(closeAll);

const LIFECYCLE = ['task.enqueued', 'task.started', 'task.checkpointed', 'task.progress', 'task.completed'];

/**
 * The memory backend, instrumented: after each task write returns (before the engine sees the
 * answer) the event log is read, and every call to EventLog.append is recorded. `atomicEvents`
 * is what the wrapper declares; `failAppends` makes the first N appends throw.
 */
function instrumented(memory: MemoryBackend, options: { atomicEvents: boolean; failAppends?: number }) {
  const afterWrite: { write: string; log: StoredEvent[] }[] = [];
  const appended: NewEvent[][] = [];
  let failures = options.failAppends ?? 0;
  const snap = async <T>(write: string, p: Promise<T>): Promise<T> => {
    const r = await p;
    afterWrite.push({ write, log: await memory.events.query({ limit: 1_000 }) });
    return r;
  };
  const flow = override<TaskFlow>(memory.flow!, {
    createAndEnqueue: (...a) => snap('createAndEnqueue', memory.flow!.createAndEnqueue(...a)),
    claimAndStart: async (...a) => {
      const claimed = await memory.flow!.claimAndStart(...a);
      return claimed.length > 0 ? snap('claimAndStart', Promise.resolve(claimed)) : claimed;
    },
    finishAndSettle: (...a) => snap('finishAndSettle', memory.flow!.finishAndSettle(...a)),
  });
  const checkpoints = override<CheckpointStore>(memory.checkpoints, { save: (...a) => snap('checkpoints.save', memory.checkpoints.save(...a)) });
  const tasks = override<TaskStore>(memory.tasks, { setProgress: (...a) => snap('tasks.setProgress', memory.tasks.setProgress(...a)) });
  const events = override<EventLog>(memory.events, {
    async append(batch, writeOptions) {
      if (failures > 0) {
        failures--;
        throw new Error('event log unreachable');
      }
      appended.push(batch.map((e) => ({ ...e })));
      return memory.events.append(batch, writeOptions);
    },
  });
  const backend: Backend = { ...memory, capabilities: { ...memory.capabilities, atomicEvents: options.atomicEvents }, flow, checkpoints, tasks, events };
  return { backend, afterWrite, appended };
}

async function runOne(h: Harness): Promise<string> {
  h.baton.register('work', async (_i, ctx) => {
    await ctx.saveCheckpoint('half', { n: 1 }, { flush: true });
    await ctx.reportProgress(0.5);
    return 'done';
  });
  await h.baton.start();
  const { taskId } = await h.baton.enqueue('work', {});
  await h.until(async () => (await h.task(taskId)).state === 'completed', 'completion');
  return taskId;
}

/** The task's event types in the log as it was right after the given write. */
function logAfter(afterWrite: { write: string; log: StoredEvent[] }[], write: string, taskId: string): string[] {
  const at = afterWrite.find((w) => w.write === write);
  expect(at, `a ${write} happened`).toBeDefined();
  return types(at!.log.filter((e) => e.taskId === taskId));
}

describe('audit events', () => {
  it('with atomicEvents, each event is in the log as soon as its write returns, written by that write', async () => {
    const clock = new FakeClock();
    const memory = memoryBackend({ clock });
    const { backend, afterWrite, appended } = instrumented(memory, { atomicEvents: true });
    const h = harness({}, { clock, memory, backend });
    const taskId = await runOne(h);
    // (What the log holds "after" a write may run ahead of it: a claim woken by the enqueue can
    // start the task before the snapshot is read. It never lags behind.)
    const upTo = (write: string, n: number) => expect(logAfter(afterWrite, write, taskId).slice(0, n), write).toEqual(LIFECYCLE.slice(0, n));
    upTo('createAndEnqueue', 1);
    upTo('claimAndStart', 2);
    upTo('checkpoints.save', 3);
    upTo('tasks.setProgress', 4);
    upTo('finishAndSettle', 5);
    await h.baton.queryEvents({}); // flush the publisher
    // Only events that record no task write go through EventLog.append.
    expect(appended.flat().filter((e) => e.taskId === taskId)).toEqual([]);
    const stored = await h.stored(taskId);
    expect(types(stored)).toEqual(LIFECYCLE);
    expect(new Set(stored.map((e) => e.id)).size).toBe(stored.length);
  });

  it('with atomicEvents, task.started is stored with no listener at all, and heard by a listener of its type or of every type', async () => {
    // The engine builds its own copy of task.started only when someone listens (the store wrote the event).
    for (const listen of [null, 'task.started', '*'] as const) {
      const h = harness();
      const heard: NewEvent[] = [];
      if (listen !== null) h.baton.on(listen, (e) => heard.push(e));
      const taskId = await runOne(h);
      expect(types(await h.stored(taskId)), `listening to ${listen}`).toEqual(LIFECYCLE);
      const started = heard.filter((e) => e.type === 'task.started');
      expect(started.map((e) => e.taskId), `listening to ${listen}`).toEqual(listen === null ? [] : [taskId]);
    }
  });

  it('without atomicEvents, the EventPublisher appends the same events after their writes, in order', async () => {
    const clock = new FakeClock();
    const memory = memoryBackend({ clock });
    const { backend, afterWrite, appended } = instrumented(memory, { atomicEvents: false });
    const h = harness({}, { clock, memory, backend });
    const heard: NewEvent[] = [];
    h.baton.on('*', (e) => heard.push(e));
    const taskId = await runOne(h);
    // The writes carried nothing…
    expect(logAfter(afterWrite, 'createAndEnqueue', taskId)).toEqual([]);
    expect(logAfter(afterWrite, 'checkpoints.save', taskId)).not.toContain('task.checkpointed');
    // …and the publisher appended every event, once, in the order they happened.
    await h.baton.queryEvents({});
    expect(types(appended.flat().filter((e) => e.taskId === taskId))).toEqual(LIFECYCLE);
    const stored = await memory.events.query({ limit: 1_000 });
    expect(types(stored.filter((e) => e.taskId === taskId))).toEqual(LIFECYCLE);
    expect(stored.map((e) => e.id)).toEqual(heard.map((e) => e.id));
  });

  it('without atomicEvents, nothing is dropped while the EventLog fails for a while', async () => {
    const clock = new FakeClock();
    const memory = memoryBackend({ clock });
    const { backend } = instrumented(memory, { atomicEvents: false, failAppends: 3 });
    const h = harness({}, { clock, memory, backend });
    const heard: NewEvent[] = [];
    h.baton.on('*', (e) => heard.push(e));
    const taskId = await runOne(h);
    // queryEvents flushes: it waits out the publisher's backoff until everything landed.
    await h.baton.queryEvents({});
    const stored = await memory.events.query({ limit: 1_000 });
    expect(types(stored.filter((e) => e.taskId === taskId))).toEqual(LIFECYCLE);
    expect(stored.map((e) => e.id)).toEqual(heard.map((e) => e.id));
    const warned = h.logs.filter((l) => l.level === 'warn' && /event append failed/.test(l.msg ?? ''));
    expect(warned).toHaveLength(3);
    expect(warned.map((l) => l.fields.failures)).toEqual([1, 2, 3]);
  });
});
