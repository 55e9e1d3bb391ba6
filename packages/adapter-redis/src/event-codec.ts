// Events as the scripts store them: one JSON text per event, events of one append joined by '\n'
// (JSON.stringify never emits a raw newline), their `at`s comma-separated beside them. Events
// handed to a task write go without runId and phaseId: the script takes those from the record.
import { parseJson, transitions, type EventType, type JsonObject, type NewEvent, type StoredEvent } from '@baton/core/adapter';

/**
 * [ats, lines] of events handed to a task write ('' and '' for none); each line starts with
 * `head` (the script's own, when the caller can write it: create-one).
 */
export function eventArgs(events: readonly NewEvent[] | undefined, head = ''): [string, string] {
  if (events === undefined || events.length === 0) return ['', ''];
  let ats = '';
  let lines = '';
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const text = head + JSON.stringify({ id: e.id, type: e.type, at: e.at, taskId: e.taskId, workerId: e.workerId, data: e.data }).slice(1);
    ats += i === 0 ? String(e.at) : `,${e.at}`;
    lines += i === 0 ? text : `\n${text}`;
  }
  return [ats, lines];
}

/** [ats, lines] of events appended on their own, each with its own runId and phaseId. */
export function appendArgs(events: readonly NewEvent[]): [string, string] {
  let ats = '';
  let lines = '';
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const text = JSON.stringify({ id: e.id, type: e.type, at: e.at, runId: e.runId, phaseId: e.phaseId, taskId: e.taskId, workerId: e.workerId, data: e.data });
    ats += i === 0 ? String(e.at) : `,${e.at}`;
    lines += i === 0 ? text : `\n${text}`;
  }
  return [ats, lines];
}

/**
 * One stored event, or in its place a `record.quarantined` carrying its raw text when it does
 * not decode (never a throw): one bad event never hides the rest.
 */
export function decodeEvent(line: string, seq: number, at: number): StoredEvent {
  if (line.startsWith('\u0001s\t')) return decodeStarted(line, seq, at);
  try {
    const e = parseJson<Record<string, unknown>>(line);
    if (typeof e === 'object' && e !== null && typeof e['id'] === 'string' && typeof e['type'] === 'string' && typeof e['at'] === 'number' && typeof e['data'] === 'object' && e['data'] !== null) {
      return {
        id: e['id'],
        type: e['type'] as EventType,
        at: e['at'],
        runId: typeof e['runId'] === 'string' ? e['runId'] : null,
        phaseId: typeof e['phaseId'] === 'string' ? e['phaseId'] : null,
        taskId: typeof e['taskId'] === 'string' ? e['taskId'] : null,
        workerId: typeof e['workerId'] === 'string' ? e['workerId'] : null,
        data: e['data'] as JsonObject,
        seq,
      };
    }
    return quarantined(line, seq, at, 'not an event object');
  } catch (err) {
    return quarantined(line, seq, at, err instanceof Error ? err.message.slice(0, 500) : 'not JSON');
  }
}

/**
 * A `task.started` the claim script wrote in compact form: \u0001s, then id, at, runId, phaseId,
 * taskId, workerId, attempt, recoveries, queue, tab-separated ('' for null).
 */
function decodeStarted(line: string, seq: number, at: number): StoredEvent {
  const f = line.split('\t');
  const n = (v: string | undefined) => (v === undefined || v === '' ? null : v);
  const time = Number(f[2]);
  const attempt = Number(f[7]);
  const recoveries = Number(f[8]);
  if (f.length !== 10 || !Number.isFinite(time) || !Number.isInteger(attempt) || !Number.isInteger(recoveries)) return quarantined(line, seq, at, 'malformed task.started line');
  return { id: f[1]!, type: 'task.started', at: time, runId: n(f[3]), phaseId: n(f[4]), taskId: n(f[5]), workerId: n(f[6]), data: { attempt, recoveries, queue: f[9]! }, seq };
}

function quarantined(line: string, seq: number, at: number, reason: string): StoredEvent {
  return { ...transitions.quarantinedEvent('event', String(seq), reason, line, `quarantined-${seq}`, Number.isFinite(at) ? at : 0), seq };
}
