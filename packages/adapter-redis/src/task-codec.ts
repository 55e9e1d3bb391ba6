// Task hash ⇄ TaskRecord. Fields are short (the hash is written on every state change); a field
// that is absent reads as null. JSON columns are parsed with core's prototype-safe parser.
import { parseJson, type Budget, type JsonValue, type StoredError, type TaskRecord, type TaskState } from '@baton/core';

/** ARGV encoding of a nullable string for the scripts' `opt()`: '' is null, '=' + value a value. */
export function opt(value: string | null | undefined): string {
  return value === null || value === undefined ? '' : `=${value}`;
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
      case 'ty': t.type = v; break;
      case 'in': t.input = parseJson<JsonValue>(v); break;
      case 'st': t.state = v as TaskState; break;
      case 'k': t.idempotencyKey = v; break;
      case 'ru': t.runId = v; break;
      case 'ph': t.phaseId = v; break;
      case 'a': t.attempt = Number(v); break;
      case 'mr': t.maxRetries = Number(v); break;
      case 'rc': t.recoveries = Number(v); break;
      case 'b': t.budget = parseJson<Budget>(v); break;
      case 'uc': t.usage.costUsd = Number(v); break;
      case 'ut': t.usage.tokens = Number(v); break;
      case 'l': t.leaseId = v; break;
      case 'w': t.workerId = v; break;
      case 'cp': t.hasCheckpoint = v === '1'; break;
      case 'r': t.result = parseJson<JsonValue>(v); break;
      case 'e': t.error = parseJson<StoredError>(v); break;
      case 'd': t.durationMs = Number(v); break;
      case 'ca': t.createdAt = Number(v); break;
      case 'ua': t.updatedAt = Number(v); break;
      case 'sa': t.startedAt = Number(v); break;
      case 'fa': t.finishedAt = Number(v); break;
      default: break;
    }
  }
  return t;
}
