// Task rows as the stores read them, and their decoding — per record: a row whose JSON text
// cannot be read as the field it holds yields the record with that field null plus the
// Corruption found, so the store can quarantine that one task while every other row flows.
// JSON is parsed with core's parseJson, so stored `__proto__` keys never reach a prototype.
import { parseJson, transitions, type Budget, type Corruption, type JsonValue, type StoredError, type TaskRecord, type TaskState } from '@baton/core/adapter';
import { ms } from './db.js';
import type { PgRow } from './pg-types.js';

/** The select list of a task row (`t` is the alias): JSON columns as stored text, times as epoch ms. */
export const taskColumns = (t: string): string => `
  ${t}.id, ${t}.type, ${t}.queue, ${t}.priority, ${t}.group_key, ${t}.input, ${t}.state, ${t}.idempotency_key,
  ${t}.run_id, ${t}.phase_id, ${t}.attempt, ${t}.max_retries, ${t}.recoveries, ${t}.budget, ${t}.cost_usd, ${t}.tokens,
  ${t}.progress, ${t}.lease_id, ${t}.worker_id, ${t}.has_checkpoint, ${t}.result, ${t}.error, ${t}.duration_ms,
  ${ms(`${t}.created_at`)} AS created_at, ${ms(`${t}.updated_at`)} AS updated_at, ${ms(`${t}.started_at`)} AS started_at,
  ${ms(`${t}.heartbeat_at`)} AS heartbeat_at, ${ms(`${t}.finished_at`)} AS finished_at, ${t}.trace_context, ${t}.corruption`;

export interface DecodedTask {
  task: TaskRecord;
  /** Set when a field of the row cannot be decoded (the store quarantines it unless it already is). */
  found: Corruption | null;
}

class Undecodable extends Error {}

type Check<T> = (value: JsonValue) => T;

const anyJson: Check<JsonValue> = (v) => v;

const budget: Check<Budget | null> = (v) => {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Undecodable('a budget must be an object or null');
  const out: Budget = {};
  for (const key of ['costUsd', 'tokens', 'timeMs'] as const) {
    const n = v[key];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new Undecodable(`budget.${key} must be a finite number`);
    out[key] = n;
  }
  return out;
};

const storedError: Check<StoredError | null> = (v) => {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Undecodable('an error must be an object or null');
  const { name, message, code, stack } = v;
  if (typeof name !== 'string' || typeof message !== 'string') throw new Undecodable('an error needs a string name and message');
  const opt = (x: JsonValue | undefined, field: string): string | null => {
    if (x === undefined || x === null) return null;
    if (typeof x !== 'string') throw new Undecodable(`error.${field} must be a string or null`);
    return x;
  };
  return { name, message, code: opt(code, 'code'), stack: opt(stack, 'stack') };
};

const trace: Check<Record<string, string> | null> = (v) => {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Undecodable('a trace context must be an object or null');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw new Undecodable(`traceContext.${k} must be a string`);
    Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
  }
  return out;
};

/** The first field of a row that failed to decode (module scope: no closure per row on the hot path). */
interface Found {
  corruption: Corruption | null;
}

function field<T>(found: Found, name: string, raw: unknown, check: Check<T>): T | null {
  if (raw === null || raw === undefined) return null;
  const text = String(raw);
  try {
    return check(parseJson<JsonValue>(text));
  } catch (err) {
    const reason = err instanceof Undecodable ? err.message : `not JSON (${(err as Error).message})`;
    found.corruption ??= { field: name, reason, raw: text.slice(0, transitions.MAX_CORRUPT_RAW) };
    return null;
  }
}

/** Decodes one row (the `taskColumns` shape). Never throws on bad stored text. */
export function decodeTask(r: PgRow): DecodedTask {
  const found: Found = { corruption: null };
  const input = field(found, 'input', r.input, anyJson);
  const decodedBudget = field(found, 'budget', r.budget, budget);
  const error = field(found, 'error', r.error, storedError);
  const result = field(found, 'result', r.result, anyJson);
  const progress = field(found, 'progress', r.progress, anyJson);
  const traceContext = field(found, 'traceContext', r.trace_context, trace);
  const stored = r.corruption === null || r.corruption === undefined ? null : readCorruption(String(r.corruption));
  const task: TaskRecord = {
    id: r.id as string,
    type: r.type as string,
    queue: r.queue as string,
    priority: r.priority as number,
    group: (r.group_key as string | null) ?? null,
    input,
    state: r.state as TaskState,
    idempotencyKey: r.idempotency_key as string,
    runId: (r.run_id as string | null) ?? null,
    phaseId: (r.phase_id as string | null) ?? null,
    attempt: r.attempt as number,
    maxRetries: r.max_retries as number,
    recoveries: r.recoveries as number,
    budget: decodedBudget,
    usage: { costUsd: r.cost_usd as number, tokens: r.tokens as number },
    progress,
    leaseId: (r.lease_id as string | null) ?? null,
    workerId: (r.worker_id as string | null) ?? null,
    hasCheckpoint: r.has_checkpoint as boolean,
    result,
    error,
    durationMs: num(r.duration_ms),
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
    startedAt: num(r.started_at),
    heartbeatAt: num(r.heartbeat_at),
    finishedAt: num(r.finished_at),
    traceContext,
    corruption: stored,
  };
  // A row quarantined earlier is reported as it was then, not found again.
  return { task, found: found.corruption };
}

function readCorruption(text: string): Corruption {
  try {
    const c = parseJson<{ field?: unknown; reason?: unknown; raw?: unknown }>(text);
    if (typeof c.field === 'string' && typeof c.reason === 'string' && typeof c.raw === 'string') return { field: c.field, reason: c.reason, raw: c.raw };
  } catch {
    // Falls through: the marker itself is unreadable, which still means the row is quarantined.
  }
  return { field: 'corruption', reason: 'the quarantine marker cannot be decoded', raw: text.slice(0, transitions.MAX_CORRUPT_RAW) };
}

function num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** JSON text of a value as stored in a text column (`null` for undefined). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}
