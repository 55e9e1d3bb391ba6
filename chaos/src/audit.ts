// The end-of-run audit: the store's view (task records, the event log) against the workers'
// journals. Every number printed at the end is defined here.
import type { TaskRecord, TaskState } from '@baton/core';
import type { JournalEntry } from './journal.js';
import { expectedAcc, type ChaosResult } from './workload.js';

export interface Audit {
  enqueued: number;
  /** Tasks whose stored state is completed with the expected result. */
  completed: number;
  /** enqueued − completed: not completed within the time bound, or completed with a wrong result. */
  lost: number;
  /** Of the lost: where they were left, by stored state ('missing': no record at all). */
  lostByState: Partial<Record<TaskState | 'missing', number>>;
  /** Of the lost: completed in the store, but the result is not the one the inputs determine. */
  wrongResults: number;
  /**
   * Tasks completed more than once in the store (a bug): two handler runs were each told their
   * fenced completion write was applied (task.completed in their process), or the stored result
   * is not the one whose write was acknowledged (a later write replaced it).
   */
  duplicateStoredCompletions: number;
  /**
   * Tasks with more than one task.completed event in the durable event log. Reported apart: a
   * repeated audit event (e.g. an event append retried after a cut connection) is not a second
   * completion by itself; the journal check above is what says whether the task completed twice.
   */
  duplicateCompletedEvents: number;
  /** Tasks whose handler returned more than once (at-least-once after a lease loss; not a bug by itself). */
  handlerRanTwice: number;
  /** Handler returns in total (= enqueued when nothing ran twice). */
  handlerReturns: number;
  /** Handler runs started, and how many of them resumed from a checkpoint. */
  runs: number;
  resumedRuns: number;
  /** Runs that ended in an exception (lease lost, backend unavailable, …), by error name. */
  failedRuns: number;
  failedRunsByError: Record<string, number>;
  /** Steps executed in total, and the minimum the tasks needed (enqueued × steps). */
  stepsExecuted: number;
  stepsNeeded: number;
  /**
   * Steps executed again although a checkpoint covering them had been saved durably (saveCheckpoint
   * with flush resolved) before the run that redid them started: each such step is a durable
   * checkpoint the resuming run did not see. Steps lost with a killed worker before their checkpoint
   * resolved are not counted: redoing those is the contract.
   */
  checkpointedStepsRedone: number;
  /** Tasks with at least one such redone step. */
  tasksWithRedoneSteps: number;
  /** A resumed checkpoint that this workload did not write (wrong token or data). */
  badCheckpoints: number;
  /** Sum of the stored `recoveries` counters: reclaims after a worker stopped heartbeating. */
  recoveries: number;
  /** task.recovered events in the log (processes killed before flushing lose theirs: a lower bound). */
  recoveredEvents: number;
  /** Sum of the stored `attempt` counters: failed runs that were retried. */
  retries: number;
  /** Journal lines cut by a SIGKILL mid-write (the last line of a file). */
  tornJournalLines: number;
  /** A few ids of lost / duplicated tasks, to look at. */
  examples: { lost: string[]; duplicates: string[]; redone: string[] };
  /** For the first few lost tasks: stored state and counters, and the last thing a worker journaled about it. */
  lostDetails: string[];
}

export interface AuditInput {
  /** Task id → its number n, for every enqueued task. */
  ids: Map<string, number>;
  steps: number;
  records: Map<string, TaskRecord>;
  /** task.completed events per task id in the event log. */
  completedEvents: Map<string, number>;
  recoveredEvents: number;
  journal: JournalEntry[];
  tornJournalLines: number;
}

function isResult(v: unknown): v is ChaosResult {
  if (v === null || typeof v !== 'object') return false;
  const r = v as Partial<ChaosResult>;
  return typeof r.n === 'number' && typeof r.steps === 'number' && typeof r.acc === 'string' && typeof r.run === 'string';
}

export function audit(input: AuditInput): Audit {
  const { ids, steps, records } = input;
  const a: Audit = {
    enqueued: ids.size,
    completed: 0,
    lost: 0,
    lostByState: {},
    wrongResults: 0,
    duplicateStoredCompletions: 0,
    duplicateCompletedEvents: 0,
    handlerRanTwice: 0,
    handlerReturns: 0,
    runs: 0,
    resumedRuns: 0,
    failedRuns: 0,
    failedRunsByError: {},
    stepsExecuted: 0,
    stepsNeeded: ids.size * steps,
    checkpointedStepsRedone: 0,
    tasksWithRedoneSteps: 0,
    badCheckpoints: 0,
    recoveries: 0,
    recoveredEvents: input.recoveredEvents,
    retries: 0,
    tornJournalLines: input.tornJournalLines,
    examples: { lost: [], duplicates: [], redone: [] },
    lostDetails: [],
  };

  // Journal, per task, in time order (readJournals sorts by stamp).
  const returns = new Map<string, number>();
  const stored = new Map<string, Set<string>>();
  const highestCheckpoint = new Map<string, number>();
  const redoneTasks = new Set<string>();
  const last = new Map<string, JournalEntry>();
  for (const e of input.journal) {
    if (e.k !== 'ready') last.set(e.t, e);
    switch (e.k) {
      case 'start': {
        a.runs++;
        if (e.from > 0) a.resumedRuns++;
        // Steps this run will redo although a durable checkpoint already covered them.
        const redo = Math.max(0, (highestCheckpoint.get(e.t) ?? 0) - e.from);
        if (redo > 0) {
          a.checkpointedStepsRedone += redo;
          redoneTasks.add(e.t);
        }
        break;
      }
      case 'step':
        a.stepsExecuted++;
        break;
      case 'ckpt':
        highestCheckpoint.set(e.t, Math.max(highestCheckpoint.get(e.t) ?? 0, e.s));
        break;
      case 'ret':
        returns.set(e.t, (returns.get(e.t) ?? 0) + 1);
        a.handlerReturns++;
        break;
      case 'err': {
        a.failedRuns++;
        const name = /^([A-Za-z]+Error)\b/.exec(e.msg)?.[1] ?? e.msg.slice(0, 60);
        a.failedRunsByError[name] = (a.failedRunsByError[name] ?? 0) + 1;
        break;
      }
      case 'stored': {
        const set = stored.get(e.t) ?? new Set<string>();
        // A null run (the process lost track) still counts as one acknowledged write.
        set.add(e.run ?? `?${set.size}`);
        stored.set(e.t, set);
        break;
      }
      case 'bad-ckpt':
        a.badCheckpoints++;
        break;
      case 'ready':
        break;
    }
  }
  a.tasksWithRedoneSteps = redoneTasks.size;
  a.examples.redone = [...redoneTasks].slice(0, 5);
  for (const [, n] of returns) if (n > 1) a.handlerRanTwice++;

  for (const [id, n] of ids) {
    const rec = records.get(id);
    if (rec) {
      a.recoveries += rec.recoveries;
      a.retries += rec.attempt;
    }
    let ok = false;
    if (rec?.state === 'completed') {
      const r = rec.result;
      ok = isResult(r) && r.n === n && r.steps === steps && r.acc === expectedAcc(n, steps);
      if (!ok) a.wrongResults++;
    }
    if (ok) a.completed++;
    else {
      a.lost++;
      const where = rec ? rec.state : 'missing';
      a.lostByState[where] = (a.lostByState[where] ?? 0) + 1;
      if (a.examples.lost.length < 5) {
        a.examples.lost.push(id);
        const l = last.get(id);
        const what = l === undefined ? '' : l.k === 'step' ? `step ${l.s} executed` : l.k === 'ckpt' ? `step ${l.s} checkpointed` : l.k === 'start' ? `run started from step ${l.from} by pid ${l.pid}` : l.k;
        const lastSeen = l === undefined ? 'never started' : `last journaled: ${what} (run ${'run' in l ? l.run : '?'})`;
        a.lostDetails.push(`${id}: ${where}${rec ? `, recoveries ${rec.recoveries}, attempt ${rec.attempt}, worker ${rec.workerId ?? '-'}` : ''}; ${lastSeen}`);
      }
    }
    const acks = stored.get(id);
    const storedRun = rec?.state === 'completed' && isResult(rec.result) ? rec.result.run : null;
    if ((input.completedEvents.get(id) ?? 0) > 1) a.duplicateCompletedEvents++;
    const twiceAcked = (acks?.size ?? 0) > 1;
    // The acknowledged run and the stored result disagree: a later write replaced a completed task's result.
    const acked = acks && acks.size === 1 ? [...acks][0]! : null;
    const replaced = acked !== null && !acked.startsWith('?') && storedRun !== null && storedRun !== acked;
    if (twiceAcked || replaced) {
      a.duplicateStoredCompletions++;
      if (a.examples.duplicates.length < 5) a.examples.duplicates.push(id);
    }
  }
  return a;
}

/** Loss, a wrong result, a task completed twice in the store or a corrupt checkpoint fail the run. */
export function failures(a: Audit): string[] {
  const out: string[] = [];
  if (a.lost > 0) out.push(`${a.lost} task(s) lost (${Object.entries(a.lostByState).map(([s, n]) => `${n} ${s}`).join(', ')}${a.wrongResults > 0 ? `; ${a.wrongResults} with a wrong result` : ''})`);
  if (a.duplicateStoredCompletions > 0) out.push(`${a.duplicateStoredCompletions} task(s) completed more than once in the store`);
  if (a.badCheckpoints > 0) out.push(`${a.badCheckpoints} resumed checkpoint(s) this workload did not write`);
  return out;
}
