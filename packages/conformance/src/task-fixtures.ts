// Tasks brought to a given point of their lifecycle through the ports alone, for the suites that
// check what one change does to a record. Every step checks its answer, so a store that fails
// while arranging a case says so instead of producing a misleading comparison later.
import { newId, type Backend, type NewTask, type StoredError } from '@baton/core/adapter';
import { boom, jsonBlob, newTask, startTask } from './harness.js';

/** A task and the lease a change is made under (a stale one when the case is about a lost lease). */
export interface Subject {
  id: string;
  leaseId: string;
}

/** Poison pill handed to recover; its odd text shows whether a store wrote it verbatim. */
export const poisonPill: StoredError = { name: 'PoisonPillError', message: 'reclaimed too often — 💊 "verbatim"', code: 'POISON_PILL', stack: null };

export const secondFailure: StoredError = { name: 'TypeError', message: 'second failure', code: 'E_SECOND', stack: 'TypeError: second failure\n    at run' };

function check(ok: boolean, step: string): void {
  if (!ok) throw new Error(`arranging the task failed: ${step}`);
}

/** A task whose every field differs from its default, so a store that resets one is caught. */
export function richTask(over: Partial<NewTask> = {}): NewTask {
  return newTask({
    queue: 'q-lifecycle',
    priority: 7,
    group: 'tenant-1',
    input: { doc: 'ü 🚀', list: [1, null, { deep: true }] },
    runId: 'run-1',
    phaseId: 'phase-1',
    maxRetries: 3,
    budget: { costUsd: 2, tokens: 1000, timeMs: 60_000 },
    ...over,
  });
}

/** Created and never run. */
export async function pendingTask(b: Backend, over: Partial<NewTask> = {}): Promise<Subject> {
  const t = richTask(over);
  const [r] = await b.tasks.create([t]);
  check(r?.duplicate === false, 'create');
  return { id: t.id, leaseId: '' };
}

/** Running its first run. */
export async function startedTask(b: Backend, over: Partial<NewTask> = {}): Promise<Subject> {
  const { id } = await pendingTask(b, over);
  return { id, leaseId: await startTask(b, id, `lease-${newId()}`, 'worker-1') };
}

/**
 * Running its third run after one failed run and one crash: attempt 1, recoveries 1, an error,
 * a durationMs, progress, usage and a checkpoint — each a value a change must keep or replace.
 */
export async function seasonedTask(b: Backend, over: Partial<NewTask> = {}): Promise<Subject> {
  const { id, leaseId: first } = await startedTask(b, over);
  check(await b.tasks.setProgress(id, first, { step: 1, of: 3 }), 'setProgress');
  check((await b.tasks.recordUsage(id, first, { costUsd: 0.5, tokens: 100 })) !== null, 'recordUsage');
  check(await b.checkpoints.save(id, first, jsonBlob('step-1', { done: [1] })), 'checkpoint save');
  check((await b.tasks.finish([{ taskId: id, leaseId: first, state: 'scheduled', error: boom, durationMs: 7 }]))[0] === true, 'finish scheduled');
  check((await b.tasks.transition([id], ['scheduled'], 'pending')).length === 1, 'transition scheduled → pending');
  const second = await startTask(b, id, `lease-${newId()}`, 'worker-2');
  check((await b.tasks.recover([{ taskId: id, leaseId: second, poisonPill }], 10))[0] === 'recovered', 'recover');
  return { id, leaseId: await startTask(b, id, `lease-${newId()}`, 'worker-3') };
}

/** A seasoned task handed back to pending by a recovery: the next start is a restart. */
export async function recoveredTask(b: Backend): Promise<Subject> {
  const { id, leaseId } = await seasonedTask(b);
  check((await b.tasks.recover([{ taskId: id, leaseId, poisonPill }], 10))[0] === 'recovered', 'recover');
  return { id, leaseId: '' };
}

/** A seasoned task whose run failed again and waits for its retry timer. */
export async function scheduledTask(b: Backend): Promise<Subject> {
  const { id, leaseId } = await seasonedTask(b);
  check((await b.tasks.finish([{ taskId: id, leaseId, state: 'scheduled', error: secondFailure, durationMs: 11 }]))[0] === true, 'finish scheduled');
  return { id, leaseId };
}

/** A seasoned task that finished in `state`. */
export async function finishedTask(b: Backend, state: 'completed' | 'dead' | 'cancelled'): Promise<Subject> {
  const { id, leaseId } = await seasonedTask(b);
  if (state === 'cancelled') check((await b.tasks.transition([id], ['running'], 'cancelled', { error: secondFailure })).length === 1, 'cancel');
  else {
    const outcome = state === 'completed' ? { result: { answer: 42 }, durationMs: 13 } : { error: secondFailure, durationMs: 13 };
    check((await b.tasks.finish([{ taskId: id, leaseId, state, ...outcome }]))[0] === true, `finish ${state}`);
  }
  return { id, leaseId };
}

/** A seasoned task reclaimed and restarted by another worker: `leaseId` is the stale holder's. */
export async function leaseLostTask(b: Backend): Promise<Subject> {
  const { id, leaseId } = await seasonedTask(b);
  check((await b.tasks.recover([{ taskId: id, leaseId, poisonPill }], 10))[0] === 'recovered', 'recover');
  await startTask(b, id, `lease-${newId()}`, 'worker-4');
  return { id, leaseId };
}
