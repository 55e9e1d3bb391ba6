// Rows of baton_tasks to TaskRecords, one record at a time. A column that cannot be decoded (bad
// JSON, a BLOB, a value of the wrong type) never throws: the record comes back with that field
// null and a `Corruption` naming it, and the task store quarantines the task. JSON goes through
// core's parseJson: every key round-trips and none reaches a prototype.
import { TASK_STATES, type Budget, type Corruption, type JsonValue, type StoredError, type TaskRecord, type TaskState } from '@baton/core/adapter';
import { corruption, describeType, isObject, parseColumn } from './sqlite-records.js';

/** A row as the driver returns it: nothing in it is trusted until decoded. */
export interface TaskRow {
  id: string;
  type: unknown;
  queue: unknown;
  priority: unknown;
  group_key: unknown;
  input: unknown;
  state: unknown;
  idempotency_key: unknown;
  run_id: unknown;
  phase_id: unknown;
  attempt: unknown;
  max_retries: unknown;
  recoveries: unknown;
  budget: unknown;
  usage_cost_usd: unknown;
  usage_tokens: unknown;
  progress: unknown;
  lease_id: unknown;
  worker_id: unknown;
  has_checkpoint: unknown;
  result: unknown;
  error: unknown;
  duration_ms: unknown;
  created_at: unknown;
  updated_at: unknown;
  started_at: unknown;
  heartbeat_at: unknown;
  finished_at: unknown;
  trace_context: unknown;
  corruption: unknown;
}

export const TASK_COLUMNS =
  'id, type, queue, priority, group_key, input, state, idempotency_key, run_id, phase_id, attempt, max_retries, recoveries, budget, ' +
  'usage_cost_usd, usage_tokens, progress, lease_id, worker_id, has_checkpoint, result, error, duration_ms, created_at, updated_at, ' +
  'started_at, heartbeat_at, finished_at, trace_context, corruption';

export interface DecodedTask {
  /** Every field that could be decoded; a field that could not is null (0 for a number). */
  record: TaskRecord;
  /** The first column that could not be decoded, or null when the whole row decoded. */
  broken: Corruption | null;
}

type Check = (v: JsonValue) => string | null;

const objectOr = (what: string): Check => (v) => (v === null || isObject(v) ? null : `${what} is ${Array.isArray(v) ? 'an array' : describeType(v)}, not an object`);
const storedError: Check = (v) =>
  v === null || (isObject(v) && typeof v['name'] === 'string' && typeof v['message'] === 'string') ? null : 'not a stored error { name, message, code, stack }';
const stringMap: Check = (v) => (v === null || (isObject(v) && Object.values(v).every((x) => typeof x === 'string')) ? null : 'not an object of strings');
const storedCorruption: Check = (v) =>
  isObject(v) && typeof v['field'] === 'string' && typeof v['reason'] === 'string' && typeof v['raw'] === 'string' ? null : 'not a stored corruption { field, reason, raw }';

/** Decodes one row. Only the JSON columns can hold undecodable text in practice; the others are type-checked too. */
export function decodeTask(row: TaskRow): DecodedTask {
  let broken: Corruption | null = null;
  const out = { value: null as JsonValue };
  const json = (field: string, value: unknown, nullable: boolean, check?: Check): JsonValue => {
    if (value === null && nullable) return null;
    let reason = parseColumn(value, out);
    if (reason === null && check !== undefined) reason = check(out.value);
    if (reason === null) return out.value;
    broken ??= corruption(field, reason, value);
    return null;
  };
  const text = (field: string, value: unknown, nullable: boolean): string | null => {
    if (typeof value === 'string' || (value === null && nullable)) return value;
    broken ??= corruption(field, `stored as ${describeType(value)}, not text`, value);
    return null;
  };
  const num = (field: string, value: unknown, nullable: boolean): number | null => {
    if (typeof value === 'number' || (value === null && nullable)) return value;
    broken ??= corruption(field, `stored as ${describeType(value)}, not a number`, value);
    return nullable ? null : 0;
  };
  let state = row.state as TaskState;
  if (!TASK_STATES.includes(state)) {
    // Only a writer that ignored the CHECK constraint gets here; the task is quarantined (dead).
    broken ??= corruption('state', `stored as ${typeof row.state === 'string' ? JSON.stringify(row.state.slice(0, 40)) : describeType(row.state)}, not a task state`, row.state);
    state = 'dead';
  }
  const record: TaskRecord = {
    id: row.id,
    type: text('type', row.type, false) ?? '',
    queue: text('queue', row.queue, false) ?? '',
    priority: num('priority', row.priority, false)!,
    group: text('group', row.group_key, true),
    input: json('input', row.input, false),
    state,
    idempotencyKey: text('idempotencyKey', row.idempotency_key, false) ?? '',
    runId: text('runId', row.run_id, true),
    phaseId: text('phaseId', row.phase_id, true),
    attempt: num('attempt', row.attempt, false)!,
    maxRetries: num('maxRetries', row.max_retries, false)!,
    recoveries: num('recoveries', row.recoveries, false)!,
    budget: json('budget', row.budget, true, objectOr('budget')) as Budget | null,
    usage: { costUsd: num('usage', row.usage_cost_usd, false)!, tokens: num('usage', row.usage_tokens, false)! },
    progress: json('progress', row.progress, true),
    leaseId: text('leaseId', row.lease_id, true),
    workerId: text('workerId', row.worker_id, true),
    hasCheckpoint: row.has_checkpoint === 1,
    result: json('result', row.result, true),
    error: json('error', row.error, true, storedError) as StoredError | null,
    durationMs: num('durationMs', row.duration_ms, true),
    createdAt: num('createdAt', row.created_at, false)!,
    updatedAt: num('updatedAt', row.updated_at, false)!,
    startedAt: num('startedAt', row.started_at, true),
    heartbeatAt: num('heartbeatAt', row.heartbeat_at, true),
    finishedAt: num('finishedAt', row.finished_at, true),
    traceContext: json('traceContext', row.trace_context, true, stringMap) as Record<string, string> | null,
    corruption: json('corruption', row.corruption, true, storedCorruption) as Corruption | null,
  };
  return { record, broken };
}

/** JSON text for a nullable column; `undefined` and `null` both store SQL NULL. */
export function jsonOrNull(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}
