// The task state machine as pure functions over a stored record: each returns the next record,
// or null when the change does not apply (wrong state or lease). The store writes the result
// with compare-and-set, so every transition is atomic per task.
import { isTerminal, type NewTask, type StoredError, type TaskOutcome, type TaskState, type Usage } from '@baton/core';
import type { StoredTask } from './nats-task-records.js';

export function newTaskRecord(t: NewTask, now: number, ord: number): StoredTask {
  return {
    id: t.id,
    type: t.type,
    input: t.input,
    state: 'pending',
    idempotencyKey: t.idempotencyKey,
    runId: t.runId,
    phaseId: t.phaseId,
    attempt: 0,
    maxRetries: t.maxRetries,
    recoveries: 0,
    budget: t.budget,
    usage: { costUsd: 0, tokens: 0 },
    leaseId: null,
    workerId: null,
    hasCheckpoint: false,
    result: null,
    error: null,
    durationMs: null,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    finishedAt: null,
    ord,
    cp: null,
  };
}

export function startTask(rec: StoredTask, leaseId: string, workerId: string, now: number): StoredTask | null {
  if (rec.state !== 'pending') return null;
  return { ...rec, state: 'running', leaseId, workerId, startedAt: now, updatedAt: now };
}

function holds(rec: StoredTask, leaseId: string): boolean {
  return rec.state === 'running' && rec.leaseId === leaseId;
}

export function finishTask(rec: StoredTask, o: TaskOutcome, now: number): StoredTask | null {
  if (!holds(rec, o.leaseId)) return null;
  const base = { ...rec, leaseId: null, updatedAt: now };
  const duration = o.durationMs ?? rec.durationMs;
  switch (o.state) {
    case 'completed':
      return { ...base, state: 'completed', result: o.result ?? null, error: null, durationMs: duration, finishedAt: now };
    case 'dead':
      return { ...base, state: 'dead', error: o.error ?? rec.error, durationMs: duration, finishedAt: now };
    case 'scheduled':
      return { ...base, state: 'scheduled', attempt: rec.attempt + 1, error: o.error ?? rec.error, durationMs: duration };
    case 'pending':
      return { ...base, state: 'pending' };
  }
}

export function recoverTask(rec: StoredTask, leaseId: string, maxRecoveries: number, now: number): StoredTask | null {
  if (!holds(rec, leaseId)) return null;
  const recoveries = rec.recoveries + 1;
  if (recoveries > maxRecoveries) {
    const error: StoredError = {
      name: 'PoisonPillError',
      message: `Task ${rec.id} was reclaimed ${recoveries} times after its worker stopped heartbeating (maxRecoveries ${maxRecoveries}); it is dead as a poison pill. Inspect it and re-run it by hand.`,
      code: 'POISON_PILL',
      stack: null,
    };
    return { ...rec, state: 'dead', recoveries, leaseId: null, error, finishedAt: now, updatedAt: now };
  }
  return { ...rec, state: 'pending', recoveries, leaseId: null, updatedAt: now };
}

export function moveTask(rec: StoredTask, from: TaskState[], to: TaskState, now: number, error?: StoredError): StoredTask | null {
  if (!from.includes(rec.state)) return null;
  return {
    ...rec,
    state: to,
    leaseId: null,
    updatedAt: now,
    finishedAt: isTerminal(to) ? now : rec.finishedAt,
    error: error ?? rec.error,
  };
}

export function addUsage(rec: StoredTask, leaseId: string, delta: Usage, now: number): StoredTask | null {
  if (!holds(rec, leaseId)) return null;
  const usage = { costUsd: rec.usage.costUsd + (delta.costUsd || 0), tokens: rec.usage.tokens + (delta.tokens || 0) };
  return { ...rec, usage, updatedAt: now };
}
