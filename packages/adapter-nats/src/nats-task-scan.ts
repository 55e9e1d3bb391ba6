// Lists, counts and retention read every task record's headers (state, type, queue, run, phase,
// times) in one header-only scan of the tasks bucket: bodies (inputs, results) never cross the
// wire, and are fetched only for the tasks a page returns. Pages follow creation order —
// (createdAt, per-process creation counter, id), a total order — and a cursor is the position of
// the last task of its page, so it stays valid when that task is deleted and no task that keeps
// matching is seen twice or skipped while others are created or deleted.
import { ValidationError, type TaskFilter, type TaskState, TASK_STATES } from '@baton/core/adapter';
import { decodeToken, encodeToken, NULL_TOKEN, nullableToken } from './nats-names.js';
import type { NatsContext } from './nats-runtime.js';
import { H, taskIdOfKey } from './nats-task-codec.js';

export interface TaskMeta {
  id: string;
  revision: number;
  state: TaskState;
  /** Header tokens (encoded; '!' for none). Copied out: a kept header object would keep its message's buffer alive. */
  type: string;
  queue: string;
  run: string;
  phase: string;
  created: number;
  ord: number;
  updated: number;
  finished: number;
}

export interface Position {
  created: number;
  ord: number;
  id: string;
}

const STATES = new Set<string>(TASK_STATES);

/** Every task's headers. Entries without readable headers (written behind the store's back) are kept with what can be read, so a read quarantines them. */
export async function scanTasks(c: NatsContext): Promise<TaskMeta[]> {
  // A key rewritten mid-scan can be delivered twice (its older value, then its newer one): the
  // highest revision of each task wins.
  const byId = new Map<string, TaskMeta>();
  await c.buckets.tasks.scanMeta('t.>', (e) => {
    const id = taskIdOfKey(e.key);
    if (id === null) return;
    const num = (name: string) => {
      const v = e.meta(name);
      return /^\d+$/.test(v) ? Number(v) : 0;
    };
    const state = e.meta(H.state);
    const known = byId.get(id);
    if (known !== undefined && known.revision > e.revision) return;
    byId.set(id, {
      id,
      revision: e.revision,
      state: (STATES.has(state) ? state : 'pending') as TaskState,
      type: e.meta(H.type),
      queue: e.meta(H.queue),
      run: e.meta(H.run),
      phase: e.meta(H.phase),
      created: num(H.created),
      ord: num(H.ord),
      updated: num(H.updated),
      finished: num(H.finished),
    });
  });
  return [...byId.values()];
}

export function byCreation(a: Position, b: Position): number {
  return a.created - b.created || a.ord - b.ord || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Whether the headers can match the filter (the body is checked again once read). */
export function metaMatches(m: TaskMeta, f: TaskFilter, now: number): boolean {
  return (
    (f.states === undefined || f.states.includes(m.state)) &&
    (f.type === undefined || m.type === encodeToken(f.type)) &&
    (f.queue === undefined || m.queue === encodeToken(f.queue)) &&
    (f.runId === undefined || m.run === nullableToken(f.runId)) &&
    (f.phaseId === undefined || m.phase === nullableToken(f.phaseId)) &&
    (f.since === undefined || m.created >= f.since) &&
    (f.until === undefined || m.created < f.until) &&
    (f.idleForMs === undefined || m.updated <= now - f.idleForMs)
  );
}

/** Decodes a header token for counts (null for '!'). */
export function headerValue(token: string): string | null {
  return token === NULL_TOKEN ? null : (decodeToken(token) ?? token);
}

const CURSOR = /^c([0-9a-z]{1,11})\.([0-9a-z]{1,11})\.([A-Za-z0-9_=-]{1,600})$/;

export const pageCursor = {
  encode(p: Position): string {
    return `c${p.created.toString(36)}.${p.ord.toString(36)}.${encodeToken(p.id)}`;
  },
  /** The position to resume after; a cursor this store did not make is refused with a ValidationError. */
  decode(cursor: string): Position {
    const m = CURSOR.exec(cursor);
    const id = m ? decodeToken(m[3]!) : null;
    if (!m || id === null) {
      throw new ValidationError(`Invalid task page cursor ${JSON.stringify(cursor.slice(0, 40))}: pass back a cursor a previous page returned.`);
    }
    return { created: parseInt(m[1]!, 36), ord: parseInt(m[2]!, 36), id };
  },
};
