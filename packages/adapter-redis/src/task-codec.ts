// Task hash ⇄ TaskRecord. Fields are short (the hash is written on every state change); a field
// that is absent reads as null. JSON columns are parsed with core's prototype-safe parser.
import { parseJson, type Budget, type JsonValue, type NewTask, type StoredError, type TaskOutcome, type TaskRecord, type TaskState } from '@baton/core';
import type { RedisArg } from './redis-client.js';

/** ARGV encoding of a nullable string for the scripts' `opt()`: '' is null, '=' + value a value. */
export function opt(value: string | null | undefined): string {
  return value === null || value === undefined ? '' : `=${value}`;
}

/**
 * The immutable part of a task, written once at create as one field. The script prepends
 * `[createdAt,`, so this returns the array's tail: `type,key,runId,phaseId,maxRetries,budget,input]`.
 */
/** An outcome as the finish scripts read it: taskId, leaseId, state, result?, error?, durationMs?. */
export function pushOutcome(args: RedisArg[], o: TaskOutcome): void {
  args.push(
    o.taskId,
    o.leaseId,
    o.state,
    o.result === undefined ? '' : `=${JSON.stringify(o.result)}`,
    o.error === undefined ? '' : `=${JSON.stringify(o.error)}`,
    o.durationMs === undefined ? '' : `=${Math.round(o.durationMs)}`,
  );
}

export function packX(t: NewTask): string {
  return JSON.stringify([t.type, t.idempotencyKey, t.runId, t.phaseId, t.maxRetries, t.budget, t.input]).slice(1);
}

type X = [number, string, string, string | null, string | null, number, Budget | null, JsonValue];

function unpackX(t: TaskRecord, x: string): void {
  const [createdAt, type, key, runId, phaseId, maxRetries, budget, input] = parseJson<X>(x);
  t.createdAt = createdAt;
  t.type = type;
  t.idempotencyKey = key;
  t.runId = runId ?? null;
  t.phaseId = phaseId ?? null;
  t.maxRetries = maxRetries;
  t.budget = budget ?? null;
  t.input = input ?? null;
}

const nullable = (v: string | number | null | undefined): string | null => (v == null || v === '' ? null : String(v));

/** Decodes start-1.lua's reply for a started task: [now, x, a, rc, uc, ut, cp, e]. */
export function decodeStarted(v: readonly (string | number | null)[], taskId: string, leaseId: string, workerId: string): TaskRecord {
  const now = Number(v[0]);
  const e = nullable(v[7]);
  const t: TaskRecord = {
    id: taskId,
    type: '',
    input: null,
    state: 'running',
    idempotencyKey: '',
    runId: null,
    phaseId: null,
    attempt: Number(v[2] ?? 0),
    maxRetries: 0,
    recoveries: Number(v[3] ?? 0),
    budget: null,
    usage: { costUsd: Number(v[4] ?? 0), tokens: Number(v[5] ?? 0) },
    leaseId,
    workerId,
    hasCheckpoint: v[6] === '1',
    result: null,
    error: e === null ? null : parseJson<StoredError>(e),
    durationMs: null,
    createdAt: 0,
    updatedAt: now,
    startedAt: now,
    finishedAt: null,
  };
  unpackX(t, String(v[1]));
  return t;
}

/** Decodes HGETALL's flat [field, value, …] reply; null for an empty reply (no such task). */
export function decodeTask(flat: readonly string[]): TaskRecord | null {
  if (flat.length === 0) return null;
  const t: TaskRecord = {
    id: '',
    type: '',
    input: null,
    state: 'pending',
    idempotencyKey: '',
    runId: null,
    phaseId: null,
    attempt: 0,
    maxRetries: 0,
    recoveries: 0,
    budget: null,
    usage: { costUsd: 0, tokens: 0 },
    leaseId: null,
    workerId: null,
    hasCheckpoint: false,
    result: null,
    error: null,
    durationMs: null,
    createdAt: 0,
    updatedAt: 0,
    startedAt: null,
    finishedAt: null,
  };
  for (let i = 0; i < flat.length; i += 2) {
    const v = flat[i + 1]!;
    switch (flat[i]) {
      case 'id': t.id = v; break;
      case 'x': unpackX(t, v); break;
      case 'st': t.state = v as TaskState; break;
      case 'a': t.attempt = Number(v); break;
      case 'rc': t.recoveries = Number(v); break;
      case 'uc': t.usage.costUsd = Number(v); break;
      case 'ut': t.usage.tokens = Number(v); break;
      case 'l': t.leaseId = nullable(v); break;
      case 'w': t.workerId = nullable(v); break;
      case 'cp': t.hasCheckpoint = v === '1'; break;
      case 'r': t.result = parseJson<JsonValue>(v); break;
      case 'e': t.error = parseJson<StoredError>(v); break;
      case 'd': t.durationMs = Number(v); break;
      case 'ua': t.updatedAt = Number(v); break;
      case 'sa': t.startedAt = Number(v); break;
      case 'fa': t.finishedAt = Number(v); break;
      default: break;
    }
  }
  return t;
}
