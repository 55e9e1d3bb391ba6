// How a task record is stored under `t.<task>` in the tasks bucket: one JSON object whose
// user-supplied values (input, budget, result, error, progress) are nested JSON *texts*. That makes
// decoding per field: a value that cannot be decoded costs that task alone (it is quarantined with
// the field named and the raw text kept) while every other field still reads. Beside the record the
// store keeps the creation order, the checkpoint pointer and the outbox: the events written with
// this revision, published right after it (see nats-outbox.ts). The fields scans filter on ride as
// headers, so a scan never ships inputs or results.
import { transitions, type Corruption, type NewEvent, type StoredError, type TaskRecord, type TaskState, TASK_STATES } from '@baton/core/adapter';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { Meta } from './nats-bucket.js';
import { isNullableNumber, isNullableString, isNumber, isObject, isString } from './nats-codec.js';
import { decodeToken, encodeToken, nullableToken } from './nats-names.js';

/** Where a task's checkpoint lives: chunk keys `<task>.<sid>.<i>`, saved at the given revisions. */
export interface CheckpointPointer {
  sid: string;
  revs: number[];
  token: string;
  encoding: 'json' | 'gzip';
  sizeBytes: number;
  /** Stored body size. */
  bytes: number;
  at: number;
}

/** A task as this process holds it: the record, what the store keeps beside it, and its revision. */
export interface Held {
  rec: TaskRecord;
  ord: number;
  cp: CheckpointPointer | null;
  /** Events written with this revision; published right after the write, replayed by whoever finds them unconfirmed. */
  ob: NewEvent[];
  /** Backend ms the outbox was written. */
  oa: number;
  revision: number;
}

export function taskKey(id: string): string {
  return `t.${encodeToken(id)}`;
}

export function taskIdOfKey(key: string): string | null {
  return key.startsWith('t.') ? decodeToken(key.slice(2)) : null;
}

/** Header names of the fields scans filter on (values are header-safe: numbers, states, encoded tokens). */
export const H = {
  state: 'Baton-State',
  type: 'Baton-Type',
  queue: 'Baton-Queue',
  run: 'Baton-Run',
  phase: 'Baton-Phase',
  created: 'Baton-Created',
  ord: 'Baton-Ord',
  updated: 'Baton-Updated',
  finished: 'Baton-Finished',
  cpBytes: 'Baton-Cp-Bytes',
} as const;

export function metaOf(h: Held): Meta {
  const r = h.rec;
  return {
    [H.state]: r.state,
    [H.type]: encodeToken(r.type),
    [H.queue]: encodeToken(r.queue),
    [H.run]: nullableToken(r.runId),
    [H.phase]: nullableToken(r.phaseId),
    [H.created]: String(r.createdAt),
    [H.ord]: String(h.ord),
    [H.updated]: String(r.updatedAt),
    [H.finished]: r.finishedAt === null ? '' : String(r.finishedAt),
    [H.cpBytes]: h.cp ? String(h.cp.bytes) : '',
  };
}

/** Serialises a JSON value the store nests as text; null stays null (no text). */
function text(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** The stored JSON text of a held task. Input is always text ('null' for a null input) unless it was quarantined. */
export function encodeTask(h: Held): string {
  const r = h.rec;
  const inputCorrupt = r.corruption?.field === 'input';
  return JSON.stringify({
    v: 2,
    id: r.id,
    type: r.type,
    queue: r.queue,
    priority: r.priority,
    group: r.group,
    state: r.state,
    idempotencyKey: r.idempotencyKey,
    runId: r.runId,
    phaseId: r.phaseId,
    attempt: r.attempt,
    maxRetries: r.maxRetries,
    recoveries: r.recoveries,
    usage: r.usage,
    leaseId: r.leaseId,
    workerId: r.workerId,
    hasCheckpoint: r.hasCheckpoint,
    durationMs: r.durationMs,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    startedAt: r.startedAt,
    heartbeatAt: r.heartbeatAt,
    finishedAt: r.finishedAt,
    traceContext: r.traceContext,
    corruption: r.corruption,
    input: inputCorrupt ? null : JSON.stringify(r.input),
    budget: text(r.budget),
    result: text(r.result),
    error: text(r.error),
    progress: text(r.progress),
    ord: h.ord,
    cp: h.cp,
    ...(h.ob.length > 0 ? { ob: h.ob, oa: h.oa } : {}),
  });
}

export type DecodedTask = { ok: true; held: Held } | { ok: false; held: Held; corruption: Corruption };

/** A stored task as read: its key, text, revision, store time and headers. */
export interface StoredText {
  key: string;
  text: string;
  revision: number;
  time: number;
  headers?: MsgHdrs | undefined;
}

const isState = (v: unknown): v is TaskState => typeof v === 'string' && (TASK_STATES as readonly string[]).includes(v);
const isError = (v: unknown): v is StoredError => isObject(v) && isString(v['name']) && isString(v['message']) && isNullableString(v['code']) && isNullableString(v['stack']);
const isJson = (_v: unknown): _v is unknown => true;

/** The nested fields, in the order a corruption is reported. */
const NESTED: readonly { field: 'input' | 'budget' | 'error' | 'result' | 'progress'; check: (v: unknown) => boolean }[] = [
  { field: 'input', check: isJson },
  { field: 'budget', check: (v) => v === null || isObject(v) },
  { field: 'error', check: (v) => v === null || isError(v) },
  { field: 'result', check: isJson },
  { field: 'progress', check: isJson },
];

function capRaw(raw: string): string {
  return raw.length > transitions.MAX_CORRUPT_RAW ? raw.slice(0, transitions.MAX_CORRUPT_RAW) : raw;
}

/**
 * Decodes a stored task. Never throws: an undecodable nested field is nulled and reported as the
 * record's corruption; a record whose outer JSON cannot be read is rebuilt from its key and
 * headers (field 'record').
 */
export function decodeTask(entry: StoredText): DecodedTask {
  const body = entry.text;
  let o: Record<string, unknown> | null = null;
  let outerError = 'not a JSON object';
  try {
    const v: unknown = JSON.parse(body);
    if (isObject(v)) o = v;
  } catch (err) {
    outerError = `not JSON: ${(err as Error).message}`;
  }
  if (o === null || !hasOuterShape(o)) {
    const corruption: Corruption = { field: 'record', reason: o === null ? outerError : 'a task record of an unexpected shape', raw: capRaw(body) };
    return { ok: false, held: fromHeaders(entry), corruption };
  }
  let corruption: Corruption | null = null;
  const nested: Record<string, unknown> = {};
  for (const { field, check } of NESTED) {
    const t = o[field];
    if (t === null || t === undefined) {
      nested[field] = null;
      continue;
    }
    let value: unknown;
    let reason: string | null = null;
    if (typeof t !== 'string') reason = `stored ${field} is not JSON text`;
    else {
      try {
        value = JSON.parse(t);
        if (!check(value)) reason = `stored ${field} has an unexpected shape`;
      } catch (err) {
        reason = `stored ${field} is not JSON: ${(err as Error).message}`;
      }
    }
    if (reason === null) nested[field] = value;
    else {
      nested[field] = null;
      corruption ??= { field, reason, raw: capRaw(typeof t === 'string' ? t : JSON.stringify(t)) };
    }
  }
  const stored = o as unknown as StoredShape;
  const rec: TaskRecord = {
    id: stored.id,
    type: stored.type,
    queue: stored.queue,
    priority: stored.priority,
    group: stored.group,
    input: nested['input'] as TaskRecord['input'],
    state: stored.state,
    idempotencyKey: stored.idempotencyKey,
    runId: stored.runId,
    phaseId: stored.phaseId,
    attempt: stored.attempt,
    maxRetries: stored.maxRetries,
    recoveries: stored.recoveries,
    budget: nested['budget'] as TaskRecord['budget'],
    usage: { costUsd: stored.usage.costUsd, tokens: stored.usage.tokens },
    progress: nested['progress'] as TaskRecord['progress'],
    leaseId: stored.leaseId,
    workerId: stored.workerId,
    hasCheckpoint: stored.hasCheckpoint,
    result: nested['result'] as TaskRecord['result'],
    error: nested['error'] as TaskRecord['error'],
    durationMs: stored.durationMs,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
    startedAt: stored.startedAt,
    heartbeatAt: stored.heartbeatAt,
    finishedAt: stored.finishedAt,
    traceContext: stored.traceContext,
    corruption: stored.corruption,
  };
  const held: Held = { rec, ord: stored.ord, cp: stored.cp, ob: Array.isArray(stored.ob) ? stored.ob : [], oa: isNumber(stored.oa) ? stored.oa : 0, revision: entry.revision };
  return corruption === null ? { ok: true, held } : { ok: false, held, corruption };
}

interface StoredShape {
  id: string;
  type: string;
  queue: string;
  priority: number;
  group: string | null;
  state: TaskState;
  idempotencyKey: string;
  runId: string | null;
  phaseId: string | null;
  attempt: number;
  maxRetries: number;
  recoveries: number;
  usage: { costUsd: number; tokens: number };
  leaseId: string | null;
  workerId: string | null;
  hasCheckpoint: boolean;
  durationMs: number | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  heartbeatAt: number | null;
  finishedAt: number | null;
  traceContext: Record<string, string> | null;
  corruption: Corruption | null;
  ord: number;
  cp: CheckpointPointer | null;
  ob?: NewEvent[];
  oa?: number;
}

function hasOuterShape(o: Record<string, unknown>): boolean {
  const usage = o['usage'];
  return (
    isString(o['id']) &&
    isString(o['type']) &&
    isString(o['queue']) &&
    isNumber(o['priority']) &&
    isNullableString(o['group']) &&
    isState(o['state']) &&
    isString(o['idempotencyKey']) &&
    isNullableString(o['runId']) &&
    isNullableString(o['phaseId']) &&
    isNumber(o['attempt']) &&
    isNumber(o['maxRetries']) &&
    isNumber(o['recoveries']) &&
    isObject(usage) &&
    isNumber(usage['costUsd']) &&
    isNumber(usage['tokens']) &&
    isNullableString(o['leaseId']) &&
    isNullableString(o['workerId']) &&
    typeof o['hasCheckpoint'] === 'boolean' &&
    isNullableNumber(o['durationMs']) &&
    isNumber(o['createdAt']) &&
    isNumber(o['updatedAt']) &&
    isNullableNumber(o['startedAt']) &&
    isNullableNumber(o['heartbeatAt']) &&
    isNullableNumber(o['finishedAt']) &&
    (o['traceContext'] === null || isObject(o['traceContext'])) &&
    (o['corruption'] === null || isObject(o['corruption'])) &&
    isNumber(o['ord']) &&
    (o['cp'] === null || isObject(o['cp'])) &&
    (o['ob'] === undefined || Array.isArray(o['ob']))
  );
}

/** What can be told of a task whose stored record is unreadable: its key, and the headers its last write carried. */
function fromHeaders(entry: StoredText): Held {
  const h = (name: string) => entry.headers?.get(name) ?? '';
  const num = (name: string, fallback: number) => (/^\d+$/.test(h(name)) ? Number(h(name)) : fallback);
  const state = h(H.state);
  const created = num(H.created, entry.time);
  const run = h(H.run);
  const phase = h(H.phase);
  const rec: TaskRecord = {
    ...transitions.createRecord(
      {
        id: taskIdOfKey(entry.key) ?? entry.key,
        type: decodeToken(h(H.type)) ?? '',
        queue: decodeToken(h(H.queue)) ?? 'default',
        priority: 0,
        group: null,
        input: null,
        idempotencyKey: '',
        keyTtlMs: 0,
        runId: run === '' || run === '!' ? null : decodeToken(run),
        phaseId: phase === '' || phase === '!' ? null : decodeToken(phase),
        maxRetries: 0,
        budget: null,
        traceContext: null,
      },
      created,
    ),
    state: isState(state) ? state : 'pending',
    updatedAt: num(H.updated, created),
    corruption: null,
  };
  return { rec, ord: num(H.ord, 0), cp: null, ob: [], oa: 0, revision: entry.revision };
}
