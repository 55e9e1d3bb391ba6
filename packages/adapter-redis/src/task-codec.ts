// Task hash ⇄ TaskRecord, decoded per record and per field: a field that does not decode never
// throws; it is reported as the record's corruption (the store then quarantines the task) and
// reads as null. Field names are short (see task-lib.lua); an absent or '' field reads as null,
// 0 or false. JSON fields are parsed with core's prototype-safe parser.
import { parseJson, transitions, type Corruption, type JsonValue, type NewTask, type TaskRecord, type TaskState } from '@baton/core/adapter';

/** ARGV encoding of a nullable string for the scripts' `opt()`: '' is null, '=' + value a value. */
export function opt(value: string | null | undefined): string {
  return value === null || value === undefined ? '' : `=${value}`;
}

/**
 * The packed field `x`: the fields set once at create that no script reads (task-lib.lua), as
 * `id \n priority \n maxRetries \n group \n budget \n traceContext \n input` ('' for null).
 */
export function packTask(t: NewTask): string {
  const budget = t.budget === null ? '' : JSON.stringify(t.budget);
  const trace = t.traceContext === null ? '' : JSON.stringify(t.traceContext);
  return `${t.id}\n${t.priority}\n${t.maxRetries}\n${t.group ?? ''}\n${budget}\n${trace}\n${JSON.stringify(t.input)}`;
}

/** The parts of `x` after the fixed ones, in order, as the JSON fields they hold. */
const PACKED_JSON = ['budget', 'traceContext', 'input'] as const;

export interface DecodedTask {
  task: TaskRecord;
  /** Creation order. */
  seq: number;
  /** Set when a field did not decode and the record is not quarantined yet. */
  corrupt: Corruption | null;
}

const STATES = new Set<string>(['pending', 'running', 'scheduled', 'completed', 'dead', 'cancelled']);

type Reply = readonly (string | number | null)[];

/** Decodes an HGETALL reply; null for an empty one (no such task). Never throws. */
export function decodeTask(flat: Reply): DecodedTask | null {
  if (flat.length === 0) return null;
  const task: TaskRecord = {
    id: '',
    type: '',
    queue: '',
    priority: 0,
    group: null,
    input: null,
    state: 'dead',
    idempotencyKey: '',
    runId: null,
    phaseId: null,
    attempt: 0,
    maxRetries: 0,
    recoveries: 0,
    budget: null,
    usage: { costUsd: 0, tokens: 0 },
    progress: null,
    leaseId: null,
    workerId: null,
    hasCheckpoint: false,
    result: null,
    error: null,
    durationMs: null,
    createdAt: 0,
    updatedAt: 0,
    startedAt: null,
    heartbeatAt: null,
    finishedAt: null,
    traceContext: null,
    corruption: null,
  };
  let seq = 0;
  let state = '';
  // JSON fields are decoded after the loop, once the stored corruption (if any) is known.
  let json: [name: JsonField, text: string][] | null = null;
  for (let i = 0; i < flat.length; i += 2) {
    const v = String(flat[i + 1]);
    const k = flat[i];
    if (v === '') continue;
    switch (k) {
      case 'st': state = v; break;
      case 'sq': seq = Number(v); break;
      case 'ty': task.type = v; break;
      case 'q': task.queue = v; break;
      case 'k': task.idempotencyKey = v; break;
      case 'ru': task.runId = v; break;
      case 'ph': task.phaseId = v; break;
      case 'a': task.attempt = Number(v); break;
      case 'rc': task.recoveries = Number(v); break;
      case 'uc': task.usage.costUsd = Number(v); break;
      case 'ut': task.usage.tokens = Number(v); break;
      case 'l': task.leaseId = v; break;
      case 'w': task.workerId = v; break;
      case 'cp': task.hasCheckpoint = v === '1'; break;
      case 'd': task.durationMs = Number(v); break;
      case 'ca': task.createdAt = Number(v); break;
      case 'ua': task.updatedAt = Number(v); break;
      case 'sa': task.startedAt = Number(v); break;
      case 'hb': task.heartbeatAt = Number(v); break;
      case 'fa': task.finishedAt = Number(v); break;
      case 'x': json = unpack(task, v, json); break;
      default: {
        const name = JSON_FIELDS.get(k);
        if (name !== undefined) (json ??= []).push([name, v]);
      }
    }
  }
  let corrupt: Corruption | null = null;
  if (json !== null) {
    const stored = json.find(([name]) => name === 'corruption');
    if (stored !== undefined) {
      const c = parse(stored[1]);
      if (c.ok && isObject(c.value) && typeof c.value['field'] === 'string') task.corruption = c.value as unknown as Corruption;
    }
    for (const [name, text] of json) {
      if (name === 'corruption') continue;
      const r = parse(text);
      const shaped = r.ok && (!OBJECT_FIELDS.has(name) || isObject(r.value));
      if (shaped) (task as unknown as Record<string, JsonValue>)[name] = r.value;
      else if (task.corruption === null && corrupt === null) {
        corrupt = { field: name, reason: r.ok ? `stored ${name} has the wrong shape` : r.reason, raw: text.slice(0, transitions.MAX_CORRUPT_RAW) };
      }
    }
  }
  if (STATES.has(state)) task.state = state as TaskState;
  else if (task.corruption === null && corrupt === null) corrupt = { field: 'state', reason: `unknown state ${JSON.stringify(state.slice(0, 40))}`, raw: state.slice(0, 200) };
  return { task, seq, corrupt };
}

/**
 * Reads `x` into the task; its JSON parts join `json` and are decoded with the other JSON fields,
 * each reported by its own name. Parts missing from a cut-short field read as null.
 */
function unpack(task: TaskRecord, v: string, json: [name: JsonField, text: string][] | null): [name: JsonField, text: string][] | null {
  let at = 0;
  const next = (): string | null => {
    if (at > v.length) return null;
    const nl = v.indexOf('\n', at);
    const part = nl < 0 ? v.slice(at) : v.slice(at, nl);
    at = nl < 0 ? v.length + 1 : nl + 1;
    return part;
  };
  task.id = next() ?? '';
  task.priority = Number(next() ?? 0);
  task.maxRetries = Number(next() ?? 0);
  task.group = next() || null;
  for (const name of PACKED_JSON) {
    // The input is the rest: whatever bytes a bad write left in it stay the input's.
    const text = name === 'input' ? (at > v.length ? null : v.slice(at)) : next();
    if (text) (json ??= []).push([name, text]);
  }
  return json;
}

type JsonField = 'input' | 'budget' | 'traceContext' | 'progress' | 'result' | 'error' | 'corruption';
const JSON_FIELDS: ReadonlyMap<unknown, JsonField> = new Map([
  ['p', 'progress'],
  ['r', 'result'],
  ['e', 'error'],
  ['cr', 'corruption'],
]);
const OBJECT_FIELDS = new Set<JsonField>(['budget', 'traceContext', 'error']);

function parse(text: string): { ok: true; value: JsonValue } | { ok: false; reason: string } {
  try {
    return { ok: true, value: parseJson<JsonValue>(text) };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message.slice(0, 500) : 'not JSON' };
  }
}

function isObject(v: JsonValue): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
