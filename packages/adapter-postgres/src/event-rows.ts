// Events in SQL: the fragment every write uses to append the events handed to it in the same
// statement (so an event exists iff its change applied), and the numbering that keeps seq
// strictly increasing in append order without a lock: each appending statement takes one
// number from `events_block` and numbers its rows block * 65536 + their position in the write
// (positions of events whose item did not apply are skipped: no sort, and no other call's event
// can fall between two of this call's).
import { ValidationError, type NewEvent } from '@baton/core/adapter';
import { texts } from './db.js';
import { jsonText } from './task-rows.js';

/** Most events one statement may append (the size of a seq block). */
export const EVENTS_PER_BLOCK = 65_536;

/** `seq` of the `row`-th (0-based) event a statement appends. */
export const SEQ = (row: string): string => `(SELECT nextval(':SCHEMA:.events_block')) * ${EVENTS_PER_BLOCK} + ${row}`;

/** Milliseconds since the epoch (a number) as a timestamptz, exactly. */
export const fromMs = (expr: string): string => `('epoch'::timestamptz + ${expr} * interval '1 millisecond')`;

/**
 * The two parameters of a write's events, aligned with its items by 1-based index `i`: scalar
 * columns as JSON (ids, types and times never hold `\u0000`), `data` as JSON texts (may).
 * List `n` belongs to item `items[n]` (default n); `kinds[n]` tags lists a write appends only for
 * one of its outcomes (recover: 'pending' or 'dead').
 */
export function eventParams(
  lists: readonly (readonly NewEvent[] | undefined)[] | undefined,
  kinds?: readonly string[],
  items?: readonly number[],
): [string, string] {
  const meta: unknown[] = [];
  const data: string[] = [];
  lists?.forEach((events, index) => {
    if (events === undefined) return;
    const i = (items?.[index] ?? index) + 1;
    const k = kinds?.[index] ?? null;
    for (const e of events) {
      meta.push({ i, id: e.id, type: e.type, at: e.at, task_id: e.taskId, worker_id: e.workerId, k });
      data.push(jsonText(e.data));
    }
  });
  if (meta.length > EVENTS_PER_BLOCK) throw new ValidationError(`A write may carry at most ${EVENTS_PER_BLOCK} events; got ${meta.length}. Split the batch.`);
  return [JSON.stringify(meta), texts(data)];
}

/**
 * CTEs `ev_in` and `ev_out`: append the events in parameters `$meta`/`$data` whose item `i` is
 * in CTE `applied` (columns `i`, `run_id`, `phase_id`, and `k` when `byKind`), stored under the
 * task's run and phase whatever the event says.
 */
export function handedEvents(applied: string, meta: string, data: string, byKind = false): string {
  return `ev_in AS (
    SELECT * FROM ROWS FROM (
      json_to_recordset(${meta}::json) AS (i bigint, id text, type text, at float8, task_id text, worker_id text, k text),
      unnest(string_to_array(${data}, chr(30)))
    ) WITH ORDINALITY AS e(i, id, type, at, task_id, worker_id, k, data, ord)
  ), ev_out AS (
    INSERT INTO :SCHEMA:.events (seq, id, type, at, run_id, phase_id, task_id, worker_id, data)
    SELECT ${SEQ('e.ord - 1')}, e.id, e.type, ${fromMs('e.at')},
      a.run_id, a.phase_id, e.task_id, e.worker_id, e.data
    FROM ev_in e JOIN ${applied} a ON a.i = e.i${byKind ? ' AND a.k = e.k' : ''}
  )`;
}
