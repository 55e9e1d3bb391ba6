// Rows of baton_tasks to TaskRecords. JSON columns go through core's parseJson, which drops
// __proto__ / constructor keys, so stored data cannot reach a prototype.
import { parseJson, type Budget, type JsonValue, type StoredError, type TaskRecord, type TaskState } from '@baton/core';

export interface TaskRow {
  id: string;
  type: string;
  input: string;
  state: TaskState;
  idempotency_key: string;
  run_id: string | null;
  phase_id: string | null;
  attempt: number;
  max_retries: number;
  recoveries: number;
  budget: string | null;
  usage_cost_usd: number;
  usage_tokens: number;
  lease_id: string | null;
  worker_id: string | null;
  has_checkpoint: number;
  result: string | null;
  error: string | null;
  duration_ms: number | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export const TASK_COLUMNS =
  'id, type, input, state, idempotency_key, run_id, phase_id, attempt, max_retries, recoveries, budget, usage_cost_usd, usage_tokens, ' +
  'lease_id, worker_id, has_checkpoint, result, error, duration_ms, created_at, updated_at, started_at, finished_at';

export function toTaskRecord(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    type: row.type,
    input: parseJson<JsonValue>(row.input),
    state: row.state,
    idempotencyKey: row.idempotency_key,
    runId: row.run_id,
    phaseId: row.phase_id,
    attempt: row.attempt,
    maxRetries: row.max_retries,
    recoveries: row.recoveries,
    budget: row.budget === null ? null : parseJson<Budget>(row.budget),
    usage: { costUsd: row.usage_cost_usd, tokens: row.usage_tokens },
    leaseId: row.lease_id,
    workerId: row.worker_id,
    hasCheckpoint: row.has_checkpoint !== 0,
    result: row.result === null ? null : parseJson<JsonValue>(row.result),
    error: row.error === null ? null : parseJson<StoredError>(row.error),
    durationMs: row.duration_ms,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** JSON text for a nullable column; `undefined` and `null` both store SQL NULL. */
export function jsonOrNull(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}
