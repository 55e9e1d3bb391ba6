// The task lifecycle, defined once: each function takes a stored record and returns the next
// one, or null when the change does not apply (wrong state or lease). Memory and NATS call these
// directly; the SQL (SQLite, Postgres, MySQL) and Lua (Redis) stores are translations of them,
// and the conformance suite compares every field those stores write with what these return.
//
// Fields each change writes (`=` unchanged, `now` the backend's clock at the change):
//
// | change              | state     | leaseId, workerId | attempt        | recoveries       | error                 | result | progress | durationMs | startedAt | heartbeatAt | finishedAt |
// |---------------------|-----------|-------------------|----------------|------------------|-----------------------|--------|----------|------------|-----------|-------------|------------|
// | create              | pending   | null              | 0              | 0                | null                  | null   | null     | null       | null      | null        | null       |
// | start (pending)     | running   | the claim's       | =              | =                | =                     | =      | =        | =          | now       | now         | =          |
// | finish completed    | completed | null              | =              | =                | null                  | given  | =        | given or = | =         | null        | now        |
// | finish dead         | dead      | null              | =              | =                | given or =            | =      | =        | given or = | =         | null        | now        |
// | finish scheduled    | scheduled | null              | + 1            | =                | given or =            | =      | =        | given or = | =         | null        | =          |
// | finish pending      | pending   | null              | =              | =                | =                     | =      | =        | =          | =         | null        | =          |
// | recover             | pending   | null              | =              | + 1              | =                     | =      | =        | =          | =         | null        | =          |
// | recover (poison)    | dead      | null              | =              | + 1              | the poison pill       | =      | =        | =          | =         | null        | now        |
// | transition → to     | to        | null              | =              | =                | given or =            | =      | =        | =          | =         | null        | now if to is terminal, else = |
// | retry (terminal)    | pending   | null              | 0 if reset, =  | 0 if reset, =    | =                     | null   | null     | null       | =         | null        | null       |
// | quarantine          | dead      | null              | =              | =                | CORRUPT_RECORD        | =      | =        | =          | =         | null        | now        |
//
// Every change above sets `updatedAt = now`. Fenced writes that are not lifecycle changes leave
// `updatedAt` alone: recordUsage adds to `usage`, setProgress sets `progress`, heartbeat sets
// `heartbeatAt = now`, a checkpoint save sets `hasCheckpoint = true` and a checkpoint delete
// sets it false. `error` is the most recent failure: it survives retries and is cleared only by
// a completion, so `waitFor(id).error` is null exactly for completed tasks.
import { isTerminal, type NewTask, type StoredError, type TaskOutcome, type TaskRecord, type TaskState, type Usage, type Corruption } from './ports/task-store.js';
import type { NewEvent } from './ports/event-log.js';
import type { JsonValue } from './json.js';

export function createRecord(t: NewTask, now: number): TaskRecord {
  return {
    id: t.id,
    type: t.type,
    queue: t.queue,
    priority: t.priority,
    group: t.group,
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
    progress: null,
    leaseId: null,
    workerId: null,
    hasCheckpoint: false,
    result: null,
    error: null,
    durationMs: null,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    heartbeatAt: null,
    finishedAt: null,
    traceContext: t.traceContext,
    corruption: null,
  };
}

/** The lease fields cleared by every change that ends or hands back a run. */
function unleased<T extends TaskRecord>(rec: T, state: TaskState, now: number): T {
  return { ...rec, state, leaseId: null, workerId: null, heartbeatAt: null, updatedAt: now };
}

export function holdsLease(rec: TaskRecord, leaseId: string): boolean {
  return rec.state === 'running' && rec.leaseId === leaseId;
}

export function start<T extends TaskRecord>(rec: T, leaseId: string, workerId: string, now: number): T | null {
  if (rec.state !== 'pending') return null;
  const next = { ...rec };
  startInPlace(next, leaseId, workerId, now);
  return next;
}

/**
 * `start` written into `rec` itself, for a store whose records are objects it owns (memory): no
 * copy on every task's path. Returns false, with `rec` untouched, where `start` returns null.
 */
export function startInPlace(rec: TaskRecord, leaseId: string, workerId: string, now: number): boolean {
  if (rec.state !== 'pending') return false;
  rec.state = 'running';
  rec.leaseId = leaseId;
  rec.workerId = workerId;
  rec.startedAt = now;
  rec.heartbeatAt = now;
  rec.updatedAt = now;
  return true;
}

export function finish<T extends TaskRecord>(rec: T, o: TaskOutcome, now: number): T | null {
  if (!holdsLease(rec, o.leaseId)) return null;
  const next = { ...rec };
  finishInPlace(next, o, now);
  return next;
}

/** `finish` written into `rec` itself (see `startInPlace`). Returns false, with `rec` untouched, where `finish` returns null. */
export function finishInPlace(rec: TaskRecord, o: TaskOutcome, now: number): boolean {
  if (!holdsLease(rec, o.leaseId)) return false;
  const durationMs = o.durationMs ?? rec.durationMs;
  rec.state = o.state;
  rec.leaseId = null;
  rec.workerId = null;
  rec.heartbeatAt = null;
  rec.updatedAt = now;
  switch (o.state) {
    case 'completed':
      rec.result = o.result ?? null;
      rec.error = null;
      rec.durationMs = durationMs;
      rec.finishedAt = now;
      break;
    case 'dead':
      rec.error = o.error ?? rec.error;
      rec.durationMs = durationMs;
      rec.finishedAt = now;
      break;
    case 'scheduled':
      rec.attempt += 1;
      rec.error = o.error ?? rec.error;
      rec.durationMs = durationMs;
      break;
    case 'pending':
      break;
  }
  return true;
}

export function recover<T extends TaskRecord>(rec: T, leaseId: string, maxRecoveries: number, poisonPill: StoredError, now: number): T | null {
  if (!holdsLease(rec, leaseId)) return null;
  const recoveries = rec.recoveries + 1;
  if (recoveries > maxRecoveries) return { ...unleased(rec, 'dead', now), recoveries, error: poisonPill, finishedAt: now };
  return { ...unleased(rec, 'pending', now), recoveries };
}

export function transition<T extends TaskRecord>(rec: T, from: readonly TaskState[], to: TaskState, now: number, error?: StoredError): T | null {
  if (!from.includes(rec.state)) return null;
  return { ...unleased(rec, to, now), error: error ?? rec.error, finishedAt: isTerminal(to) ? now : rec.finishedAt };
}

export function retry<T extends TaskRecord>(rec: T, resetAttempts: boolean, now: number): T | null {
  if (!isTerminal(rec.state)) return null;
  return {
    ...unleased(rec, 'pending', now),
    attempt: resetAttempts ? 0 : rec.attempt,
    recoveries: resetAttempts ? 0 : rec.recoveries,
    result: null,
    progress: null,
    durationMs: null,
    finishedAt: null,
  };
}

export function quarantine<T extends TaskRecord>(rec: T, corruption: Corruption, now: number): T {
  return { ...unleased(rec, 'dead', now), error: corruptRecordError(rec.id, corruption), finishedAt: now, corruption };
}

export function addUsage<T extends TaskRecord>(rec: T, leaseId: string, delta: Usage): T | null {
  if (!holdsLease(rec, leaseId)) return null;
  return { ...rec, usage: { costUsd: rec.usage.costUsd + delta.costUsd, tokens: rec.usage.tokens + delta.tokens } };
}

export function setProgress<T extends TaskRecord>(rec: T, leaseId: string, progress: JsonValue): T | null {
  if (!holdsLease(rec, leaseId)) return null;
  return { ...rec, progress };
}

/** A checkpoint save of the run holding `leaseId` (the checkpoint itself lives in the CheckpointStore). */
export function checkpointSaved<T extends TaskRecord>(rec: T, leaseId: string): T | null {
  if (!holdsLease(rec, leaseId)) return null;
  return { ...rec, hasCheckpoint: true };
}

/** The task's checkpoint was deleted (completion, or an explicit delete). */
export function checkpointDeleted<T extends TaskRecord>(rec: T): T {
  return { ...rec, hasCheckpoint: false };
}

export function heartbeat<T extends TaskRecord>(rec: T, leaseId: string, now: number): T | null {
  if (!holdsLease(rec, leaseId)) return null;
  return { ...rec, heartbeatAt: now };
}

/** The error a task dies with when it was reclaimed more than `maxRecoveries` times. */
export function poisonPillError(taskId: string, recoveries: number, maxRecoveries: number): StoredError {
  return {
    name: 'PoisonPillError',
    message: `Task ${taskId} was reclaimed ${recoveries} times after its worker stopped heartbeating (maxRecoveries ${maxRecoveries}); it is dead as a poison pill. Inspect it (baton show ${taskId}) and retry it once fixed.`,
    code: 'POISON_PILL',
    stack: null,
  };
}

/** The error a quarantined task carries. */
export function corruptRecordError(taskId: string, corruption: Corruption): StoredError {
  return {
    name: 'CorruptRecordError',
    message: `Task ${taskId}: its stored ${corruption.field} cannot be decoded (${corruption.reason}); it was quarantined as dead with the raw bytes kept. Inspect it (baton show ${taskId}).`,
    code: 'CORRUPT_RECORD',
    stack: null,
  };
}

/** The `task.started` event a store appends for a task it started (`start` with `startedEvents`). */
export function startedEvent(rec: TaskRecord, id: string): NewEvent {
  return {
    id,
    type: 'task.started',
    at: rec.updatedAt,
    runId: rec.runId,
    phaseId: rec.phaseId,
    taskId: rec.id,
    workerId: rec.workerId,
    data: { attempt: rec.attempt, recoveries: rec.recoveries, queue: rec.queue },
  };
}

/** The `task.corrupt` event a store appends when it quarantines a task. */
export function corruptEvent(rec: TaskRecord, corruption: Corruption, id: string, now: number): NewEvent {
  return {
    id,
    type: 'task.corrupt',
    at: now,
    runId: rec.runId,
    phaseId: rec.phaseId,
    taskId: rec.id,
    workerId: null,
    data: { field: corruption.field, reason: corruption.reason },
  };
}

/** Caps the raw text kept with a corruption. */
export const MAX_CORRUPT_RAW = 64 * 1024;

/** The `record.quarantined` event a store appends when it sets aside a delivery, timer or event it cannot decode. */
export function quarantinedEvent(kind: 'delivery' | 'timer' | 'event' | 'checkpoint', recordId: string, reason: string, raw: string, id: string, now: number): NewEvent {
  return {
    id,
    type: 'record.quarantined',
    at: now,
    runId: null,
    phaseId: null,
    taskId: null,
    workerId: null,
    data: { kind, recordId, reason, raw: raw.slice(0, 4096) },
  };
}
