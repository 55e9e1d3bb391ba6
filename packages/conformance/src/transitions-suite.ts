// Field-level lifecycle: for every change a store makes to a task, the WHOLE stored record after
// the change must equal what core's `transitions` compute from the record before it, with `now`
// read back from the store. A store that keeps `workerId` after a finish, keeps `error` after a
// completion or resets a counter it should keep fails here, naming the field.
import { describe, expect, it } from 'vitest';
import { isTerminal, transitions, type Backend, type StartResult, type TaskOutcome, type TaskRecord, type TaskState } from '@baton/core/adapter';
import { isEpochMs, jsonBlob, mustGet, newTask, sleep, startAnswer, type Harness } from './harness.js';
import { recordDiff } from './record-diff.js';
import {
  finishedTask,
  leaseLostTask,
  pendingTask,
  poisonPill,
  recoveredTask,
  scheduledTask,
  seasonedTask,
  startedTask,
  secondFailure,
  type Subject,
} from './task-fixtures.js';

const CLOCK_GAP_MS = 15;

/** Which stored field carries the backend's `now` after the change. */
/** Which clock field a change stamps (checked against the backend's now). */
export type NowField = 'updatedAt' | 'heartbeatAt' | 'none';

export interface LifecycleChange {
  /** The test name: the behaviour the change must show. */
  name: string;
  /** Brings a fresh task to the point the change starts from. */
  arrange(b: Backend): Promise<Subject>;
  /** Makes the change through the port; returns the port's answer. */
  act(b: Backend, s: Subject): Promise<unknown>;
  /** The record core's transitions make of `before` at `now`; null: the change is refused. */
  next(before: TaskRecord, now: number, s: Subject): TaskRecord | null;
  /** What the port must answer, given the stored record after an applied change (null: refused). */
  answer(after: TaskRecord | null, before: TaskRecord): unknown;
  /** Guards the case itself: whether transitions say the change applies to the arranged task. */
  applies: boolean;
  /** Lifecycle changes stamp `updatedAt`; a heartbeat stamps `heartbeatAt`; other fenced writes stamp nothing. */
  now: NowField;
}

/**
 * Arranges, reads the record, makes the change, reads it again and compares every field with
 * `change.next(before, now)`. Throws (an assertion error) on any difference.
 */
export async function checkChange(b: Backend, change: LifecycleChange): Promise<void> {
  const s = await change.arrange(b);
  const before = await mustGet(b, s.id);
  // Lets the backend clock move on, so a change that should stamp `now` and did not (or stamped
  // a field it should have left alone) cannot hide behind the millisecond of the arrangement.
  await sleep(CLOCK_GAP_MS);
  const answer = await change.act(b, s);
  const after = await mustGet(b, s.id);
  const stamped = change.now === 'heartbeatAt' ? after.heartbeatAt : after.updatedAt;
  expect(typeof stamped, `${change.now} after the change`).toBe('number');
  const now = stamped as number;
  const next = change.next(before, now, s);
  expect(next !== null, 'whether transitions apply the change to the arranged task (a broken arrangement)').toBe(change.applies);
  if (next !== null && change.now !== 'none') {
    expect(isEpochMs(now), `${change.now} ${now} is the backend's epoch ms`).toBe(true);
    const previous = change.now === 'heartbeatAt' ? (before.heartbeatAt ?? 0) : before.updatedAt;
    expect(now, `${change.now} is stamped with the backend's now, later than before the change`).toBeGreaterThan(previous);
  }
  const diffs = recordDiff(after, next ?? before);
  const label = next === null ? 'a refused change must leave the record as it was' : 'the stored record must equal what transitions compute';
  expect(diffs, `${label}:\n  ${diffs.join('\n  ')}`).toEqual([]);
  expect(answer, 'the port answer').toEqual(change.answer(next === null ? null : after, before));
}

function finishing(name: string, arrange: LifecycleChange['arrange'], outcome: Omit<TaskOutcome, 'taskId' | 'leaseId'>, applies = true): LifecycleChange {
  const full = (s: Subject): TaskOutcome => ({ taskId: s.id, leaseId: s.leaseId, ...outcome });
  return {
    name,
    arrange,
    applies,
    now: 'updatedAt',
    act: (b, s) => b.tasks.finish([full(s)]),
    next: (before, now, s) => transitions.finish(before, full(s), now),
    answer: (after) => [after !== null],
  };
}

function moving(name: string, arrange: LifecycleChange['arrange'], from: TaskState[], to: TaskState, withError: boolean, applies = true): LifecycleChange {
  const error = withError ? { name: 'CancelledError', message: 'cancelled by an operator', code: 'CANCELLED', stack: null } : undefined;
  return {
    name,
    arrange,
    applies,
    now: 'updatedAt',
    act: (b, s) => b.tasks.transition([s.id], from, to, error === undefined ? undefined : { error }),
    next: (before, now) => transitions.transition(before, from, to, now, error),
    answer: (after) => (after === null ? [] : [after.id]),
  };
}

function recovering(name: string, arrange: LifecycleChange['arrange'], maxRecoveries: number, applies = true): LifecycleChange {
  return {
    name,
    arrange,
    applies,
    now: 'updatedAt',
    act: (b, s) => b.tasks.recover([{ taskId: s.id, leaseId: s.leaseId, poisonPill }], maxRecoveries),
    next: (before, now, s) => transitions.recover(before, s.leaseId, maxRecoveries, poisonPill, now),
    answer: (after) => [after === null ? 'skipped' : after.state === 'dead' ? 'dead' : 'recovered'],
  };
}

function retrying(name: string, arrange: LifecycleChange['arrange'], resetAttempts: boolean, applies = true): LifecycleChange {
  return {
    name,
    arrange,
    applies,
    now: 'updatedAt',
    act: (b, s) => b.tasks.retry([s.id], { resetAttempts }),
    next: (before, now) => transitions.retry(before, resetAttempts, now),
    answer: (after) => (after === null ? [] : [after.id]),
  };
}

/** A refused start says where the task is, and under which lease when it is running. */
function refusedStart(before: TaskRecord): StartResult {
  return { taskId: before.id, task: null, state: before.state, ...(before.state === 'running' ? { leaseId: before.leaseId } : {}) };
}

const starting = (leaseId: string, workerId: string): Pick<LifecycleChange, 'act' | 'next' | 'answer' | 'now'> => ({
  now: 'updatedAt',
  act: async (b, s) => (await b.tasks.start([{ taskId: s.id, leaseId, workerId }])).map(startAnswer),
  next: (before, now) => transitions.start(before, leaseId, workerId, now),
  answer: (after, before) => [after === null ? refusedStart(before) : { taskId: before.id, task: after }],
});

const fenced = (rec: TaskRecord, leaseId: string, change: (r: TaskRecord) => TaskRecord): TaskRecord | null =>
  transitions.holdsLease(rec, leaseId) ? change(rec) : null;

const progress = { step: 2, of: 3, note: 'half-way ✓' };
const blob = jsonBlob('step-2', { done: [1, 2] });

/** Every change the lifecycle defines, on the tasks it applies to and on ones it must refuse. */
export const LIFECYCLE_CHANGES: readonly LifecycleChange[] = [
  {
    name: 'start moves a pending task to running under the claim: leaseId, workerId, startedAt = heartbeatAt = now',
    arrange: pendingTask,
    applies: true,
    ...starting('lease-start', 'worker-start'),
  },
  {
    name: 'start of a task recovered after a crash keeps attempt, recoveries, error, progress, usage and hasCheckpoint',
    arrange: recoveredTask,
    applies: true,
    ...starting('lease-restart', 'worker-restart'),
  },
  {
    name: 'start of a running task is refused, reports running under its current lease and changes nothing',
    arrange: seasonedTask,
    applies: false,
    ...starting('lease-intruder', 'worker-intruder'),
  },
  {
    name: 'start of a finished task is refused, reports its state and changes nothing',
    arrange: (b) => finishedTask(b, 'dead'),
    applies: false,
    ...starting('lease-late', 'worker-late'),
  },
  finishing('finish as completed on the first run stores result and durationMs, sets finishedAt, clears leaseId, workerId and heartbeatAt', startedTask, {
    state: 'completed',
    result: { ok: true, items: ['a', 'ü'] },
    durationMs: 21,
  }),
  finishing('finish as completed after a retry clears the earlier error and keeps attempt, recoveries, progress and usage', seasonedTask, {
    state: 'completed',
    result: 'done',
    durationMs: 5,
  }),
  finishing('finish as completed without durationMs or result keeps the stored durationMs and stores a null result', seasonedTask, { state: 'completed' }),
  finishing('finish as scheduled (a retry) increments attempt, stores the error and durationMs, leaves finishedAt unset', seasonedTask, {
    state: 'scheduled',
    error: secondFailure,
    durationMs: 17,
  }),
  finishing('finish as dead with retries exhausted stores the error and durationMs and sets finishedAt', seasonedTask, {
    state: 'dead',
    error: secondFailure,
    durationMs: 19,
  }),
  finishing('finish as dead without an error keeps the earlier error', seasonedTask, { state: 'dead' }),
  finishing('finish as dead on a permanent failure of the first run stores the error with attempt still 0', startedTask, {
    state: 'dead',
    error: { name: 'PermanentError', message: 'bad input', code: 'PERMANENT', stack: null },
    durationMs: 3,
  }),
  finishing('finish as pending (release on shutdown or open breaker) clears the lease fields and counts nothing', seasonedTask, { state: 'pending' }),
  finishing('finish under a lease that moved on is refused and changes nothing', leaseLostTask, { state: 'completed', result: 'stale' }, false),
  moving('cancel of a pending task makes it cancelled with the error and finishedAt', pendingTask, ['pending', 'running', 'scheduled'], 'cancelled', true),
  moving('cancel of a running task clears leaseId, workerId and heartbeatAt', seasonedTask, ['pending', 'running', 'scheduled'], 'cancelled', true),
  moving('cancel of a scheduled task makes it cancelled with the error and finishedAt', scheduledTask, ['pending', 'running', 'scheduled'], 'cancelled', true),
  moving('cancel without an error keeps the earlier error', scheduledTask, ['scheduled'], 'cancelled', false),
  moving('a due retry timer moves a scheduled task to pending, keeping its error and finishedAt', scheduledTask, ['scheduled'], 'pending', false),
  moving('transition of a task whose state is not in from is refused and changes nothing', (b) => finishedTask(b, 'completed'), ['pending', 'running', 'scheduled'], 'cancelled', true, false),
  recovering('recover below maxRecoveries hands the task back to pending with recoveries + 1 and the lease fields cleared', seasonedTask, 5),
  recovering('recover at maxRecoveries makes the task dead with the given poison pill stored verbatim and finishedAt set', seasonedTask, 1),
  recovering('recover under a lease that moved on is skipped and changes nothing', leaseLostTask, 5, false),
  ...(['dead', 'completed', 'cancelled'] as const).flatMap((state) => [
    retrying(`retry of a ${state} task makes it pending, keeps attempt, recoveries and error, clears result, progress, durationMs and finishedAt`, (b) => finishedTask(b, state), false),
    retrying(`retry of a ${state} task with resetAttempts also zeroes attempt and recoveries`, (b) => finishedTask(b, state), true),
  ]),
  retrying('retry of a pending task is refused and changes nothing', pendingTask, true, false),
  retrying('retry of a running task is refused and changes nothing', seasonedTask, true, false),
  retrying('retry of a scheduled task is refused and changes nothing', scheduledTask, false, false),
  {
    name: 'heartbeat sets heartbeatAt to now and leaves updatedAt and every other field alone',
    arrange: seasonedTask,
    applies: true,
    now: 'heartbeatAt',
    act: (b, s) => b.tasks.heartbeat([{ taskId: s.id, leaseId: s.leaseId }]),
    next: (before, now, s) => transitions.heartbeat(before, s.leaseId, now),
    answer: (after) => [after !== null],
  },
  {
    name: 'heartbeat under a lease that moved on is refused and changes nothing',
    arrange: leaseLostTask,
    applies: false,
    now: 'heartbeatAt',
    act: (b, s) => b.tasks.heartbeat([{ taskId: s.id, leaseId: s.leaseId }]),
    next: (before, now, s) => transitions.heartbeat(before, s.leaseId, now),
    answer: (after) => [after !== null],
  },
  ...([
    [seasonedTask, true],
    [leaseLostTask, false],
  ] as const).flatMap(([arrange, applies]): LifecycleChange[] => [
    {
      name: applies ? 'setProgress stores the progress and leaves updatedAt alone' : 'setProgress under a lease that moved on is refused and changes nothing',
      arrange,
      applies,
      now: 'none',
      act: (b, s) => b.tasks.setProgress(s.id, s.leaseId, progress),
      next: (before, _now, s) => transitions.setProgress(before, s.leaseId, progress),
      answer: (after) => after !== null,
    },
    {
      name: applies ? 'recordUsage adds to usage, returns the totals and leaves updatedAt alone' : 'recordUsage under a lease that moved on returns null and changes nothing',
      arrange,
      applies,
      now: 'none',
      act: (b, s) => b.tasks.recordUsage(s.id, s.leaseId, { costUsd: 0.25, tokens: 50 }),
      next: (before, _now, s) => transitions.addUsage(before, s.leaseId, { costUsd: 0.25, tokens: 50 }),
      answer: (after) => after?.usage ?? null,
    },
    {
      name: applies ? 'checkpoint save sets hasCheckpoint and leaves updatedAt alone' : 'checkpoint save under a lease that moved on is refused and changes nothing',
      // The first save of a task's life: hasCheckpoint goes from false to true.
      arrange: applies ? startedTask : arrange,
      applies,
      now: 'none',
      act: (b, s) => b.checkpoints.save(s.id, s.leaseId, blob),
      next: (before, _now, s) => fenced(before, s.leaseId, (r) => ({ ...r, hasCheckpoint: true })),
      answer: (after) => after !== null,
    },
  ]),
  {
    name: 'checkpoint delete clears hasCheckpoint of a running task and leaves updatedAt alone',
    arrange: seasonedTask,
    applies: true,
    now: 'none',
    act: (b, s) => b.checkpoints.delete([s.id]),
    next: (before) => ({ ...before, hasCheckpoint: false }),
    answer: () => 1,
  },
  {
    name: 'checkpoint delete clears hasCheckpoint of a finished task and leaves updatedAt alone',
    arrange: (b) => finishedTask(b, 'completed'),
    applies: true,
    now: 'none',
    act: (b, s) => b.checkpoints.delete([s.id]),
    next: (before) => (isTerminal(before.state) ? { ...before, hasCheckpoint: false } : null),
    answer: () => 1,
  },
];

export function transitionsSuite(h: Harness): void {
  describe('TaskStore: every field of every lifecycle change (task-transitions.ts)', () => {
    it('create stores exactly transitions.createRecord of the new task: pending, zeroed counters, createdAt = updatedAt = now', async () => {
      const b = h.backend();
      const t = newTask({ queue: 'q-create', priority: -3, group: 'g-1', runId: 'run-c', phaseId: 'phase-c', maxRetries: 9, budget: { tokens: 10 }, input: [1, 'x', { y: null }] });
      expect(await b.tasks.create([t])).toEqual([{ id: t.id, duplicate: false }]);
      const after = await mustGet(b, t.id);
      expect(isEpochMs(after.createdAt), 'createdAt is the backend clock').toBe(true);
      expect(recordDiff(after, transitions.createRecord(t, after.createdAt))).toEqual([]);
    });

    for (const change of LIFECYCLE_CHANGES) it(change.name, () => checkChange(h.backend(), change));
  });
}
