// What users pass to queries is checked and shaped here, once, before any port sees it: limits
// become integers from 0 to 1000, ids are de-duplicated, states and event types must be known.
// Ports document their inputs as "already normalised" and never re-validate.
import { ValidationError } from './errors.js';
import { EVENT_TYPES, type EventQuery, type EventType } from './ports/event-log.js';
import { TASK_STATES, type TaskFilter, type TaskQuery, type TaskState } from './ports/task-store.js';
import { MAX_ID_LENGTH, validateQueueName, validateTaskType, validateText } from './names.js';
import { describe } from './option-helpers.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1_000;
const MAX_CURSOR_LENGTH = 512;

/** A page size: an integer from 0 to 1000 (fractions round down, larger values are capped). */
export function normaliseLimit(value: unknown, fallback = DEFAULT_LIMIT): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new ValidationError(`limit must be a number from 0 to ${MAX_LIMIT}; got ${describe(value)}.`);
  return Math.min(MAX_LIMIT, Math.max(0, Math.floor(value)));
}

function time(field: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const ms = v instanceof Date ? v.getTime() : v;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new ValidationError(`${field} must be epoch milliseconds or a Date; got ${describe(v)}.`);
  return ms;
}

function id(field: string, v: unknown): string | undefined {
  return v === undefined ? undefined : validateText(field, v, MAX_ID_LENGTH);
}

export interface TaskFilterInput {
  ids?: string[];
  /** One state or several. */
  state?: TaskState | TaskState[];
  type?: string;
  queue?: string;
  runId?: string;
  phaseId?: string;
  /** Created at or after (epoch ms or Date). */
  since?: number | Date;
  /** Created before (epoch ms or Date). */
  until?: number | Date;
}

export function normaliseTaskFilter(f: TaskFilterInput = {}): TaskFilter {
  if (f === null || typeof f !== 'object') throw new ValidationError('A task filter must be an object { state?, type?, queue?, runId?, phaseId?, since?, until?, ids? }.');
  const out: TaskFilter = {};
  if (f.ids !== undefined) {
    if (!Array.isArray(f.ids) || f.ids.length > MAX_LIMIT) throw new ValidationError(`ids must be an array of at most ${MAX_LIMIT} task ids.`);
    out.ids = [...new Set(f.ids.map((x) => validateText('Task id', x, MAX_ID_LENGTH)))];
  }
  if (f.state !== undefined) {
    const states = Array.isArray(f.state) ? f.state : [f.state];
    for (const s of states) if (!TASK_STATES.includes(s)) throw new ValidationError(`Unknown task state ${describe(s)}; one of ${TASK_STATES.join(', ')}.`);
    if (states.length === 0) throw new ValidationError('state must name at least one state.');
    out.states = [...new Set(states)];
  }
  if (f.type !== undefined) out.type = validateTaskType(f.type);
  if (f.queue !== undefined) out.queue = validateQueueName(f.queue);
  const runId = id('runId', f.runId);
  if (runId !== undefined) out.runId = runId;
  const phaseId = id('phaseId', f.phaseId);
  if (phaseId !== undefined) out.phaseId = phaseId;
  const since = time('since', f.since);
  if (since !== undefined) out.since = since;
  const until = time('until', f.until);
  if (until !== undefined) out.until = until;
  return out;
}

export function normaliseTaskQuery(f: TaskFilterInput = {}, page: { cursor?: string | null; limit?: number } = {}): TaskQuery {
  const q: TaskQuery = { ...normaliseTaskFilter(f), limit: normaliseLimit(page.limit) };
  if (page.cursor !== undefined && page.cursor !== null) {
    if (typeof page.cursor !== 'string' || page.cursor.length === 0 || page.cursor.length > MAX_CURSOR_LENGTH) {
      throw new ValidationError('cursor must be the string a previous page returned.');
    }
    q.cursor = page.cursor;
  }
  return q;
}

export interface EventQueryInput {
  runId?: string;
  phaseId?: string;
  taskId?: string;
  type?: EventType | EventType[];
  /** Events at or after (epoch ms or Date). */
  since?: number | Date;
  /** Events with seq > after (paging, tailing). */
  after?: number;
  /** Default 100, at most 1000. */
  limit?: number;
}

export function normaliseEventQuery(q: EventQueryInput = {}): EventQuery {
  if (q === null || typeof q !== 'object') throw new ValidationError('An event query must be an object { runId?, phaseId?, taskId?, type?, since?, after?, limit? }.');
  const out: EventQuery = { limit: normaliseLimit(q.limit) };
  const runId = id('runId', q.runId);
  if (runId !== undefined) out.runId = runId;
  const phaseId = id('phaseId', q.phaseId);
  if (phaseId !== undefined) out.phaseId = phaseId;
  const taskId = id('taskId', q.taskId);
  if (taskId !== undefined) out.taskId = taskId;
  if (q.type !== undefined) {
    const types = Array.isArray(q.type) ? q.type : [q.type];
    for (const t of types) if (!EVENT_TYPES.includes(t)) throw new ValidationError(`Unknown event type ${describe(t)}.`);
    if (types.length === 0) throw new ValidationError('type must name at least one event type.');
    out.type = [...new Set(types)];
  }
  const since = time('since', q.since);
  if (since !== undefined) out.since = since;
  if (q.after !== undefined) {
    if (typeof q.after !== 'number' || !Number.isSafeInteger(q.after) || q.after < 0) throw new ValidationError(`after must be an event seq (an integer ≥ 0); got ${describe(q.after)}.`);
    out.after = q.after;
  }
  return out;
}
