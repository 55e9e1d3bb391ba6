// The PostgreSQL side of EventLog: an append-only table ordered by seq. Appends need no lock:
// each statement numbers its events within a block of its own (event-rows.ts), so seq is strictly
// increasing in append order and one call's events are contiguous. Reads decode row by row: a
// row that cannot be decoded comes back in its place as `record.quarantined`, never hiding the rest.
import {
  EVENT_TYPES,
  ValidationError,
  parseJson,
  type EventLog,
  type EventPurgeOptions,
  type EventQuery,
  type EventType,
  type JsonObject,
  type NewEvent,
  type StoredEvent,
  type WriteOptions,
} from '@baton/core/adapter';
import { ms, texts, type Db, type Statement } from './db.js';
import { EVENTS_PER_BLOCK, SEQ, fromMs } from './event-rows.js';
import type { PgRow } from './pg-types.js';
import { jsonText } from './task-rows.js';
import type { Vacuum } from './vacuum.js';

const APPEND = `
  INSERT INTO :SCHEMA:.events (seq, id, type, at, run_id, phase_id, task_id, worker_id, data)
  SELECT ${SEQ('e.ord - 1')}, e.id, e.type, ${fromMs('e.at')}, e.run_id, e.phase_id, e.task_id, e.worker_id, e.data
  FROM ROWS FROM (
    json_to_recordset($1::json) AS (id text, type text, at float8, run_id text, phase_id text, task_id text, worker_id text),
    unnest(string_to_array($2, chr(30)))
  ) WITH ORDINALITY AS e(id, type, at, run_id, phase_id, task_id, worker_id, data, ord)`;

const PURGE = `
  WITH cutoff AS (
    SELECT seq FROM :SCHEMA:.events ORDER BY seq DESC OFFSET $2 LIMIT 1
  ), oldest AS (
    -- Old and surplus events are a prefix of seq order: look only at the oldest rows.
    SELECT seq, at FROM :SCHEMA:.events ORDER BY seq LIMIT $3
  ), gone AS (
    DELETE FROM :SCHEMA:.events e USING oldest o
    WHERE e.seq = o.seq AND (o.at < now() - $1 * interval '1 millisecond' OR o.seq <= (SELECT seq FROM cutoff))
    RETURNING 1
  )
  SELECT count(*)::int AS n FROM gone`;

const KNOWN_TYPES = new Set<string>(EVENT_TYPES);
const MAX_RAW = 4096;

export class PostgresEventLog implements EventLog {
  private readonly append_: Statement;
  private readonly purge_: Statement;
  private readonly queries = new Map<string, Statement>();

  constructor(
    private readonly db: Db,
    private readonly vacuum: Vacuum,
  ) {
    this.append_ = db.statement(APPEND);
    this.purge_ = db.statement(PURGE);
  }

  append(events: NewEvent[], options?: WriteOptions): Promise<void> {
    return this.db.run('events.append', async () => {
      // A call longer than one seq block is appended block by block, still in order.
      for (let from = 0; from < events.length; from += EVENTS_PER_BLOCK) {
        const chunk = events.slice(from, from + EVENTS_PER_BLOCK);
        const meta = JSON.stringify(
          chunk.map((e) => ({ id: e.id, type: e.type, at: e.at, run_id: e.runId, phase_id: e.phaseId, task_id: e.taskId, worker_id: e.workerId })),
        );
        await this.db.query(this.append_, [meta, texts(chunk.map((e) => jsonText(e.data)))], options);
      }
    });
  }

  query(query: EventQuery): Promise<StoredEvent[]> {
    return this.db.run('events.query', async () => {
      if (query.limit <= 0) return [];
      const where: string[] = [];
      const values: unknown[] = [];
      const param = (v: unknown) => {
        values.push(v);
        return `$${values.length}`;
      };
      if (query.runId !== undefined) where.push(`run_id = ${param(query.runId)}`);
      if (query.phaseId !== undefined) where.push(`phase_id = ${param(query.phaseId)}`);
      if (query.taskId !== undefined) where.push(`task_id = ${param(query.taskId)}`);
      if (query.type !== undefined) where.push(typeFilter(query.type));
      if (query.since !== undefined) where.push(`at >= ${fromMs(`${param(query.since)}::float8`)}`);
      if (query.after !== undefined) where.push(`seq > ${param(query.after)}`);
      const text = `SELECT seq::float8 AS seq, id, type, ${ms('at')} AS at, run_id, phase_id, task_id, worker_id, data
        FROM :SCHEMA:.events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ${param(query.limit)}`;
      let stmt = this.queries.get(text);
      if (!stmt) {
        stmt = this.db.statement(text);
        this.queries.set(text, stmt);
      }
      return (await this.db.query(stmt, values)).map(toEvent);
    });
  }

  purge(options: EventPurgeOptions): Promise<number> {
    return this.db.run('events.purge', async () => {
      if (options.limit <= 0) return 0;
      const r = await this.db.query(this.purge_, [options.olderThanMs, options.keepLatest, options.limit]);
      this.vacuum.after(['events']);
      return Number(r[0]?.n ?? 0);
    });
  }
}

/**
 * Types go into the SQL as literals (each one of core's known types, so nothing the caller typed
 * reaches SQL unchecked), so the planner can prove a query for a rare type matches the partial
 * type index.
 */
function typeFilter(types: readonly EventType[]): string {
  if (types.length === 0) return 'false';
  for (const t of types) if (!KNOWN_TYPES.has(t)) throw new ValidationError(`events.query: ${JSON.stringify(t)} is not an event type (e.g. "task.completed").`);
  return `(${types.map((t) => `type = '${t}'`).join(' OR ')})`;
}

/** A stored row as an event; one that cannot be decoded as `record.quarantined` in its place. */
function toEvent(r: PgRow): StoredEvent {
  const base = {
    seq: r.seq as number,
    id: r.id as string,
    at: r.at as number,
    runId: (r.run_id as string | null) ?? null,
    phaseId: (r.phase_id as string | null) ?? null,
    taskId: (r.task_id as string | null) ?? null,
    workerId: (r.worker_id as string | null) ?? null,
  };
  const raw = String(r.data);
  let reason: string;
  try {
    const data = parseJson<JsonObject>(raw);
    if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
      if (KNOWN_TYPES.has(r.type as string)) return { ...base, type: r.type as EventType, data };
      reason = `unknown event type ${JSON.stringify(r.type)}`;
    } else {
      reason = 'data is not a JSON object';
    }
  } catch (err) {
    reason = `data is not JSON (${(err as Error).message})`;
  }
  return { ...base, type: 'record.quarantined', data: { kind: 'event', recordId: String(r.seq), reason, raw: raw.slice(0, MAX_RAW) } };
}
