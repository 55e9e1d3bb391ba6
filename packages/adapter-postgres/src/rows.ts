// Row shapes shared by the stores: the select lists (timestamps as epoch ms by the database
// clock, JSON columns as text) and their mapping to core records. JSON is parsed with core's
// parseJson so stored `__proto__` keys cannot reach a prototype.
import { parseJson, type JsonValue, type TaskRecord, type TaskState } from '@baton/core';
import type { PgRow } from './pg-types.js';

/** Epoch milliseconds of a timestamptz column (floored to the ms). */
export const ms = (column: string) => `floor(date_part('epoch', ${column}) * 1000)`;

export const taskColumns = (t: string) => `
  ${t}.id, ${t}.type, ${t}.input::text AS input, ${t}.state, ${t}.idempotency_key, ${t}.run_id, ${t}.phase_id,
  ${t}.attempt, ${t}.max_retries, ${t}.recoveries, ${t}.budget::text AS budget, ${t}.cost_usd, ${t}.tokens,
  ${t}.lease_id, ${t}.worker_id, ${t}.has_checkpoint, ${t}.result::text AS result, ${t}.error::text AS error,
  ${t}.duration_ms, ${ms(`${t}.created_at`)} AS created_at, ${ms(`${t}.updated_at`)} AS updated_at,
  ${ms(`${t}.started_at`)} AS started_at, ${ms(`${t}.finished_at`)} AS finished_at`;

export function json<T = JsonValue>(value: unknown): T | null {
  return typeof value === 'string' ? parseJson<T>(value) : null;
}

export function num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

export function toTask(r: PgRow): TaskRecord {
  return {
    id: r.id as string,
    type: r.type as string,
    input: json(r.input) ?? null,
    state: r.state as TaskState,
    idempotencyKey: r.idempotency_key as string,
    runId: (r.run_id as string | null) ?? null,
    phaseId: (r.phase_id as string | null) ?? null,
    attempt: r.attempt as number,
    maxRetries: r.max_retries as number,
    recoveries: r.recoveries as number,
    budget: json(r.budget),
    usage: { costUsd: r.cost_usd as number, tokens: r.tokens as number },
    leaseId: (r.lease_id as string | null) ?? null,
    workerId: (r.worker_id as string | null) ?? null,
    hasCheckpoint: r.has_checkpoint as boolean,
    result: json(r.result),
    error: json(r.error),
    durationMs: num(r.duration_ms),
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
    startedAt: num(r.started_at),
    finishedAt: num(r.finished_at),
  };
}
