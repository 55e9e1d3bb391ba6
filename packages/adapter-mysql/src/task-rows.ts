// Task rows in and out. Lifecycle changes are core's `transitions.*` applied to the record read
// under FOR UPDATE, and `writeBack` stores exactly the fields the transition changed: this store
// cannot drift from the state machine, and the conformance `transitions` suite checks it field
// by field. Reads decode the JSON columns; a row that cannot be decoded is quarantined.
import {
  TASK_STATES,
  newId,
  parseJson,
  transitions,
  type Budget,
  type Corruption,
  type JsonObject,
  type NewEvent,
  type StoredError,
  type TaskRecord,
  type TaskState,
} from '@baton/core/adapter';
import { list, num, numOrNull, str, strOrNull, type Db, type Row, type Sql } from './mysql-db.js';
import { insertEvents } from './mysql-event-log.js';

/** Every column but the JSON ones: enough for the fenced writes, which never read payloads. */
export const LITE_COLUMNS =
  'seq, id, type, queue, priority, grp, state, idempotency_key, run_id, phase_id, attempt, max_retries, recoveries, cost_usd, tokens, ' +
  'lease_id, worker_id, has_checkpoint, duration_ms, created_at, updated_at, started_at, heartbeat_at, finished_at';
export const FULL_COLUMNS = `${LITE_COLUMNS}, input, budget, progress, result, error, trace_context, corruption`;

// Stand-ins for JSON columns a lite read did not load. Transitions only ever copy these fields
// (or replace them), so `writeBack` sees the same object and leaves the column alone.
const UNREAD_JSON: JsonObject = Object.freeze({});
const UNREAD_BUDGET: Budget = Object.freeze({});
const UNREAD_ERROR: StoredError = Object.freeze({ name: '', message: '', code: null, stack: null });
const UNREAD_TRACE: Record<string, string> = Object.freeze({});
const UNREAD_CORRUPTION: Corruption = Object.freeze({ field: '', reason: '', raw: '' });

/** A stored task with its creation order. */
export interface StoredTask extends TaskRecord {
  seq: number;
}

function base(r: Row): StoredTask {
  return {
    seq: num(r.seq),
    id: str(r.id),
    type: str(r.type),
    queue: str(r.queue),
    priority: num(r.priority),
    group: strOrNull(r.grp),
    input: UNREAD_JSON,
    state: String(r.state) as TaskState,
    idempotencyKey: str(r.idempotency_key),
    runId: strOrNull(r.run_id),
    phaseId: strOrNull(r.phase_id),
    attempt: num(r.attempt),
    maxRetries: num(r.max_retries),
    recoveries: num(r.recoveries),
    budget: UNREAD_BUDGET,
    usage: { costUsd: num(r.cost_usd), tokens: num(r.tokens) },
    progress: UNREAD_JSON,
    leaseId: strOrNull(r.lease_id),
    workerId: strOrNull(r.worker_id),
    hasCheckpoint: num(r.has_checkpoint) === 1,
    result: UNREAD_JSON,
    error: UNREAD_ERROR,
    durationMs: numOrNull(r.duration_ms),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    startedAt: numOrNull(r.started_at),
    heartbeatAt: numOrNull(r.heartbeat_at),
    finishedAt: numOrNull(r.finished_at),
    traceContext: UNREAD_TRACE,
    corruption: UNREAD_CORRUPTION,
  };
}

/** A row read with LITE_COLUMNS: JSON fields are stand-ins, to be passed through transitions only. */
export function liteTask(r: Row): StoredTask {
  return base(r);
}

const JSON_FIELDS = [
  ['input', 'input'],
  ['budget', 'budget'],
  ['error', 'error'],
  ['result', 'result'],
  ['progress', 'progress'],
  ['traceContext', 'trace_context'],
] as const;

/**
 * A row read with FULL_COLUMNS, decoded. `found` is set when a field cannot be decoded and the
 * row was not quarantined yet: the caller quarantines it (then the field reads as null).
 */
export function fullTask(r: Row): { task: StoredTask; found: Corruption | null } {
  const t = base(r);
  const stored = r.corruption === null || r.corruption === undefined ? null : decodeCorruption(String(r.corruption));
  t.corruption = stored;
  let found: Corruption | null = null;
  for (const [field, column] of JSON_FIELDS) {
    const raw = r[column];
    let value: unknown = null;
    if (raw !== null && raw !== undefined) {
      const text = String(raw);
      try {
        value = parseJson(text);
        if (!shapeOk(field, value)) throw new Error(`not a valid ${field}`);
      } catch (err) {
        value = null;
        if (stored === null && found === null) found = { field, reason: (err as Error).message || 'undecodable', raw: text.slice(0, transitions.MAX_CORRUPT_RAW) };
      }
    }
    (t as unknown as Record<string, unknown>)[field] = value;
  }
  if (found === null && stored === null && !TASK_STATES.includes(t.state)) {
    found = { field: 'state', reason: `unknown state ${JSON.stringify(t.state).slice(0, 40)}`, raw: String(t.state).slice(0, 200) };
  }
  return { task: t, found };
}

function shapeOk(field: string, v: unknown): boolean {
  if (field === 'input' || field === 'result' || field === 'progress') return true;
  if (v === null) return true;
  if (typeof v !== 'object' || Array.isArray(v)) return false;
  if (field === 'error') return typeof (v as StoredError).name === 'string' && typeof (v as StoredError).message === 'string';
  return true;
}

function decodeCorruption(text: string): Corruption {
  try {
    const c = parseJson<Corruption>(text);
    if (typeof c.field === 'string' && typeof c.reason === 'string' && typeof c.raw === 'string') return { field: c.field, reason: c.reason, raw: c.raw };
  } catch {
    // Falls through: the marker itself was damaged; the task stays quarantined.
  }
  return { field: 'corruption', reason: 'the stored corruption marker cannot be decoded', raw: text.slice(0, transitions.MAX_CORRUPT_RAW) };
}

/**
 * Quarantines a task found undecodable (`transitions.quarantine`), once: the UPDATE only applies
 * while no corruption is recorded, and only then is the one `task.corrupt` event appended.
 * Returns the record as it now stands and whether this call quarantined it.
 */
export async function quarantine(db: Db, sql: Sql, t: StoredTask, c: Corruption): Promise<{ task: StoredTask; now: boolean }> {
  const now = await sql.now();
  const next = transitions.quarantine(t, c, now);
  const applied = await sql.exec(
    `UPDATE ${db.t('tasks')} SET state = 'dead', lease_id = NULL, worker_id = NULL, heartbeat_at = NULL, updated_at = ?, finished_at = ?, error = ?, corruption = ?
     WHERE id = ? AND corruption IS NULL`,
    [now, now, JSON.stringify(next.error), JSON.stringify(c), t.id],
  );
  if (applied === 0) return { task: { ...t, corruption: c }, now: false };
  await insertEvents(db, sql, [transitions.corruptEvent(t, c, newId(), now)]);
  return { task: next, now: true };
}

/** Decodes full rows, quarantining (in its own transaction) any that cannot be decoded. Never throws on bad bytes. */
export async function decodeAll(db: Db, rows: Row[]): Promise<StoredTask[]> {
  const out: StoredTask[] = [];
  for (const r of rows) {
    const { task, found } = fullTask(r);
    if (found === null) out.push(task);
    else out.push((await db.run('tasks.quarantine', (sql) => quarantine(db, sql, task, found))).task);
  }
  return out;
}

/** A record as callers see it: without the store's `seq`. */
export function publicTask(t: StoredTask): TaskRecord {
  const { seq: _seq, ...rec } = t;
  return rec;
}

// Where each field of a record lives when a transition changes it. `fixed`: set at create,
// never changed by a lifecycle change. The compiler fails when TaskRecord gains a field.
type Column = readonly [column: string, read: (t: TaskRecord) => unknown, json: boolean];
const FIELDS = {
  id: 'fixed', type: 'fixed', queue: 'fixed', priority: 'fixed', group: 'fixed', input: 'fixed', idempotencyKey: 'fixed',
  runId: 'fixed', phaseId: 'fixed', maxRetries: 'fixed', budget: 'fixed', createdAt: 'fixed', traceContext: 'fixed',
  state: ['state', (t) => t.state, false],
  leaseId: ['lease_id', (t) => t.leaseId, false],
  workerId: ['worker_id', (t) => t.workerId, false],
  attempt: ['attempt', (t) => t.attempt, false],
  recoveries: ['recoveries', (t) => t.recoveries, false],
  usage: ['cost_usd', (t) => t.usage.costUsd, false],
  hasCheckpoint: ['has_checkpoint', (t) => (t.hasCheckpoint ? 1 : 0), false],
  durationMs: ['duration_ms', (t) => t.durationMs, false],
  updatedAt: ['updated_at', (t) => t.updatedAt, false],
  startedAt: ['started_at', (t) => t.startedAt, false],
  heartbeatAt: ['heartbeat_at', (t) => t.heartbeatAt, false],
  finishedAt: ['finished_at', (t) => t.finishedAt, false],
  result: ['result', (t) => t.result, true],
  error: ['error', (t) => t.error, true],
  progress: ['progress', (t) => t.progress, true],
  corruption: ['corruption', (t) => t.corruption, true],
} as const satisfies Record<keyof TaskRecord, 'fixed' | Column>;

const COLUMNS: Column[] = [...(Object.values(FIELDS).filter((f) => f !== 'fixed') as Column[]), ['tokens', (t) => t.usage.tokens, false]];

/**
 * Stores what each transition changed, in one UPDATE for the whole batch:
 * `SET col = CASE id WHEN ? THEN ? … ELSE col END` for every column some row changed.
 */
export async function writeBack(db: Db, sql: Sql, changes: readonly { prev: TaskRecord; next: TaskRecord }[]): Promise<void> {
  const sets: string[] = [];
  const values: unknown[] = [];
  const ids = new Set<string>();
  for (const [column, read, json] of COLUMNS) {
    const whens: string[] = [];
    for (const { prev, next } of changes) {
      const before = read(prev);
      const after = read(next);
      if (before === after) continue;
      whens.push('WHEN ? THEN ?');
      values.push(next.id, json && after !== null ? JSON.stringify(after) : after);
      ids.add(next.id);
    }
    if (whens.length > 0) sets.push(`${column} = CASE id ${whens.join(' ')} ELSE ${column} END`);
  }
  if (sets.length === 0) return;
  await sql.exec(`UPDATE ${db.t('tasks')} SET ${sets.join(', ')} WHERE id IN ${list(ids.size)}`, [...values, ...ids]);
}

/** Locks and reads tasks by id (lite or full columns), keyed by id. */
export async function lockTasks(db: Db, sql: Sql, ids: readonly string[], columns = LITE_COLUMNS): Promise<Row[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  return sql.rows(`SELECT ${columns} FROM ${db.t('tasks')} WHERE id IN ${list(unique.length)} ORDER BY id FOR UPDATE`, unique);
}

/** Events handed to a task write: stored under the task's runId and phaseId, whatever they say. */
export type TaskEvents = { task: Pick<TaskRecord, 'runId' | 'phaseId'>; events: readonly NewEvent[] | undefined }[];

export async function appendTaskEvents(db: Db, sql: Sql, batch: TaskEvents): Promise<void> {
  const rows: NewEvent[] = [];
  for (const { task, events } of batch) if (events) for (const e of events) rows.push({ ...e, runId: task.runId, phaseId: task.phaseId });
  if (rows.length > 0) await insertEvents(db, sql, rows);
}

/** One step of a batch: the record a transition made of `cur` (null: refused) and the events to append with it. */
export type Step<I> = (cur: StoredTask, item: I, now: number) => { next: StoredTask | null; events?: readonly NewEvent[] | undefined };

/**
 * The shape of every fenced or lifecycle batch: lock the rows (lite columns), apply `step` to
 * each item in order (a later item sees what an earlier one of the same task did), store the
 * changes in one UPDATE and append the applied items' events, all in the caller's transaction.
 * Returns, per item, the record after its change or null where the change did not apply.
 */
export async function applyBatch<I>(db: Db, sql: Sql, items: readonly I[], idOf: (item: I) => string, step: Step<I>): Promise<(StoredTask | null)[]> {
  if (items.length === 0) return [];
  const rows = await lockTasks(db, sql, items.map(idOf));
  if (rows.length === 0) return items.map(() => null);
  const current = new Map(rows.map((r) => [str(r.id), liteTask(r)]));
  const now = await sql.now();
  const changes = new Map<string, { prev: StoredTask; next: StoredTask }>();
  const events: TaskEvents = [];
  const out = items.map((item) => {
    const id = idOf(item);
    const cur = current.get(id);
    if (cur === undefined) return null;
    const { next, events: ev } = step(cur, item, now);
    if (next === null) return null;
    changes.set(id, { prev: changes.get(id)?.prev ?? cur, next });
    current.set(id, next);
    events.push({ task: next, events: ev });
    return next;
  });
  await writeBack(db, sql, [...changes.values()]);
  await appendTaskEvents(db, sql, events);
  return out;
}
