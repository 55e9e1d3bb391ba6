// The audit's definitions on hand-made journals and records: each failure the chaos command
// claims to detect is detected, and what is allowed (at-least-once, work lost before its
// checkpoint) is not reported as a failure.
import { describe, expect, it } from 'vitest';
import type { TaskRecord, TaskState } from '@baton/core';
import { audit, failures, type AuditInput } from '../src/audit.js';
import type { JournalEntry } from '../src/journal.js';
import { expectedAcc } from '../src/workload.js';

const STEPS = 3;

function record(id: string, n: number, state: TaskState, result: TaskRecord['result'] = null, recoveries = 0): TaskRecord {
  return {
    id,
    type: 'chaos.steps',
    queue: 'default',
    priority: 0,
    group: null,
    input: { n, steps: STEPS, stepMs: 0, seed: 1 },
    state,
    idempotencyKey: id,
    runId: null,
    phaseId: null,
    attempt: 0,
    maxRetries: 10,
    recoveries,
    budget: null,
    usage: { costUsd: 0, tokens: 0 },
    progress: null,
    leaseId: null,
    workerId: null,
    hasCheckpoint: false,
    result,
    error: null,
    durationMs: null,
    createdAt: 0,
    updatedAt: 0,
    startedAt: null,
    heartbeatAt: null,
    finishedAt: null,
    traceContext: null,
    corruption: null,
  };
}

const done = (id: string, n: number, run: string, acc = expectedAcc(n, STEPS)) => record(id, n, 'completed', { n, steps: STEPS, acc, run, pid: 1 });

let clock = 0;
/** One whole run of task `t` from checkpoint `from`, journaled in order; `upTo` cuts it short (a kill). */
function runOf(t: string, run: string, from: number, upTo = STEPS, finish = upTo === STEPS): JournalEntry[] {
  const out: JournalEntry[] = [{ k: 'start', t, run, pid: 1, from, rec: 0, att: 0, at: ++clock }];
  for (let s = from + 1; s <= upTo; s++) {
    out.push({ k: 'step', t, run, s, at: ++clock });
    out.push({ k: 'ckpt', t, run, s, at: ++clock });
  }
  if (finish) out.push({ k: 'ret', t, run, at: ++clock }, { k: 'stored', t, run, at: ++clock });
  return out;
}

function input(over: Partial<AuditInput>): AuditInput {
  return { ids: new Map(), steps: STEPS, records: new Map(), completedEvents: new Map(), recoveredEvents: 0, journal: [], tornJournalLines: 0, ...over };
}

describe('chaos audit', () => {
  it('a clean run: everything completed once, nothing to report', () => {
    const a = audit(
      input({
        ids: new Map([['a', 0], ['b', 1]]),
        records: new Map([['a', done('a', 0, 'ra')], ['b', done('b', 1, 'rb')]]),
        journal: [...runOf('a', 'ra', 0), ...runOf('b', 'rb', 0)],
      }),
    );
    expect(a).toMatchObject({ enqueued: 2, completed: 2, lost: 0, duplicateStoredCompletions: 0, handlerRanTwice: 0, checkpointedStepsRedone: 0, stepsExecuted: 6, stepsNeeded: 6 });
    expect(failures(a)).toEqual([]);
  });

  it('a task not completed, missing, or completed with a wrong result is lost', () => {
    const a = audit(
      input({
        ids: new Map([['a', 0], ['b', 1], ['c', 2]]),
        records: new Map([['a', record('a', 0, 'running')], ['c', done('c', 2, 'rc', 'deadbeef')]]),
      }),
    );
    expect(a).toMatchObject({ completed: 0, lost: 3, wrongResults: 1, lostByState: { running: 1, missing: 1, completed: 1 } });
    expect(failures(a)).toHaveLength(1);
  });

  it('a killed run resumed from its last durable checkpoint: a recovery, no redone checkpointed step', () => {
    // Run 1 checkpoints step 1, executes step 2 and dies before step 2's checkpoint resolves.
    const killed: JournalEntry[] = [...runOf('a', 'r1', 0, 1, false), { k: 'step', t: 'a', run: 'r1', s: 2, at: ++clock }];
    const a = audit(input({ ids: new Map([['a', 0]]), records: new Map([['a', done('a', 0, 'r2')]]), journal: [...killed, ...runOf('a', 'r2', 1)] }));
    expect(a).toMatchObject({ completed: 1, checkpointedStepsRedone: 0, stepsExecuted: 4, stepsNeeded: 3, runs: 2, resumedRuns: 1 });
    expect(failures(a)).toEqual([]);
  });

  it('a run that starts below a checkpoint already durable redoes checkpointed steps', () => {
    const journal = [...runOf('a', 'r1', 0, 2, false), ...runOf('a', 'r2', 0)];
    const a = audit(input({ ids: new Map([['a', 0]]), records: new Map([['a', done('a', 0, 'r2')]]), journal }));
    expect(a).toMatchObject({ checkpointedStepsRedone: 2, tasksWithRedoneSteps: 1 });
  });

  it('the handler finishing twice with one stored completion is at-least-once, not a failure', () => {
    const first: JournalEntry[] = [...runOf('a', 'r1', 0, STEPS, false), { k: 'ret', t: 'a', run: 'r1', at: ++clock }];
    const a = audit(input({ ids: new Map([['a', 0]]), records: new Map([['a', done('a', 0, 'r2')]]), journal: [...first, ...runOf('a', 'r2', 0)] }));
    expect(a).toMatchObject({ handlerRanTwice: 1, duplicateStoredCompletions: 0, completed: 1 });
    expect(failures(a)).toEqual([]);
  });

  it('two acknowledged completion writes, or a stored result other than the acknowledged one, are a double completion', () => {
    const twice = audit(input({ ids: new Map([['a', 0]]), records: new Map([['a', done('a', 0, 'r2')]]), journal: [...runOf('a', 'r1', 0), ...runOf('a', 'r2', 0)] }));
    expect(twice.duplicateStoredCompletions).toBe(1);
    expect(failures(twice)).toHaveLength(1);
    const replaced = audit(input({ ids: new Map([['a', 0]]), records: new Map([['a', done('a', 0, 'r9')]]), journal: runOf('a', 'r1', 0) }));
    expect(replaced.duplicateStoredCompletions).toBe(1);
  });

  it('two task.completed events are reported apart and do not fail the run by themselves', () => {
    const a = audit(input({ ids: new Map([['a', 0]]), records: new Map([['a', done('a', 0, 'r1')]]), journal: runOf('a', 'r1', 0), completedEvents: new Map([['a', 2]]) }));
    expect(a).toMatchObject({ duplicateCompletedEvents: 1, duplicateStoredCompletions: 0 });
    expect(failures(a)).toEqual([]);
  });
});
